#include "crossgate/mgmt/daemon/routing_manager.h"

#include <fmt/format.h>

#include <algorithm>

#include "crossgate/common/log.h"

namespace crossgate::mgmtd {

namespace {

constexpr std::chrono::seconds kMaintenanceInterval{1};

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) {
    return "none";
  }
  std::string out;
  for (const std::string& n : names) {
    out += (out.empty() ? "" : "+") + n;
  }
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The parts of a [[vpn]] its failover group and prober are built from: when they are equal, a
// reload keeps the running group (and its probe history, hold-downs and active path).
bool sameRouting(const config::Vpn& a, const config::Vpn& b) {
  if (a.name != b.name || a.mode != b.mode || a.remote_networks != b.remote_networks ||
      a.probe_interval_ms != b.probe_interval_ms || a.probe_misses != b.probe_misses ||
      a.failback_hold_s != b.failback_hold_s || a.tunnels.size() != b.tunnels.size()) {
    return false;
  }
  for (size_t i = 0; i < a.tunnels.size(); ++i) {
    const config::Tunnel& x = a.tunnels[i];
    const config::Tunnel& y = b.tunnels[i];
    if (x.name != y.name || x.interface != y.interface || x.priority != y.priority ||
        x.inside_cidr != y.inside_cidr) {
      return false;
    }
  }
  return true;
}

std::optional<double> millis(const std::optional<std::chrono::microseconds>& us) {
  if (!us) {
    return std::nullopt;
  }
  return static_cast<double>(us->count()) / 1000.0;
}

nlohmann::json optionalJson(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

Result<RoutingBackends> openSystemRoutingBackends() {
  auto nl = routing::openNetlink();
  if (!nl) {
    return std::move(nl).error();
  }
  auto nft = routing::openNftTransport();
  if (!nft) {
    return std::move(nft).error();
  }
  RoutingBackends backends;
  backends.netlink = std::move(nl).value();
  backends.nft = std::move(nft).value();
  backends.sysctl = std::make_unique<routing::ProcSysctl>();
  backends.probe = true;
  return backends;
}

RoutingManager::RoutingManager(boost::asio::io_context& io, RoutingBackends backends)
    : io_(io), backends_(std::move(backends)), firewall_(std::move(backends_.nft)), timer_(io) {}

RoutingManager::~RoutingManager() {
  *alive_ = false;
  stop();
}

Result<routing::FirewallPlan> RoutingManager::plan(const config::Config& config) {
  for (size_t v = 0; v < config.vpns.size(); ++v) {
    for (size_t t = 0; t < config.vpns[v].tunnels.size(); ++t) {
      const std::string& ifname = config.vpns[v].tunnels[t].interface;
      if (ifname.find('.') != std::string::npos) {
        return makeError(Errc::kInvalidArgument,
                         fmt::format("vpn[{}].tunnel[{}].interface: '{}' contains a dot, which "
                                     "the rp_filter sysctl cannot name; choose another name",
                                     v, t, ifname));
      }
    }
  }
  return routing::planFirewall(config);
}

std::vector<std::string> RoutingManager::tunnelInterfaces(const config::Config& config) {
  std::vector<std::string> out;
  for (const config::Vpn& vpn : config.vpns) {
    for (const config::Tunnel& t : vpn.tunnels) {
      out.push_back(t.interface);
    }
  }
  return out;
}

std::unique_ptr<RoutingManager::Group> RoutingManager::makeGroup(const config::Vpn& vpn) {
  routing::FailoverOptions options;
  options.miss_threshold = vpn.probe_misses;
  options.hold_down = std::chrono::seconds(vpn.failback_hold_s);
  return std::make_unique<Group>(
      Group{vpn, routing::FailoverGroup::fromConfig(vpn, options), nullptr});
}

Status RoutingManager::start(const config::Config& config) {
  auto log = log::get("mgmt");
  auto firewall_plan = plan(config);
  if (!firewall_plan) {
    return std::move(firewall_plan).error();
  }
  if (backends_.probe) {
    if (Status s = routing::IcmpProber::checkPrivileges(); !s) {
      return s;  // before anything is changed
    }
  }
  if (Status s = backends_.sysctl->write("net.ipv4.ip_forward", "1"); !s) {
    return s;
  }
  log->info("sysctl net.ipv4.ip_forward=1");
  tunnel_interfaces_ = tunnelInterfaces(config);
  ensureRpFilter();
  if (Status s = firewall_.apply(*firewall_plan); !s) {
    return s;
  }
  firewall_present_ = true;
  groups_.clear();
  for (const config::Vpn& vpn : config.vpns) {
    groups_.push_back(makeGroup(vpn));
  }
  running_ = true;
  if (Status s = startProbers(); !s) {
    stop();
    return s;
  }
  scheduleMaintenance();
  log->info("routing: {} VPN(s), {} tunnel interface(s); firewall applied", groups_.size(),
            tunnel_interfaces_.size());
  return okStatus();
}

Status RoutingManager::startProbers() {
  if (!backends_.probe) {
    return okStatus();
  }
  for (auto& group : groups_) {
    if (group->prober) {
      continue;  // kept across a reload, already running
    }
    std::vector<routing::ProbeTarget> targets;
    for (const config::Tunnel& t : group->vpn.tunnels) {
      targets.push_back({t.name, t.interface, t.awsInsideIp()});
    }
    routing::ProbeOptions options;
    options.interval = std::chrono::milliseconds(group->vpn.probe_interval_ms);
    std::weak_ptr<bool> alive = alive_;
    group->prober = std::make_unique<routing::IcmpProber>(
        io_, std::move(targets), options,
        [this, alive](const std::string& tunnel, bool answered, std::chrono::microseconds rtt) {
          if (auto a = alive.lock(); a && *a) {
            probeResult(tunnel, answered, rtt, RoutingClock::now());
          }
        });
    if (Status s = group->prober->start(); !s) {
      return makeError(s.error().code,
                       fmt::format("vpn {}: {}", group->vpn.name, s.error().message));
    }
  }
  return okStatus();
}

void RoutingManager::stopProbers() {
  for (auto& group : groups_) {
    if (group->prober) {
      group->prober->stop();
    }
  }
}

RoutingManager::Group* RoutingManager::groupOf(const std::string& tunnel) {
  for (auto& group : groups_) {
    for (const config::Tunnel& t : group->vpn.tunnels) {
      if (t.name == tunnel) {
        return group.get();
      }
    }
  }
  return nullptr;
}

void RoutingManager::childSa(const std::string& tunnel, bool installed,
                             RoutingClock::time_point now) {
  installed_[tunnel] = installed;
  Group* group = groupOf(tunnel);
  if (group == nullptr || !running_) {
    return;
  }
  group->failover.setChildSa(tunnel, installed, now);
  applyRoutes(*group, now);
}

void RoutingManager::probeResult(const std::string& tunnel, bool answered,
                                 std::chrono::microseconds rtt, RoutingClock::time_point now) {
  Group* group = groupOf(tunnel);
  if (group == nullptr || !running_) {
    return;
  }
  if (answered) {
    tunnels_[tunnel].last_answer = now;
    group->failover.probeAnswered(tunnel, rtt, now);
  } else {
    group->failover.probeMissed(tunnel, now);
  }
  group->failover.tick(now);
  applyRoutes(*group, now);
}

// Why the selection moved from `from` to `to`: one phrase per tunnel that left or joined.
std::string RoutingManager::switchReason(const Group& group, RoutingClock::time_point now) const {
  const std::vector<std::string> to = group.failover.activePath();
  auto it = applied_.find(group.vpn.name);
  const std::vector<std::string> from =
      it == applied_.end() ? std::vector<std::string>{} : it->second;
  std::vector<std::string> parts;
  bool someone_failed = false;
  for (const routing::TunnelHealth& h : group.failover.status()) {
    const bool left = contains(from, h.name) && !contains(to, h.name);
    if (!left) {
      continue;
    }
    if (!h.child_sa_installed) {
      parts.push_back(h.name + ": CHILD_SA gone");
      someone_failed = true;
    } else if (!h.healthy) {
      std::string last = "never answered";
      if (auto t = tunnels_.find(h.name); t != tunnels_.end() && t->second.last_answer) {
        last = fmt::format(
            "last answer {} ms ago",
            std::chrono::duration_cast<std::chrono::milliseconds>(now - *t->second.last_answer)
                .count());
      }
      parts.push_back(fmt::format("{}: {} probes missed ({})", h.name, h.consecutive_misses, last));
      someone_failed = true;
    } else {
      parts.push_back(h.name + ": back to standby");
    }
  }
  for (const std::string& name : to) {
    if (contains(from, name)) {
      continue;
    }
    if (from.empty()) {
      parts.push_back(name + ": healthy");
    } else if (!someone_failed) {
      parts.push_back(fmt::format("{}: healthy for the {} s hold-down (failback)", name,
                                  group.vpn.failback_hold_s));
    } else {
      parts.push_back(name + ": healthy");
    }
  }
  std::string out;
  for (const std::string& p : parts) {
    out += (out.empty() ? "" : "; ") + p;
  }
  return out.empty() ? "routes re-sent" : out;
}

void RoutingManager::applyRoutes(Group& group, RoutingClock::time_point now) {
  auto routes = group.failover.takeRouteChange();
  if (!routes) {
    return;
  }
  const std::string& vpn = group.vpn.name;
  const std::vector<std::string> to = group.failover.activePath();
  const std::vector<std::string> from = applied_[vpn];
  const std::string reason = switchReason(group, now);
  const auto started = RoutingClock::now();
  const bool ok = sendRoutes(*routes);
  const auto took =
      std::chrono::duration_cast<std::chrono::microseconds>(RoutingClock::now() - started);
  applied_[vpn] = to;  // on errors, maintain() re-sends what is missing
  if (from == to) {
    log::get("mgmt")->debug("[vpn={}] routes re-sent through {}", vpn, join(to));
    return;
  }
  const uint64_t n = ++switches_[vpn];
  last_switch_[vpn] = Switch{from, to, reason, now};
  log::get("mgmt")->info("[vpn={}] switch #{}: {} -> {} ({}); {} route(s) replaced in {} us{}", vpn,
                         n, join(from), join(to), reason, routes->size(), took.count(),
                         ok ? "" : " WITH ERRORS");
}

bool RoutingManager::sendRoutes(const std::vector<routing::Route>& routes) {
  bool ok = true;
  for (const routing::Route& r : routes) {
    if (Status s = backends_.netlink->replaceRoute(r); !s) {
      ++route_errors_;
      ok = false;
      log::get("mgmt")->error("[route {}] replace failed: {}", r.destination.toString(),
                              s.error().message);
    }
  }
  return ok;
}

void RoutingManager::deleteRoutes(const std::vector<routing::Route>& routes) {
  for (const routing::Route& r : routes) {
    Status s = backends_.netlink->deleteRoute(r);
    if (s) {
      log::get("mgmt")->info("[route {}] deleted", r.destination.toString());
    } else if (s.error().code == Errc::kNotFound) {
      log::get("mgmt")->debug("[route {}] already gone: {}", r.destination.toString(),
                              s.error().message);
    } else {
      log::get("mgmt")->warn("[route {}] delete failed: {}", r.destination.toString(),
                             s.error().message);
    }
  }
}

// rp_filter=2 on every tunnel interface that exists and does not have it (a TUN created, or
// re-created, since the last pass starts with the system's default).
void RoutingManager::ensureRpFilter() {
  for (const std::string& ifname : tunnel_interfaces_) {
    if (!backends_.netlink->link(ifname)) {
      continue;
    }
    const std::string key = "net.ipv4.conf." + ifname + ".rp_filter";
    auto value = backends_.sysctl->read(key);
    if (value && *value == "2") {
      continue;
    }
    if (Status s = backends_.sysctl->write(key, "2"); !s) {
      log::get("mgmt")->debug("{}: {}", key, s.error().message);  // raced with a deletion
      continue;
    }
    log::get("mgmt")->info("sysctl {}=2 (loose: replies may return through the other tunnel)", key);
  }
}

// Routes the kernel lost or changed (deleting an interface deletes its routes; someone may
// have edited them) are sent again when their devices exist.
void RoutingManager::ensureRoutes() {
  auto dump = backends_.netlink->dumpRoutes(0, 2 /* AF_INET */);
  if (!dump) {
    log::get("mgmt")->debug("route dump: {}", dump.error().message);
    return;
  }
  for (auto& group : groups_) {
    for (const routing::Route& want : group->failover.desiredRoutes()) {
      std::vector<int> want_ifs;
      bool devices = true;
      for (const routing::Nexthop& hop : want.nexthops) {
        auto l = backends_.netlink->link(hop.device);
        devices = devices && l.ok();
        want_ifs.push_back(l ? l->index : 0);
      }
      if (!devices) {
        continue;  // restored once the interface is back
      }
      std::sort(want_ifs.begin(), want_ifs.end());
      bool present = false;
      for (const routing::RouteEntry& e : *dump) {
        if (e.table != want.table || e.destination != want.destination || e.metric != want.metric) {
          continue;
        }
        std::vector<int> have;
        for (const auto& hop : e.hops) {
          have.push_back(hop.ifindex);
        }
        std::sort(have.begin(), have.end());
        present = present || have == want_ifs;
      }
      if (present) {
        continue;
      }
      if (sendRoutes({want})) {
        ++routes_restored_;
        log::get("mgmt")->warn("[vpn={}] route {} was missing or changed in the kernel: restored",
                               group->vpn.name, want.destination.toString());
      }
    }
  }
}

void RoutingManager::maintain(RoutingClock::time_point now) {
  if (!running_) {
    return;
  }
  auto ensured = firewall_.ensure();
  if (ensured) {
    firewall_present_ = true;
  } else {
    firewall_present_ = false;
    log::get("mgmt")->error("nftables: cannot check or restore table inet {}: {}",
                            routing::kNftTableName, ensured.error().message);
  }
  ensureRpFilter();
  for (auto& group : groups_) {
    group->failover.tick(now);
    applyRoutes(*group, now);
  }
  ensureRoutes();
}

void RoutingManager::scheduleMaintenance() {
  timer_.expires_after(kMaintenanceInterval);
  std::weak_ptr<bool> alive = alive_;
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    auto a = alive.lock();
    if (ec || !a || !*a || !running_) {
      return;
    }
    maintain(RoutingClock::now());
    scheduleMaintenance();
  });
}

Status RoutingManager::reload(const config::Config& config) {
  auto firewall_plan = plan(config);
  if (!firewall_plan) {
    return std::move(firewall_plan).error();
  }
  if (!running_) {
    return start(config);
  }
  if (Status s = firewall_.apply(*firewall_plan); !s) {
    return s;  // one batch: the previous table is still in place
  }
  firewall_present_ = true;
  tunnel_interfaces_ = tunnelInterfaces(config);
  ensureRpFilter();

  const auto now = RoutingClock::now();
  std::vector<std::unique_ptr<Group>> next;
  for (const config::Vpn& vpn : config.vpns) {
    auto old = std::find_if(groups_.begin(), groups_.end(),
                            [&](const auto& g) { return g && sameRouting(g->vpn, vpn); });
    if (old != groups_.end()) {
      (*old)->vpn = vpn;
      next.push_back(std::move(*old));
      continue;
    }
    std::unique_ptr<Group> group = makeGroup(vpn);
    for (const config::Tunnel& t : vpn.tunnels) {
      if (auto it = installed_.find(t.name); it != installed_.end() && it->second) {
        group->failover.setChildSa(t.name, true, now);
      }
    }
    log::get("mgmt")->info("[vpn={}] routing settings changed: failover state rebuilt", vpn.name);
    next.push_back(std::move(group));
  }
  retireGroups(config);
  groups_ = std::move(next);
  if (Status s = startProbers(); !s) {
    log::get("mgmt")->error("routing: {}", s.error().message);
    return s;
  }
  log::get("mgmt")->info("routing reloaded: {} VPN(s)", groups_.size());
  return okStatus();
}

// The groups a reload did not keep: probing stops, routes of networks no longer configured are
// deleted (the others are taken over by the new groups), state of removed VPNs is dropped.
void RoutingManager::retireGroups(const config::Config& config) {
  std::set<std::string> keep_keys;
  std::set<std::string> vpns;
  for (const config::Vpn& vpn : config.vpns) {
    vpns.insert(vpn.name);
    for (const Cidr& net : vpn.remote_networks) {
      keep_keys.insert(routing::routeKey(routing::kMainTable, net));
    }
  }
  for (auto& old : groups_) {
    if (!old) {
      continue;  // moved into the new set
    }
    if (old->prober) {
      old->prober->stop();
    }
    std::vector<routing::Route> gone;
    for (routing::Route& r : old->failover.desiredRoutes()) {
      if (keep_keys.count(routing::routeKey(r.table, r.destination)) == 0) {
        gone.push_back(std::move(r));
      }
    }
    deleteRoutes(gone);
    if (vpns.count(old->vpn.name) == 0) {
      applied_.erase(old->vpn.name);
      last_switch_.erase(old->vpn.name);
      switches_.erase(old->vpn.name);
    }
  }
}

void RoutingManager::stop() {
  if (!running_) {
    return;
  }
  running_ = false;
  boost::system::error_code ec;
  timer_.cancel(ec);
  stopProbers();
  for (auto& group : groups_) {
    deleteRoutes(group->failover.desiredRoutes());
  }
  groups_.clear();
  applied_.clear();
  if (Status s = firewall_.remove(); !s) {
    log::get("mgmt")->error("nftables: removing table inet {}: {}", routing::kNftTableName,
                            s.error().message);
  }
  firewall_present_ = false;
}

uint64_t RoutingManager::switches(const std::string& vpn) const {
  auto it = switches_.find(vpn);
  return it == switches_.end() ? 0 : it->second;
}

namespace {

nlohmann::json tunnelJson(const routing::TunnelHealth& h, const std::string& target) {
  return {{"name", h.name},
          {"interface", h.interface},
          {"priority", h.priority},
          {"probe_target", target},
          {"child_sa_installed", h.child_sa_installed},
          {"healthy", h.healthy},
          {"active", h.active},
          {"consecutive_misses", h.consecutive_misses},
          {"probes_sent", h.probes_sent},
          {"probes_answered", h.probes_answered},
          {"loss_percent", h.loss_percent},
          {"rtt_last_ms", optionalJson(millis(h.rtt_last))},
          {"rtt_avg_ms", optionalJson(millis(h.rtt_avg))}};
}

}  // namespace

nlohmann::json RoutingManager::statusJson() const {
  using nlohmann::json;
  json vpns = json::array();
  const auto now = RoutingClock::now();
  for (const auto& group : groups_) {
    json tunnels = json::array();
    for (const routing::TunnelHealth& h : group->failover.status()) {
      std::string target;
      for (const config::Tunnel& t : group->vpn.tunnels) {
        if (t.name == h.name) {
          target = t.awsInsideIp().toString();
        }
      }
      tunnels.push_back(tunnelJson(h, target));
    }
    std::vector<std::string> networks;
    for (const Cidr& c : group->vpn.remote_networks) {
      networks.push_back(c.toString());
    }
    json last = nullptr;
    if (auto it = last_switch_.find(group->vpn.name); it != last_switch_.end()) {
      const Switch& s = it->second;
      last = {{"from", s.from},
              {"to", s.to},
              {"reason", s.reason},
              {"ago_s", std::chrono::duration_cast<std::chrono::seconds>(now - s.at).count()}};
    }
    vpns.push_back({{"name", group->vpn.name},
                    {"mode", config::toString(group->vpn.mode)},
                    {"remote_networks", networks},
                    {"active_path", group->failover.activePath()},
                    {"switches", switches(group->vpn.name)},
                    {"last_switch", last},
                    {"tunnels", tunnels}});
  }
  return {{"running", running_},
          {"firewall",
           {{"table", std::string("inet ") + routing::kNftTableName},
            {"applied", running_ && firewall_present_},
            {"reapplied", firewall_.reapplied()}}},
          {"route_errors", route_errors_},
          {"routes_restored", routes_restored_},
          {"vpns", vpns}};
}

}  // namespace crossgate::mgmtd
