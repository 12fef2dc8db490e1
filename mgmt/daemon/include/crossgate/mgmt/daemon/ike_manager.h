// IkeManager: converges charon to the configured tunnels over VICI and tracks their state.
//
// One command connection (sequential requests, each bounded by a timeout) and one event
// connection (vici::EventMonitor: ike-updown, child-updown, ike-rekey, child-rekey, log). A single
// coroutine loop on the io_context thread: (re)connect -> converge -> list-sas -> initiate what
// is missing -> sleep until the poll interval passes or something wakes it (an event, a new
// desired state, a lost connection). Nothing here blocks; all state lives on that one thread.
//
// Which IKE_SAs exist comes from the events (SaTable). The periodic list-sas uses noblock=yes
// and only refreshes the SAs it returns: charon skips IKE_SAs that are busy, so a missing SA
// is not a missing tunnel. A blocking list-sas, on its own short-lived connection (charon
// serves one request per connection at a time and a blocking listing waits for busy SAs), is
// taken when events may have been missed (the event stream (re)connected) or an SA has been
// absent from noblock listings for long. A tunnel is initiated only when that table, synced,
// has no IKE_SA for it: never because of a noblock listing alone.
//
// Convergence (idempotent): get-conns and get-shared give what charon has; a tunnel whose
// connection or PSK differs from what was loaded in this charon session is re-established
// alone (unload-conn terminates its SAs, then load-shared + load-conn, whose start_action
// initiates it); unchanged tunnels are not touched; connections and crossgate secrets that are
// no longer configured are unloaded. After charon restarts, everything is loaded again.
#pragma once

#include <utility>

// clang-format off
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
// clang-format on

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crossgate/common/result.h"
#include "crossgate/common/secret.h"
#include "crossgate/ikev2/vici_client.h"
#include "crossgate/mgmt/config.h"
#include "crossgate/mgmt/daemon/sa_state.h"
#include "crossgate/mgmt/daemon/sa_table.h"

namespace crossgate::mgmtd {

namespace asio = boost::asio;

// One tunnel as charon should have it.
struct DesiredTunnel {
  std::string name;
  std::string aws_outside_ip;
  uint32_t if_id = 0;
  vici::Message load_conn;
  std::string secret_id;
  vici::Message load_shared;  // carries the PSK (masked in toString())
  Secret psk;

  DesiredTunnel clone() const;
};

// Builds the desired tunnels of a loaded config, reading every PSK file. All problems are
// collected (each names the tunnel and file); the result is empty when there are any.
std::vector<DesiredTunnel> desiredTunnels(const config::Config& config,
                                          std::vector<std::string>* errors);

class IkeManager {
 public:
  struct Options {
    std::filesystem::path vici_socket = "/run/charon.vici";
    std::chrono::milliseconds poll_interval{2000};
    std::chrono::milliseconds request_timeout{10000};
    std::chrono::milliseconds initiate_backoff_min{5000};
    std::chrono::milliseconds initiate_backoff_max{60000};
  };

  IkeManager(asio::any_io_executor executor, Options options);
  ~IkeManager();
  IkeManager(const IkeManager&) = delete;
  IkeManager& operator=(const IkeManager&) = delete;

  // Called on the io_context thread when a tunnel's CHILD_SA becomes installed (its IKE_SA
  // ESTABLISHED with an INSTALLED CHILD_SA, as `up` in the status) or stops being so, from
  // charon's events (and listings); also when charon goes away with SAs up.
  using ChildSaObserver = std::function<void(const std::string& tunnel, bool installed)>;
  void setChildSaObserver(ChildSaObserver observer) { child_sa_observer_ = std::move(observer); }

  // Replaces the desired state and converges soon.
  void setDesired(std::vector<DesiredTunnel> tunnels);
  void start();
  void stop();

  // {"tunnels": [...], "charon": {"connected", "version", "loaded_conns"}}
  nlohmann::json statusJson() const;
  std::vector<TunnelStatus> tunnelStatus() const;
  bool charonConnected() const { return command_connected_; }
  // How many times a tunnel was (re)loaded into charon (tests and diagnostics).
  uint64_t loadCount(const std::string& tunnel) const;

 private:
  struct Applied {
    vici::Message load_conn;
    Secret psk;
  };
  struct TunnelRuntime {
    std::optional<std::string> last_error;
    std::chrono::steady_clock::time_point next_initiate{};
    std::chrono::milliseconds backoff{0};
    uint64_t loads = 0;
    bool was_up = false;
  };

  asio::awaitable<void> run(std::shared_ptr<bool> alive);
  asio::awaitable<Status> connect();
  asio::awaitable<Status> converge();
  asio::awaitable<Status> applyTunnel(const DesiredTunnel& tunnel, bool reestablish);
  asio::awaitable<Status> unloadStale(const std::vector<std::string>& conns,
                                      const std::vector<std::string>& keys);
  asio::awaitable<Status> poll();
  asio::awaitable<Result<std::vector<IkeSaInfo>>> listSas(vici::Connection& connection,
                                                          bool noblock);
  asio::awaitable<Status> completeListing();
  asio::awaitable<Status> initiateMissing();
  asio::awaitable<Result<vici::Message>> command(const char* name, const vici::Message& request);
  void onEvent(const std::string& name, const vici::Message& message);
  void onLog(const vici::Message& message);
  void noteStates();
  void wake();
  void dropConnection(const Error& error);

  asio::any_io_executor executor_;
  Options options_;
  vici::Connection connection_;
  vici::EventMonitor monitor_;
  asio::steady_timer wake_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool stopped_ = true;
  bool command_connected_ = false;
  bool need_converge_ = true;
  bool woken_ = false;
  std::string charon_version_;

  std::vector<DesiredTunnel> desired_;
  std::map<std::string, Applied> applied_;  // loaded in the current charon session
  std::map<std::string, TunnelRuntime> runtime_;
  SaTable sas_;  // events + list-sas, see sa_table.h
  std::chrono::steady_clock::time_point next_complete_listing_{};
  vici::Connection* listing_connection_ = nullptr;  // a blocking list-sas in flight
  std::vector<std::string> loaded_conns_;           // from the last get-conns
  ChildSaObserver child_sa_observer_;
};

}  // namespace crossgate::mgmtd
