# Unit tests of the crossgate-dataplane daemon (protocol, server, I/O helpers). Hermetic: no
# root, sockets in temporary directories.
if(TARGET crossgate_dataplane)
  foreach(t dp_proto dp_server io_offload io_udp)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${t}_test.cc)
      crossgate_add_unit_test(cgt-dp-${t}_test SOURCES ${t}_test.cc DEPS crossgate_dataplane
                              LABELS dataplane)
    endif()
  endforeach()
endif()
