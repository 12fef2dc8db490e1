# Shared build helpers: warning flags, sanitizers, tests and fuzz targets.
include_guard(GLOBAL)

set(CROSSGATE_WARNINGS -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wformat=2 -Wno-unused-parameter)
set(CROSSGATE_C_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare)

# crossgate_target_defaults(<target>): warnings, -Werror and sanitizers for our own code.
function(crossgate_target_defaults target)
  get_target_property(kind ${target} TYPE)
  if(kind STREQUAL "INTERFACE_LIBRARY")
    return()
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${CROSSGATE_WARNINGS}>
    $<$<COMPILE_LANGUAGE:C>:${CROSSGATE_C_WARNINGS}>)
  if(CROSSGATE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(CROSSGATE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# crossgate_add_library(<name> [STATIC|SHARED] SOURCES ... [DEPS ...] [PUBLIC_DEPS ...])
# One library per component; public headers live in <component>/include.
function(crossgate_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                     PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
  crossgate_target_defaults(${name})
endfunction()

# crossgate_add_executable(<name> SOURCES ... [DEPS ...]): thin main()s, output in build/bin.
function(crossgate_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  crossgate_target_defaults(${name})
  install(TARGETS ${name} RUNTIME DESTINATION bin)
endfunction()

# crossgate_add_unit_test(<name> SOURCES ... [DEPS ...] [LABELS ...])
# A GoogleTest binary registered as one CTest test (label "unit" plus LABELS).
function(crossgate_add_unit_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  crossgate_target_defaults(${name})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "unit;${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "CROSSGATE_SOURCE_DIR=${CMAKE_SOURCE_DIR};CROSSGATE_BINARY_DIR=${CMAKE_BINARY_DIR}")
endfunction()

# crossgate_add_fuzz_target(<name> SOURCES ... CORPUS <dir> [DEPS ...])
# Always builds <name>_replay (a plain binary that feeds every corpus file to the target) and
# registers it as the test fuzz_<name>. With CROSSGATE_FUZZ=ON (clang) also builds the real
# libFuzzer binary <name> in build/bin/fuzz.
function(crossgate_add_fuzz_target name)
  cmake_parse_arguments(ARG "" "CORPUS" "SOURCES;DEPS" ${ARGN})
  add_executable(${name}_replay ${ARG_SOURCES} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.cc)
  target_link_libraries(${name}_replay PRIVATE ${ARG_DEPS})
  crossgate_target_defaults(${name}_replay)
  set_target_properties(${name}_replay PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME fuzz_${name} COMMAND ${name}_replay ${ARG_CORPUS})
  set_tests_properties(fuzz_${name} PROPERTIES LABELS "fuzz" TIMEOUT 300)
  if(CROSSGATE_FUZZ)
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE ${ARG_DEPS})
    crossgate_target_defaults(${name})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin/fuzz)
  endif()
endfunction()

# crossgate_add_root_test(<name> COMMAND ... [TIMEOUT s] [LOCK name])
# An integration test that needs root and network namespaces (label "needs-root"); root tests
# never run concurrently with each other.
# Scripts exit 77 to report "skipped"; scripts/test fails the run on a skip when CI=true.
function(crossgate_add_root_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT;LOCK" "COMMAND;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  add_test(NAME ${name} COMMAND ${ARG_COMMAND})
  set_tests_properties(${name} PROPERTIES LABELS "integration;needs-root;${ARG_LABELS}"
    TIMEOUT ${ARG_TIMEOUT} SKIP_RETURN_CODE 77
    ENVIRONMENT "CROSSGATE_SOURCE_DIR=${CMAKE_SOURCE_DIR};CROSSGATE_BINARY_DIR=${CMAKE_BINARY_DIR};CROSSGATE_BIN=${CMAKE_BINARY_DIR}/bin")
  # Root scenarios share the kernel (namespaces, charon, CPU-bound timings): run them one at a
  # time, while unit tests keep running alongside.
  set_tests_properties(${name} PROPERTIES RESOURCE_LOCK "needs-root;${ARG_LOCK}")
endfunction()
