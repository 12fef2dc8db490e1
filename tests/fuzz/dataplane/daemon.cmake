# Fuzz target on the plugin protocol parser of crossgate-dataplane.
if(TARGET crossgate_dataplane)
  crossgate_add_fuzz_target(dp_proto_request
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dp_proto_request.cc
    CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/dp_proto_request_corpus
    DEPS crossgate_dataplane)
endif()
