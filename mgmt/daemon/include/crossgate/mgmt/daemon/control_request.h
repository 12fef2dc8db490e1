// Control-socket requests: one JSON object per line, {"cmd": "<name>", ...}. Untrusted input
// (anyone in the socket's group): a line is at most kMaxRequestLine bytes and must be a JSON
// object with a string "cmd"; anything else is answered with {"error": "..."}.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace crossgate::mgmtd {

inline constexpr size_t kMaxRequestLine = 64 * 1024;

// Returns the response object for a parsed request ({"cmd": "..."} guaranteed).
using RequestHandler =
    std::function<nlohmann::json(const std::string& cmd, const nlohmann::json& request)>;

// Parses one request line and produces the response line (without the newline). Never throws.
std::string handleRequestLine(std::string_view line, const RequestHandler& handler);

}  // namespace crossgate::mgmtd
