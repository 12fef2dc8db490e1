#include "crossgate/mgmt/daemon/control_server.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "crossgate/common/log.h"
#include "crossgate/common/unique_fd.h"

namespace crossgate::mgmtd {

namespace {

nlohmann::json errorReply(std::string message) { return {{"error", std::move(message)}}; }

// True if something accepts connections on `path` (a running daemon).
bool socketAnswers(const std::filesystem::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path.string();
  if (!fd || p.size() >= sizeof(addr.sun_path)) {
    return false;
  }
  p.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

}  // namespace

ControlServer::ControlServer(asio::any_io_executor executor, RequestHandler handler)
    : executor_(executor),
      handler_(std::make_shared<RequestHandler>(std::move(handler))),
      acceptor_(executor) {}

ControlServer::~ControlServer() {
  *alive_ = false;
  close();
}

Status ControlServer::listen(const std::filesystem::path& path) {
  std::error_code fs_ec;
  const auto parent = path.parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent, fs_ec)) {
    std::filesystem::create_directories(parent, fs_ec);
    if (fs_ec) {
      return makeError(Errc::kIo, fmt::format("{}: cannot create directory: {}", parent.string(),
                                              fs_ec.message()));
    }
    ::chmod(parent.c_str(), 0755);
  }
  if (std::filesystem::exists(std::filesystem::symlink_status(path, fs_ec))) {
    if (socketAnswers(path)) {
      return makeError(Errc::kAlreadyExists,
                       fmt::format("{}: another crossgated is serving this socket", path.string()));
    }
    std::filesystem::remove(path, fs_ec);
  }
  boost::system::error_code ec;
  acceptor_.open(asio::local::stream_protocol(), ec);
  if (!ec) {
    acceptor_.bind(asio::local::stream_protocol::endpoint(path.string()), ec);
  }
  if (!ec) {
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    acceptor_.close(ec);
    return makeError(Errc::kIo, fmt::format("{}: cannot listen: {}", path.string(), ec.message()));
  }
  if (::chmod(path.c_str(), 0660) != 0) {
    return makeError(Errc::kIo, fmt::format("{}: cannot set mode 0660", path.string()));
  }
  path_ = path;
  asio::co_spawn(executor_, acceptLoop(alive_), asio::detached);
  log::get("mgmt")->info("control socket listening on {}", path.string());
  return okStatus();
}

void ControlServer::close() {
  if (acceptor_.is_open()) {
    boost::system::error_code ec;
    acceptor_.close(ec);
    std::error_code fs_ec;
    std::filesystem::remove(path_, fs_ec);
  }
}

asio::awaitable<void> ControlServer::acceptLoop(std::shared_ptr<bool> alive) {
  std::shared_ptr<RequestHandler> handler = handler_;
  for (;;) {
    boost::system::error_code ec;
    asio::local::stream_protocol::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || ec == asio::error::operation_aborted || !acceptor_.is_open()) {
      co_return;
    }
    if (ec) {
      log::get("mgmt")->warn("control socket accept: {}", ec.message());
      continue;
    }
    asio::co_spawn(executor_, serve(std::move(socket), handler), asio::detached);
  }
}

asio::awaitable<void> ControlServer::serve(asio::local::stream_protocol::socket socket,
                                           std::shared_ptr<RequestHandler> handler) {
  std::string buffer;
  for (;;) {
    boost::system::error_code ec;
    const size_t n =
        co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer, kMaxRequestLine + 1),
                                        '\n', asio::redirect_error(asio::use_awaitable, ec));
    std::string reply;
    if (ec == asio::error::not_found) {
      reply = errorReply(fmt::format("request longer than {} bytes", kMaxRequestLine)).dump();
    } else if (ec) {
      co_return;  // the client went away
    } else {
      reply = handleRequestLine(std::string_view(buffer).substr(0, n - 1), *handler);
      buffer.erase(0, n);
    }
    reply += '\n';
    co_await asio::async_write(socket, asio::buffer(reply),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec || buffer.size() > kMaxRequestLine) {
      co_return;
    }
  }
}

}  // namespace crossgate::mgmtd
