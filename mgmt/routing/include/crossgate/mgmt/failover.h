// Failover for one VPN: pure logic with an injected time (no I/O). Inputs per tunnel: CHILD_SA
// installed yes/no and probe results. A tunnel is healthy when its CHILD_SA is installed, it
// answered at least one probe since, and it has fewer than `miss_threshold` consecutive misses.
// A tunnel that was healthy and failed must stay healthy for `hold_down` before it is used
// again, unless no other tunnel can carry traffic. Modes: active-standby (the lowest priority
// among the usable tunnels wins; ties by name) and ecmp (all usable tunnels).
// Output: one Route per remote network (one nexthop, or RTA_MULTIPATH in ecmp) that the caller
// applies with Netlink::replaceRoute (one message per remote network). When no tunnel is
// healthy the last routes stay: deleting them would send VPC traffic to the default route.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crossgate/common/net.h"
#include "crossgate/mgmt/config.h"
#include "crossgate/mgmt/netlink.h"

namespace crossgate::routing {

using Clock = std::chrono::steady_clock;

struct FailoverOptions {
  uint32_t miss_threshold = 3;
  std::chrono::milliseconds hold_down{10000};
  uint32_t route_table = kMainTable;
  uint32_t route_metric = 0;
};

struct TunnelPath {
  std::string name;
  std::string interface;
  uint32_t priority = 100;
};

struct TunnelHealth {
  std::string name;
  std::string interface;
  uint32_t priority = 0;
  bool child_sa_installed = false;
  bool healthy = false;
  bool active = false;  // carries the routes now
  uint32_t consecutive_misses = 0;
  uint64_t probes_sent = 0;
  uint64_t probes_answered = 0;
  double loss_percent = 0;  // over the last kLossWindow probes
  std::optional<std::chrono::microseconds> rtt_last;
  std::optional<std::chrono::microseconds> rtt_avg;  // EWMA, alpha 1/8
};

class FailoverGroup {
 public:
  static constexpr size_t kLossWindow = 50;

  FailoverGroup(std::string vpn, config::VpnMode mode, std::vector<Cidr> remote_networks,
                std::vector<TunnelPath> tunnels, FailoverOptions options = {});
  // The group for one VPN of a loaded config (interfaces and priorities from the tunnels).
  static FailoverGroup fromConfig(const config::Vpn& vpn, FailoverOptions options = {});

  // Events. Unknown tunnel names are ignored (false).
  bool setChildSa(const std::string& tunnel, bool installed, Clock::time_point now);
  bool probeAnswered(const std::string& tunnel, std::chrono::microseconds rtt,
                     Clock::time_point now);
  bool probeMissed(const std::string& tunnel, Clock::time_point now);
  // Re-evaluates hold-downs; call on every probe tick.
  void tick(Clock::time_point now);

  // The routes to apply when the selection changed since the last call, else nullopt.
  std::optional<std::vector<Route>> takeRouteChange();
  // The routes for the current selection (empty before any tunnel was ever usable).
  std::vector<Route> desiredRoutes() const;

  std::vector<std::string> activePath() const { return active_; }
  std::vector<TunnelHealth> status() const;
  uint64_t switches() const { return switches_; }
  const std::string& vpn() const { return vpn_; }

 private:
  struct State {
    TunnelPath path;
    bool installed = false;
    bool answered_since_install = false;
    uint32_t misses = 0;
    bool healthy = false;
    bool has_failed = false;
    Clock::time_point healthy_since{};
    uint64_t sent = 0;
    uint64_t answered = 0;
    std::array<bool, kLossWindow> window{};
    size_t window_pos = 0;
    size_t window_fill = 0;
    std::optional<std::chrono::microseconds> rtt_last;
    std::optional<std::chrono::microseconds> rtt_avg;
  };

  State* find(const std::string& name);
  void updateHealth(State& s, Clock::time_point now);
  void recordProbe(State& s, bool answered);
  void evaluate(Clock::time_point now);
  std::vector<std::string> select(Clock::time_point now) const;

  std::string vpn_;
  config::VpnMode mode_;
  std::vector<Cidr> remote_networks_;
  FailoverOptions options_;
  std::vector<State> tunnels_;
  std::vector<std::string> active_;
  bool changed_ = false;
  bool no_path_logged_ = false;  // "no healthy tunnel" is logged once per outage
  uint64_t switches_ = 0;
};

}  // namespace crossgate::routing
