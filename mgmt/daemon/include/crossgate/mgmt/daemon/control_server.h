// The control socket: a unix stream socket (mode 0660, parent directory created 0755) that
// takes one JSON request per line and answers one JSON object per line. Requests are untrusted:
// a line is at most kMaxRequestLine bytes, must be a JSON object with a string "cmd".
#pragma once

#include <utility>

// clang-format off
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
// clang-format on

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "crossgate/common/result.h"
#include "crossgate/mgmt/daemon/control_request.h"

namespace crossgate::mgmtd {

namespace asio = boost::asio;

class ControlServer {
 public:
  ControlServer(asio::any_io_executor executor, RequestHandler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the parent directory (0755) if needed, replaces a stale socket file (one nobody
  // answers on), binds, sets mode 0660 and starts accepting.
  Status listen(const std::filesystem::path& path);
  void close();
  const std::filesystem::path& path() const { return path_; }

 private:
  asio::awaitable<void> acceptLoop(std::shared_ptr<bool> alive);
  static asio::awaitable<void> serve(asio::local::stream_protocol::socket socket,
                                     std::shared_ptr<RequestHandler> handler);

  asio::any_io_executor executor_;
  std::shared_ptr<RequestHandler> handler_;
  asio::local::stream_protocol::acceptor acceptor_;
  std::filesystem::path path_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace crossgate::mgmtd
