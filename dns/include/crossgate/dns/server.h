// crossgate-dns's process: worker threads (one io_context each, SO_REUSEPORT UDP and TCP
// sockets on every listen address) plus a control loop on the main thread that handles
// SIGHUP (reload), SIGUSR1 (log counters), SIGTERM/SIGINT (stop) and the stats socket.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crossgate/common/result.h"
#include "crossgate/dns/cache.h"
#include "crossgate/dns/stats.h"
#include "crossgate/dns/tables.h"
#include "crossgate/mgmt/config.h"

namespace crossgate::dns {

class Worker;

// Loads and compiles a config file for a reload: the tables, or every diagnostic as text.
using ConfigSource =
    std::function<Result<std::pair<config::Dns, std::shared_ptr<const Tables>>>(StatsRegistry&)>;

// How the process runs (command line), as opposed to what it serves (the config file).
struct ServerOptions {
  int threads = 1;
  // UDP answers to one client in one batch leave as one UDP_SEGMENT (GSO) send. Turned off at
  // run time on a socket whose egress device refuses it.
  bool udp_gso = true;
};

class Server {
 public:
  Server(config::Dns dns, ServerOptions options, ConfigSource reload);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Compiles the initial tables (slots from this server's registry).
  Status init();
  // Binds every socket (as root, before dropping privileges).
  Status bind();
  // Drops to `dns.user` (no-op when empty): supplementary groups, gid, uid; verifies that
  // root cannot be regained.
  Status dropPrivileges();
  // Runs until SIGTERM/SIGINT (or stop()).
  int run();
  void stop();

  // Reloads now (what SIGHUP does); false if the new config was rejected.
  bool reload();
  std::string statsJson() const;

  std::shared_ptr<const Tables> tables() const;
  uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  Cache& cache() noexcept { return cache_; }
  StatsRegistry& registry() noexcept { return registry_; }

 private:
  struct Control;
  void publish(std::shared_ptr<const Tables> tables);

  config::Dns dns_;
  ServerOptions options_;
  ConfigSource reload_;
  StatsRegistry registry_;
  Cache cache_;
  mutable std::mutex tables_mu_;
  std::shared_ptr<const Tables> tables_;
  std::atomic<uint64_t> generation_{0};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Control> control_;
};

}  // namespace crossgate::dns
