# esp_bench (build/bin): per-packet ESP throughput against raw OpenSSL EVP. Prints figures and
# ratios, never pass/fail; not installed.
add_executable(esp_bench ${CMAKE_CURRENT_SOURCE_DIR}/esp_bench.cc)
target_link_libraries(esp_bench PRIVATE crossgate_esp OpenSSL::Crypto)
crossgate_target_defaults(esp_bench)
