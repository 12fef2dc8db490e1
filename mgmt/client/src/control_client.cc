#include "crossgate/mgmt/client/control_client.h"

#include <errno.h>
#include <fmt/format.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "crossgate/common/unique_fd.h"

namespace crossgate::mgmt {

namespace {

constexpr size_t kMaxResponse = 16 * 1024 * 1024;

Error ioError(const std::filesystem::path& socket, std::string_view what, int err) {
  Errc code = Errc::kIo;
  std::string hint;
  if (err == ENOENT || err == ECONNREFUSED) {
    code = Errc::kUnavailable;
    hint = " (is crossgated running?)";
  } else if (err == EACCES || err == EPERM) {
    code = Errc::kPermissionDenied;
    hint = " (needs root or the socket's group)";
  }
  return makeError(code, fmt::format("{}: {}: {}{}", socket.string(), what, strerror(err), hint));
}

// Waits for `events` until the deadline; false on timeout.
bool waitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) {
      return true;
    }
    if (n < 0 && errno != EINTR) {
      return true;  // let the following call report the error
    }
  }
}

}  // namespace

Result<nlohmann::json> controlRequest(const std::filesystem::path& socket,
                                      const nlohmann::json& request,
                                      std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = socket.string();
  if (path.size() >= sizeof(addr.sun_path)) {
    return makeError(Errc::kInvalidArgument, fmt::format("{}: socket path too long", path));
  }
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return ioError(socket, "socket", errno);
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ioError(socket, "connect", errno);
  }
  const std::string line = request.dump() + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    if (!waitFor(fd.get(), POLLOUT, deadline)) {
      return makeError(Errc::kTimeout, fmt::format("{}: timed out sending the request", path));
    }
    const ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return ioError(socket, "send", errno);
    }
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[8192];
  while (response.find('\n') == std::string::npos) {
    if (!waitFor(fd.get(), POLLIN, deadline)) {
      return makeError(Errc::kTimeout,
                       fmt::format("{}: no response within {} ms", path, timeout.count()));
    }
    const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return ioError(socket, "recv", errno);
    }
    if (n == 0) {
      return makeError(Errc::kProtocol, fmt::format("{}: closed without a response", path));
    }
    response.append(buf, static_cast<size_t>(n));
    if (response.size() > kMaxResponse) {
      return makeError(Errc::kProtocol, fmt::format("{}: response too large", path));
    }
  }
  response.resize(response.find('\n'));
  nlohmann::json parsed = nlohmann::json::parse(response, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return makeError(Errc::kProtocol, fmt::format("{}: malformed response", path));
  }
  return parsed;
}

}  // namespace crossgate::mgmt
