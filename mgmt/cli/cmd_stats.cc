// crossgate stats dataplane|dns [--socket PATH] [--json]: the counters of crossgate-dataplane
// (per SA, per worker, totals, drop reasons) or crossgate-dns (per view, global, cache,
// upstreams), read from the daemon's local stats socket. Both sockets serve one JSON document
// per connection and close. Defaults: /run/crossgate/dataplane-stats.sock; dns.stats_socket of
// the config, else /run/crossgate/dns.sock. Text output is one "path value" line per counter.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "command.h"
#include "crossgate/common/result.h"
#include "crossgate/common/unique_fd.h"
#include "socket_path.h"

namespace crossgate::cli {
namespace {

using nlohmann::json;

constexpr const char* kDataplaneStats = "/run/crossgate/dataplane-stats.sock";
constexpr const char* kDnsStats = "/run/crossgate/dns.sock";
constexpr size_t kMaxDocument = 64 << 20;
constexpr int kTimeoutMs = 5000;

struct StatsOptions {
  std::string daemon;
  std::string socket;
  bool json = false;
};

// Connects, reads to EOF (bounded in size and time), parses.
Result<json> readStats(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return makeError(Errc::kInvalidArgument, "stats socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    const char* hint = err == ENOENT || err == ECONNREFUSED ? " (is the daemon running?)" : "";
    return makeError(Errc::kUnavailable,
                     "cannot connect to " + path + ": " + std::strerror(err) + hint);
  }
  std::string doc;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
  char buf[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
      return makeError(Errc::kTimeout, path + ": no complete answer within 5 s");
    }
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return makeError(Errc::kIo, path + ": " + std::strerror(errno));
    }
    if (n == 0) {
      break;
    }
    doc.append(buf, static_cast<size_t>(n));
    if (doc.size() > kMaxDocument) {
      return makeError(Errc::kProtocol, path + ": answer larger than 64 MiB");
    }
  }
  json parsed = json::parse(doc, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return makeError(Errc::kProtocol, path + ": answer is not JSON");
  }
  return parsed;
}

// One line per scalar: "totals.udp_rx_datagrams 123", "sas.0.spi c1000001".
void printFlat(const json& v, const std::string& path) {
  if (v.is_object()) {
    for (const auto& [key, item] : v.items()) {
      printFlat(item, path.empty() ? key : path + "." + key);
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) {
      printFlat(v[i], path + "." + std::to_string(i));
    }
  } else {
    std::printf("%s %s\n", path.c_str(), v.is_string() ? v.get<std::string>().c_str()
                                                       : v.dump().c_str());
  }
}

CommandRegistration reg(40, [](CLI::App& app, GlobalOptions& globals) {
  auto opts = std::make_shared<StatsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "stats", "counters of crossgate-dataplane or crossgate-dns, from their local stats socket");
  cmd->add_option("daemon", opts->daemon, "dataplane or dns")
      ->required()
      ->check(CLI::IsMember({"dataplane", "dns"}));
  cmd->add_option("--socket", opts->socket,
                  "stats socket (default: /run/crossgate/dataplane-stats.sock, or dns.stats_socket "
                  "of the config)");
  cmd->add_flag("--json", opts->json, "the daemon's JSON document, indented");
  cmd->callback([opts, &globals] {
    const std::string path =
        opts->daemon == "dns"
            ? socketPath(opts->socket, globals, kDnsStats,
                         [](const config::Config& c) { return c.dns.stats_socket.string(); })
            : (opts->socket.empty() ? std::string(kDataplaneStats) : opts->socket);
    auto doc = readStats(path);
    if (!doc) {
      std::fprintf(stderr, "crossgate stats %s: %s\n", opts->daemon.c_str(),
                   doc.error().message.c_str());
      throw CLI::RuntimeError(1);
    }
    if (opts->json) {
      std::printf("%s\n", doc->dump(2).c_str());
    } else {
      printFlat(*doc, "");
    }
    throw CLI::RuntimeError(0);
  });
});

}  // namespace
}  // namespace crossgate::cli
