# crossgate-dataplane: the plugin protocol server, UDP/TUN I/O, workers and stats, on top of the
# ESP core (crossgate_esp, esp.cmake). Built only once the ESP core target exists.
if(TARGET crossgate_esp)
  set(_cg_dp_sources
    src/dp_codec.cc
    src/dp_state.cc
    src/dp_server.cc)
  foreach(src udp_io tun_io tun_offload io_counters workers stats daemon_options)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/src/${src}.cc)
      list(APPEND _cg_dp_sources src/${src}.cc)
    endif()
  endforeach()
  crossgate_add_library(crossgate_dataplane
    SOURCES ${_cg_dp_sources}
    PUBLIC_DEPS crossgate_esp crossgate_common nlohmann_json::nlohmann_json PkgConfig::LIBMNL)
  # The daemon's internal headers are what its tests and fuzz targets exercise.
  target_include_directories(crossgate_dataplane PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
  option(CROSSGATE_DATAPLANE_CONFIG "crossgate-dataplane reads tunnels from the config file" ON)
  if(TARGET crossgate_config AND CROSSGATE_DATAPLANE_CONFIG)
    target_link_libraries(crossgate_dataplane PUBLIC crossgate_config)
    target_compile_definitions(crossgate_dataplane PUBLIC CROSSGATE_DP_HAVE_CONFIG=1)
  endif()
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/src/dataplane_main.cc)
    crossgate_add_executable(crossgate-dataplane
      SOURCES src/dataplane_main.cc
      DEPS crossgate_dataplane CLI11::CLI11)
  endif()
endif()
