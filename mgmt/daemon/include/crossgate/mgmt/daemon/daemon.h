// crossgated's core: the loaded configuration, the IKE manager, the routing manager (nftables,
// sysctls, failover routes; fed the CHILD_SA state by the IKE manager) and the control socket, on
// one io_context. The config loader is injected (crossgated passes config::loadFile), so the
// library does not depend on the loader and tests can feed configurations directly.
#pragma once

#include <utility>

// clang-format off
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
// clang-format on

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crossgate/common/result.h"
#include "crossgate/mgmt/config.h"
#include "crossgate/mgmt/config_loader.h"
#include "crossgate/mgmt/daemon/control_server.h"
#include "crossgate/mgmt/daemon/ike_manager.h"
#include "crossgate/mgmt/daemon/routing_manager.h"

namespace crossgate::mgmtd {

using ConfigLoader = std::function<config::LoadResult(const std::filesystem::path&)>;
using RoutingBackendsFactory = std::function<Result<RoutingBackends>()>;

// "file:line:column: key_path: message", position parts omitted when unknown.
std::string formatDiagnostic(const config::Diagnostic& d);

class Daemon {
 public:
  struct Options {
    std::filesystem::path config_path;
    IkeManager::Options ike;  // vici_socket is taken from the config
    // The routing layer's OS boundaries (crossgated: openSystemRoutingBackends). Unset: the
    // daemon leaves routing, nftables and sysctls alone (status shows routing as disabled).
    RoutingBackendsFactory routing;
  };

  Daemon(boost::asio::io_context& io, Options options, ConfigLoader loader);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Loads the config (every diagnostic logged), applies the routing layer (sysctls, the nft
  // table, failover groups and probers), binds the control socket, starts converging charon,
  // and handles SIGHUP (reload), SIGTERM/SIGINT (stop). Errors: the config is invalid, a PSK
  // cannot be read, the routing layer cannot be applied, or the control socket cannot be bound.
  Status start();
  // Re-reads the config file; an invalid file (or one the routing layer cannot take) keeps the
  // running configuration. Returns the problems found (empty on success).
  std::vector<std::string> reload();
  // Stops probing, deletes the routes, removes the nft table, closes charon's and the control
  // connections. Idempotent.
  void stop();

  nlohmann::json handle(const std::string& cmd, const nlohmann::json& request);
  const config::Config& config() const { return *config_; }
  IkeManager& ike() { return *ike_; }
  RoutingManager* routing() { return routing_.get(); }

 private:
  // Loads and checks the config file; on failure, every problem is logged and returned.
  Result<std::vector<DesiredTunnel>> loadDesired(std::optional<config::Config>* config,
                                                 std::vector<std::string>* problems);
  Result<std::vector<DesiredTunnel>> checkDesired(std::optional<config::Config>* config,
                                                  std::vector<std::string>* problems);
  Status startRouting();
  void waitSignal();

  boost::asio::io_context& io_;
  Options options_;
  ConfigLoader loader_;
  std::optional<config::Config> config_;
  std::unique_ptr<IkeManager> ike_;
  std::unique_ptr<RoutingManager> routing_;
  std::unique_ptr<ControlServer> control_;
  boost::asio::signal_set signals_;
};

}  // namespace crossgate::mgmtd
