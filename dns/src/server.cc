#include "crossgate/dns/server.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/write.hpp>
#include <csignal>
#include <optional>

#include "crossgate/common/log.h"
#include "worker.h"

namespace crossgate::dns {

namespace asio = boost::asio;
using asio::local::stream_protocol;

struct Server::Control {
  asio::io_context io;
  asio::signal_set signals{io};
  std::optional<stream_protocol::acceptor> stats;
};

Server::Server(config::Dns dns, ServerOptions options, ConfigSource reload)
    : dns_(std::move(dns)),
      options_(options),
      reload_(std::move(reload)),
      cache_(dns_.cache_size),
      control_(std::make_unique<Control>()) {}

Server::~Server() {
  stop();
  for (auto& w : workers_) {
    w->join();
  }
}

Status Server::init() {
  auto built = buildTables(dns_, [this](const std::string& n) { return registry_.slotFor(n); });
  if (!built.ok()) {
    return built.error();
  }
  publish(std::move(built.value()));
  return okStatus();
}

std::shared_ptr<const Tables> Server::tables() const {
  std::lock_guard<std::mutex> lock(tables_mu_);
  return tables_;
}

void Server::publish(std::shared_ptr<const Tables> tables) {
  {
    std::lock_guard<std::mutex> lock(tables_mu_);
    tables_ = std::move(tables);
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

Status Server::bind() {
  if (dns_.listen.empty()) {
    return makeError(Errc::kInvalidArgument, "dns.listen: no addresses: nothing to serve");
  }
  for (int i = 0; i < options_.threads; ++i) {
    auto w = std::make_unique<Worker>(*this, registry_.addThread(), i, options_);
    Status s = w->bind(dns_.listen, dns_.port);
    if (!s.ok()) {
      return s;
    }
    workers_.push_back(std::move(w));
  }
  if (!dns_.stats_socket.empty()) {
    const auto& path = dns_.stats_socket;
    std::error_code fec;
    std::filesystem::create_directories(path.parent_path(), fec);
    if (std::filesystem::is_socket(path, fec)) {
      std::filesystem::remove(path, fec);
    }
    boost::system::error_code ec;
    control_->stats.emplace(control_->io);
    control_->stats->open(stream_protocol(), ec);
    if (!ec) {
      control_->stats->bind(stream_protocol::endpoint(path.string()), ec);
    }
    if (!ec) {
      control_->stats->listen(16, ec);
    }
    if (ec) {
      return makeError(Errc::kIo, fmt::format("dns.stats_socket: cannot listen on {}: {}",
                                              path.string(), ec.message()));
    }
    ::chmod(path.c_str(), 0660);
  }
  return okStatus();
}

Status Server::dropPrivileges() {
  if (dns_.user.empty()) {
    return okStatus();
  }
  const passwd* pw = ::getpwnam(dns_.user.c_str());
  if (pw == nullptr) {
    return makeError(Errc::kNotFound, fmt::format("dns.user: no such user '{}'", dns_.user));
  }
  if (!dns_.stats_socket.empty()) {
    // Let the unprivileged process remove its socket on exit; crossgated connects as root.
    (void)::chown(dns_.stats_socket.c_str(), pw->pw_uid, pw->pw_gid);
  }
  if (::setgroups(0, nullptr) != 0 || ::setgid(pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0) {
    return makeError(Errc::kPermissionDenied, fmt::format("dns.user: cannot switch to '{}': {}",
                                                          dns_.user, std::strerror(errno)));
  }
  if (pw->pw_uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
    return makeError(Errc::kInternal, "dns.user: root privileges could be regained");
  }
  log::get("dns")->info("running as user {} (uid {}, gid {})", dns_.user, pw->pw_uid, pw->pw_gid);
  return okStatus();
}

std::string Server::statsJson() const { return registry_.toJson(cache_.size()); }

bool Server::reload() {
  auto logger = log::get("dns");
  auto loaded = reload_ ? reload_(registry_)
                        : Result<std::pair<config::Dns, std::shared_ptr<const Tables>>>(
                              makeError(Errc::kUnavailable, "no config file to reload"));
  if (!loaded.ok()) {
    logger->error("reload rejected, still serving the previous configuration:\n{}",
                  loaded.error().message);
    return false;
  }
  const config::Dns& next = loaded->first;
  if (next.listen != dns_.listen || next.port != dns_.port || next.user != dns_.user ||
      next.stats_socket != dns_.stats_socket) {
    logger->warn(
        "dns.listen, dns.port, dns.user and dns.stats_socket changes take effect on restart");
  }
  cache_.setCapacity(loaded->second->cache_size);
  publish(loaded->second);
  logger->info("configuration reloaded: {} views", loaded->second->views.size());
  return true;
}

namespace {

void acceptStats(Server* server, stream_protocol::acceptor* acceptor) {
  acceptor->async_accept(
      [server, acceptor](const boost::system::error_code& ec, stream_protocol::socket socket) {
        if (ec == asio::error::operation_aborted) {
          return;
        }
        if (!ec) {
          auto sock = std::make_shared<stream_protocol::socket>(std::move(socket));
          auto doc = std::make_shared<std::string>(server->statsJson() + "\n");
          asio::async_write(*sock, asio::buffer(*doc),
                            [sock, doc](const boost::system::error_code&, size_t) {
                              boost::system::error_code e;
                              sock->shutdown(stream_protocol::socket::shutdown_both, e);
                              sock->close(e);
                            });
        }
        acceptStats(server, acceptor);
      });
}

void waitSignals(Server* server, asio::signal_set* signals) {
  signals->async_wait([server, signals](const boost::system::error_code& ec, int sig) {
    if (ec) {
      return;
    }
    if (sig == SIGHUP) {
      log::get("dns")->info("SIGHUP: reloading the configuration");
      server->reload();
    } else if (sig == SIGUSR1) {
      log::get("dns")->info("stats {}", server->statsJson());
    } else {
      log::get("dns")->info("signal {}: stopping", sig);
      server->stop();
      return;
    }
    waitSignals(server, signals);
  });
}

}  // namespace

int Server::run() {
  control_->signals.add(SIGHUP);
  control_->signals.add(SIGUSR1);
  control_->signals.add(SIGTERM);
  control_->signals.add(SIGINT);
  waitSignals(this, &control_->signals);
  if (control_->stats) {
    acceptStats(this, &*control_->stats);
  }
  for (auto& w : workers_) {
    w->start();
  }
  log::get("dns")->info("serving on {} address(es), port {}, {} thread(s), {} view(s)",
                        dns_.listen.size(), dns_.port, options_.threads, tables()->views.size());
  control_->io.run();
  for (auto& w : workers_) {
    w->stop();
    w->join();
  }
  if (!dns_.stats_socket.empty()) {
    std::error_code fec;
    std::filesystem::remove(dns_.stats_socket, fec);
  }
  return 0;
}

void Server::stop() {
  control_->io.stop();
  for (auto& w : workers_) {
    w->stop();
  }
}

}  // namespace crossgate::dns
