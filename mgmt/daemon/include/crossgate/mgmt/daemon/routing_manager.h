// RoutingManager: crossgated's owner of the routing layer (crossgate_routing): sysctls, the
// `inet crossgate` nftables table, one FailoverGroup and one ICMP prober per [[vpn]], and the
// routes of the remote networks, which follow the healthy tunnels.
//
//   start(config)    ip_forward=1, rp_filter=2 on every tunnel interface that exists; the table
//                    in one batch; the groups; the probers; a 1 s maintenance timer.
//   childSa()        from the IKE manager (CHILD_SA installed / gone).
//   probeResult()    from the probers (answered with an RTT, or missed).
//                    Either may change a group's selection: the routes are then replaced, one
//                    RTM_NEWROUTE (NLM_F_REPLACE) per remote network, and the switch is logged
//                    at info with from/to and the reason, and counted.
//   maintain()       every second: the table is put back if someone deleted it (logged,
//                    counted); rp_filter is set on tunnel interfaces that appeared since; routes
//                    the kernel lost (an interface deleted and re-created) are sent again.
//   reload(config)   the table replaced atomically; groups rebuilt with the CHILD_SA state
//                    carried over; routes of networks no longer configured deleted.
//   stop()           probing stops, the routes are deleted, the table removed.
//
// Everything runs on the io_context thread. The OS boundaries are injected (RoutingBackends), so
// tests use RecordingNetlink, RecordingNftTransport and MemorySysctl and feed probe results.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crossgate/common/result.h"
#include "crossgate/mgmt/config.h"
#include "crossgate/mgmt/failover.h"
#include "crossgate/mgmt/netlink.h"
#include "crossgate/mgmt/nftables.h"
#include "crossgate/mgmt/prober.h"
#include "crossgate/mgmt/sysctl.h"

namespace crossgate::mgmtd {

using RoutingClock = routing::Clock;

struct RoutingBackends {
  std::unique_ptr<routing::Netlink> netlink;
  std::unique_ptr<routing::NftTransport> nft;
  std::unique_ptr<routing::Sysctl> sysctl;
  // Start the ICMP probers. Off in unit tests, which feed probeResult() themselves.
  bool probe = true;
};

// The system's: rtnetlink, nfnetlink, /proc/sys, real probes.
Result<RoutingBackends> openSystemRoutingBackends();

class RoutingManager {
 public:
  RoutingManager(boost::asio::io_context& io, RoutingBackends backends);
  ~RoutingManager();
  RoutingManager(const RoutingManager&) = delete;
  RoutingManager& operator=(const RoutingManager&) = delete;

  // What a config asks of the routing layer, checked without touching anything (the nft plan).
  static Result<routing::FirewallPlan> plan(const config::Config& config);

  // Errors: the plan is invalid, a sysctl cannot be written, the kernel rejects the table, or
  // the probers lack privileges (CAP_NET_RAW or net.ipv4.ping_group_range).
  Status start(const config::Config& config);
  // Replaces the table and the groups. On an error the previous table stays in place.
  Status reload(const config::Config& config);
  void stop();

  void childSa(const std::string& tunnel, bool installed, RoutingClock::time_point now);
  void childSa(const std::string& tunnel, bool installed) {
    childSa(tunnel, installed, RoutingClock::now());
  }
  void probeResult(const std::string& tunnel, bool answered, std::chrono::microseconds rtt,
                   RoutingClock::time_point now);
  void maintain(RoutingClock::time_point now);

  // {"firewall": {"applied", "present", "reapplied"}, "route_errors", "routes_restored",
  //  "vpns": [{"name", "mode", "remote_networks", "active_path", "switches", "last_switch",
  //            "tunnels": [{"name", "interface", "priority", "probe_target", "child_sa_installed",
  //                         "healthy", "active", "consecutive_misses", "probes_sent",
  //                         "probes_answered", "loss_percent", "rtt_last_ms", "rtt_avg_ms"}]}]}
  nlohmann::json statusJson() const;

  uint64_t switches(const std::string& vpn) const;
  uint64_t firewallReapplied() const { return firewall_.reapplied(); }
  bool running() const { return running_; }

 private:
  struct Switch {
    std::vector<std::string> from, to;
    std::string reason;
    RoutingClock::time_point at;
  };
  struct Group {
    config::Vpn vpn;
    routing::FailoverGroup failover;
    std::unique_ptr<routing::IcmpProber> prober;
  };
  struct TunnelRuntime {
    std::optional<RoutingClock::time_point> last_answer;
  };

  static std::unique_ptr<Group> makeGroup(const config::Vpn& vpn);
  void retireGroups(const config::Config& config);
  Status startProbers();
  void stopProbers();
  Group* groupOf(const std::string& tunnel);
  // Replaces the routes if the group's selection changed; logs and counts a switch.
  void applyRoutes(Group& group, RoutingClock::time_point now);
  bool sendRoutes(const std::vector<routing::Route>& routes);
  // Why the selection moved from the path in the kernel to the group's: one phrase per tunnel.
  std::string switchReason(const Group& group, RoutingClock::time_point now) const;
  void deleteRoutes(const std::vector<routing::Route>& routes);
  void ensureRpFilter();
  void ensureRoutes();
  void scheduleMaintenance();
  static std::vector<std::string> tunnelInterfaces(const config::Config& config);

  boost::asio::io_context& io_;
  RoutingBackends backends_;
  routing::Firewall firewall_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool running_ = false;
  bool firewall_present_ = false;
  std::vector<std::unique_ptr<Group>> groups_;
  std::map<std::string, bool> installed_;                    // by tunnel, survives reloads
  std::map<std::string, TunnelRuntime> tunnels_;             // by tunnel
  std::map<std::string, std::vector<std::string>> applied_;  // by vpn: path in the kernel
  std::map<std::string, uint64_t> switches_;                 // by vpn, survives reloads
  std::map<std::string, Switch> last_switch_;                // by vpn
  std::vector<std::string> tunnel_interfaces_;
  uint64_t route_errors_ = 0;
  uint64_t routes_restored_ = 0;
};

}  // namespace crossgate::mgmtd
