# ESP processing core: crypto, SA table, anti-replay window, inner packet checks.
crossgate_add_library(crossgate_esp
  SOURCES
    src/esp_cipher.cc
    src/esp_crypto.cc
    src/esp_decrypt.cc
    src/esp_drop_reasons.cc
    src/esp_encrypt.cc
    src/esp_hmac.cc
    src/esp_inner.cc
    src/replay_window.cc
    src/sa_table.cc
  DEPS fmt::fmt
  PUBLIC_DEPS OpenSSL::Crypto crossgate_common)
# In libFuzzer builds, instrument the library too so the fuzzer sees coverage inside it.
if(CROSSGATE_FUZZ)
  target_compile_options(crossgate_esp PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  target_link_options(crossgate_esp INTERFACE -fsanitize=address,undefined)
endif()
