// A client for crossgated's control socket: one JSON request line, one JSON response line.
#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "crossgate/common/result.h"

namespace crossgate::mgmt {

inline constexpr const char* kDefaultControlSocket = "/run/crossgate/control.sock";

// Sends `request` and returns the parsed response. Errors name the socket: not running
// (ENOENT / ECONNREFUSED), permission denied, timeout, malformed response. A response with an
// "error" key is returned as is (the caller decides).
Result<nlohmann::json> controlRequest(const std::filesystem::path& socket,
                                      const nlohmann::json& request,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace crossgate::mgmt
