# Fuzz target on ESP decapsulation (crossgate_esp) against real installed SAs.
crossgate_add_fuzz_target(esp_decap
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/esp_decap.cc
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/esp_decap_corpus
  DEPS crossgate_esp)
foreach(t esp_decap_replay esp_decap)
  if(TARGET ${t})
    target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/dataplane/src)
  endif()
endforeach()
