#include "crossgate/mgmt/failover.h"

#include <algorithm>

#include "crossgate/common/log.h"

namespace crossgate::routing {
namespace {

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += "+";
    out += n;
  }
  return out;
}

}  // namespace

FailoverGroup::FailoverGroup(std::string vpn, config::VpnMode mode,
                             std::vector<Cidr> remote_networks, std::vector<TunnelPath> tunnels,
                             FailoverOptions options)
    : vpn_(std::move(vpn)),
      mode_(mode),
      remote_networks_(std::move(remote_networks)),
      options_(options) {
  for (auto& t : tunnels) {
    State s;
    s.path = std::move(t);
    tunnels_.push_back(std::move(s));
  }
  if (options_.miss_threshold == 0) options_.miss_threshold = 1;
}

FailoverGroup FailoverGroup::fromConfig(const config::Vpn& vpn, FailoverOptions options) {
  std::vector<TunnelPath> paths;
  for (const auto& t : vpn.tunnels) {
    paths.push_back(TunnelPath{t.name, t.interface, t.priority});
  }
  return FailoverGroup(vpn.name, vpn.mode, vpn.remote_networks, std::move(paths), options);
}

FailoverGroup::State* FailoverGroup::find(const std::string& name) {
  for (auto& s : tunnels_) {
    if (s.path.name == name) return &s;
  }
  return nullptr;
}

bool FailoverGroup::setChildSa(const std::string& tunnel, bool installed, Clock::time_point now) {
  State* s = find(tunnel);
  if (!s) return false;
  if (s->installed != installed) {
    log::get("mgmt")->info("[vpn={} tunnel={}] CHILD_SA {}", vpn_, tunnel,
                           installed ? "installed" : "removed");
  }
  s->installed = installed;
  if (!installed) {
    s->answered_since_install = false;
  }
  updateHealth(*s, now);
  evaluate(now);
  return true;
}

void FailoverGroup::recordProbe(State& s, bool answered) {
  ++s.sent;
  if (answered) ++s.answered;
  s.window[s.window_pos] = answered;
  s.window_pos = (s.window_pos + 1) % kLossWindow;
  s.window_fill = std::min(s.window_fill + 1, kLossWindow);
}

bool FailoverGroup::probeAnswered(const std::string& tunnel, std::chrono::microseconds rtt,
                                  Clock::time_point now) {
  State* s = find(tunnel);
  if (!s) return false;
  recordProbe(*s, true);
  s->misses = 0;
  s->rtt_last = rtt;
  s->rtt_avg = s->rtt_avg ? (*s->rtt_avg * 7 + rtt) / 8 : rtt;
  if (s->installed) s->answered_since_install = true;
  updateHealth(*s, now);
  evaluate(now);
  return true;
}

bool FailoverGroup::probeMissed(const std::string& tunnel, Clock::time_point now) {
  State* s = find(tunnel);
  if (!s) return false;
  recordProbe(*s, false);
  ++s->misses;
  updateHealth(*s, now);
  evaluate(now);
  return true;
}

void FailoverGroup::tick(Clock::time_point now) { evaluate(now); }

void FailoverGroup::updateHealth(State& s, Clock::time_point now) {
  bool healthy = s.installed && s.answered_since_install && s.misses < options_.miss_threshold;
  if (healthy == s.healthy) return;
  s.healthy = healthy;
  if (healthy) {
    s.healthy_since = now;
    log::get("mgmt")->info("[vpn={} tunnel={}] healthy", vpn_, s.path.name);
  } else {
    s.has_failed = true;
    log::get("mgmt")->warn("[vpn={} tunnel={}] down ({}; {} consecutive probe misses)", vpn_,
                           s.path.name, s.installed ? "CHILD_SA installed" : "no CHILD_SA",
                           s.misses);
  }
}

std::vector<std::string> FailoverGroup::select(Clock::time_point now) const {
  std::vector<const State*> usable;
  std::vector<const State*> healthy;
  for (const auto& s : tunnels_) {
    if (!s.healthy) continue;
    healthy.push_back(&s);
    if (!s.has_failed || now - s.healthy_since >= options_.hold_down) usable.push_back(&s);
  }
  if (usable.empty()) usable = healthy;  // hold-down never blocks the only working path
  std::sort(usable.begin(), usable.end(), [](const State* a, const State* b) {
    if (a->path.priority != b->path.priority) return a->path.priority < b->path.priority;
    return a->path.name < b->path.name;
  });
  std::vector<std::string> out;
  for (const State* s : usable) {
    out.push_back(s->path.name);
    if (mode_ == config::VpnMode::kActiveStandby) break;
  }
  return out;
}

void FailoverGroup::evaluate(Clock::time_point now) {
  std::vector<std::string> next = select(now);
  if (next.empty()) {
    if (!active_.empty() && !no_path_logged_) {
      no_path_logged_ = true;
      log::get("mgmt")->error("[vpn={}] no healthy tunnel: routes stay on {}", vpn_, join(active_));
    }
    return;
  }
  no_path_logged_ = false;
  if (next == active_) return;
  log::get("mgmt")->info("[vpn={}] path switch: {} -> {} (switch #{})", vpn_, join(active_),
                         join(next), switches_ + 1);
  active_ = std::move(next);
  ++switches_;
  changed_ = true;
}

std::optional<std::vector<Route>> FailoverGroup::takeRouteChange() {
  if (!changed_) return std::nullopt;
  changed_ = false;
  return desiredRoutes();
}

std::vector<Route> FailoverGroup::desiredRoutes() const {
  std::vector<Route> routes;
  if (active_.empty()) return routes;
  for (const auto& net : remote_networks_) {
    Route r;
    r.destination = net;
    r.table = options_.route_table;
    r.metric = options_.route_metric;
    for (const auto& name : active_) {
      for (const auto& s : tunnels_) {
        if (s.path.name == name) r.nexthops.push_back(Nexthop{s.path.interface, std::nullopt, 1});
      }
    }
    routes.push_back(std::move(r));
  }
  return routes;
}

std::vector<TunnelHealth> FailoverGroup::status() const {
  std::vector<TunnelHealth> out;
  for (const auto& s : tunnels_) {
    TunnelHealth h;
    h.name = s.path.name;
    h.interface = s.path.interface;
    h.priority = s.path.priority;
    h.child_sa_installed = s.installed;
    h.healthy = s.healthy;
    h.active = std::find(active_.begin(), active_.end(), s.path.name) != active_.end();
    h.consecutive_misses = s.misses;
    h.probes_sent = s.sent;
    h.probes_answered = s.answered;
    size_t lost = 0;
    for (size_t i = 0; i < s.window_fill; ++i) lost += s.window[i] ? 0 : 1;
    h.loss_percent = s.window_fill ? 100.0 * static_cast<double>(lost) / s.window_fill : 0.0;
    h.rtt_last = s.rtt_last;
    h.rtt_avg = s.rtt_avg;
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace crossgate::routing
