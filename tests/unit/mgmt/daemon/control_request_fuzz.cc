// Fuzz target: one control-socket request line (untrusted: anyone in the socket's group).
// handleRequestLine must answer every input with one JSON object and never throw.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crossgate/mgmt/daemon/control_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using crossgate::mgmtd::handleRequestLine;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const std::string reply = handleRequestLine(
      line, [](const std::string& cmd, const nlohmann::json& request) -> nlohmann::json {
        return {{"cmd", cmd}, {"keys", request.size()}};
      });
  const nlohmann::json parsed = nlohmann::json::parse(reply, nullptr, false);
  if (!parsed.is_object() || reply.find('\n') != std::string::npos) {
    std::abort();
  }
  return 0;
}
