#include "crossgate/mgmt/daemon/control_request.h"

#include <fmt/format.h>

namespace crossgate::mgmtd {

namespace {

nlohmann::json errorReply(std::string message) { return {{"error", std::move(message)}}; }

}  // namespace

std::string handleRequestLine(std::string_view line, const RequestHandler& handler) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  if (line.size() > kMaxRequestLine) {
    return errorReply(fmt::format("request longer than {} bytes", kMaxRequestLine)).dump();
  }
  nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    return errorReply("request is not valid JSON").dump();
  }
  if (!request.is_object()) {
    return errorReply("request must be a JSON object").dump();
  }
  auto cmd = request.find("cmd");
  if (cmd == request.end() || !cmd->is_string()) {
    return errorReply("request needs a string \"cmd\"").dump();
  }
  nlohmann::json response = handler(cmd->get<std::string>(), request);
  return response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace crossgate::mgmtd
