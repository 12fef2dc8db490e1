# Unit tests of the ESP processing core (crossgate_esp).
crossgate_add_unit_test(esp_test
  SOURCES
    esp_cipher_test.cc
    esp_mtu_test.cc
    esp_packet_test.cc
    esp_replay_test.cc
    esp_sa_table_test.cc
    esp_vectors_test.cc
  DEPS crossgate_esp)
# The tests reach a few packet-path internals (cipher layer, replay positioning).
target_include_directories(esp_test PRIVATE ${CMAKE_SOURCE_DIR}/dataplane/src)
