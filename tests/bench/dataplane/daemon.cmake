# The dataplane benchmark is the root-only script tests/bench/dataplane/run (not a ctest test).
# This target builds everything it needs: `cmake --build BUILD --target bench_dataplane_deps`.
if(TARGET crossgate-dataplane)
  add_custom_target(bench_dataplane_deps)
  foreach(dep crossgate-dataplane esp_bench strongswan_crossgate dp_sactl)
    if(TARGET ${dep})
      add_dependencies(bench_dataplane_deps ${dep})
    endif()
  endforeach()
endif()
