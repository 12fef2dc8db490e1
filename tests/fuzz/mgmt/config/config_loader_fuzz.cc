// Fuzz target: the TOML config loader on arbitrary bytes (no PSK file checks, no includes, so
// the input is the only thing read).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crossgate/mgmt/config_json.h"
#include "crossgate/mgmt/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crossgate::config::LoadOptions options;
  options.check_secret_files = false;
  options.follow_includes = false;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = crossgate::config::loadString(text, "/fuzz/crossgate.toml", options);
  if (result.ok()) {
    (void)crossgate::config::toJson(*result.config).dump();
  } else {
    for (const auto& diagnostic : result.errors) {
      (void)diagnostic.toString();
    }
  }
  return 0;
}
