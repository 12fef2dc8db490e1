// Drives crossgate_routing against the real kernel for the routing integration test:
//   routing_tool nft-apply CONFIG | nft-remove | nft-present | nft-watch CONFIG SECONDS
//   routing_tool sysctl CONFIG
//   routing_tool netlink-check DEVICE
//   routing_tool failover CONFIG SECONDS HOLD_DOWN_MS
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "crossgate/common/log.h"
#include "crossgate/mgmt/config_loader.h"
#include "crossgate/mgmt/failover.h"
#include "crossgate/mgmt/netlink.h"
#include "crossgate/mgmt/nftables.h"
#include "crossgate/mgmt/prober.h"
#include "crossgate/mgmt/sysctl.h"

using namespace crossgate;
using namespace crossgate::routing;

namespace {

int fail(const std::string& what) {
  std::cerr << "routing_tool: " << what << "\n";
  return 1;
}

std::optional<config::Config> load(const char* path) {
  auto r = config::loadFile(path);
  if (!r.ok()) {
    for (const auto& d : r.errors) std::cerr << d.toString() << "\n";
    return std::nullopt;
  }
  return *r.config;
}

Result<Firewall> makeFirewall() {
  auto t = openNftTransport();
  if (!t) return std::move(t).error();
  return Firewall(std::move(t).value());
}

int nftApply(const char* path) {
  auto cfg = load(path);
  if (!cfg) return 1;
  auto plan = planFirewall(*cfg);
  if (!plan) return fail(plan.error().message);
  auto fw = makeFirewall();
  if (!fw) return fail(fw.error().message);
  auto st = fw->apply(*plan);
  if (!st) return fail(st.error().message);
  auto there = fw->present();
  std::cout << "applied present=" << (there && *there ? "yes" : "no") << "\n";
  return there && *there ? 0 : 1;
}

int nftWatch(const char* path, int seconds) {
  auto cfg = load(path);
  if (!cfg) return 1;
  auto plan = planFirewall(*cfg);
  if (!plan) return fail(plan.error().message);
  auto fw = makeFirewall();
  if (!fw) return fail(fw.error().message);
  auto st = fw->apply(*plan);
  if (!st) return fail(st.error().message);
  std::cout << "applied" << std::endl;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    auto r = fw->ensure();
    if (!r) return fail(r.error().message);
    if (*r) std::cout << "reapplied" << std::endl;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto rm = fw->remove();
  if (!rm) return fail(rm.error().message);
  std::cout << "removed reapplied_total=" << fw->reapplied() << std::endl;
  return 0;
}

int nftRemove() {
  auto fw = makeFirewall();
  if (!fw) return fail(fw.error().message);
  auto st = fw->remove();
  if (!st) return fail(st.error().message);
  auto there = fw->present();
  if (!there) return fail(there.error().message);
  std::cout << "removed present=" << (*there ? "yes" : "no") << "\n";
  return *there ? 1 : 0;
}

int sysctls(const char* path) {
  auto cfg = load(path);
  if (!cfg) return 1;
  std::vector<std::string> ifs;
  for (const auto& v : cfg->vpns) {
    for (const auto& t : v.tunnels) ifs.push_back(t.interface);
  }
  ProcSysctl sys;
  auto st = applyRoutingSysctls(sys, ifs);
  if (!st) return fail(st.error().message);
  return 0;
}

#define CHECK_OK(expr)                                                    \
  do {                                                                    \
    auto _s = (expr);                                                     \
    if (!_s) return fail(std::string(#expr) + ": " + _s.error().message); \
  } while (0)

int netlinkCheck(const std::string& dev, const std::string& dev2) {
  auto nl_r = openNetlink();
  if (!nl_r) return fail(nl_r.error().message);
  auto& nl = **nl_r;
  CHECK_OK(nl.setLinkMtu(dev, 1436));
  CHECK_OK(nl.setLinkUp(dev, true));
  auto l = nl.link(dev);
  if (!l || !l->up || l->mtu != 1436) return fail("link state not as set");
  std::cout << "link " << dev << " index=" << l->index << " mtu=" << l->mtu << " up\n";
  auto addr = *Cidr::parse("192.0.2.1/24", true);
  CHECK_OK(nl.addAddress(dev, addr));
  Route single{*Cidr::parse("198.51.100.0/24"), kMainTable, 50, 4, {{dev, std::nullopt, 1}}};
  CHECK_OK(nl.replaceRoute(single));
  Route multi{
      *Cidr::parse("203.0.113.0/24"), 100, 0, 4, {{dev, std::nullopt, 1}, {dev2, std::nullopt, 2}}};
  CHECK_OK(nl.replaceRoute(multi));
  auto dump = nl.dumpRoutes(100, 2);
  if (!dump) return fail(dump.error().message);
  bool found_multi = false;
  for (const auto& e : *dump) {
    if (e.destination.toString() == "203.0.113.0/24" && e.hops.size() == 2) found_multi = true;
  }
  if (!found_multi) return fail("multipath route not in the dump of table 100");
  std::cout << "dump table 100: " << dump->size() << " routes, multipath ok\n";
  Rule rule{2, 3100, 100, 0x42, 0xff};
  CHECK_OK(nl.addRule(rule));
  auto dup = nl.addRule(rule);
  if (dup) return fail("duplicate rule accepted");
  std::cout << "duplicate rule error: " << dup.error().message << "\n";
  CHECK_OK(nl.deleteRule(rule));
  CHECK_OK(nl.deleteRoute(multi));
  CHECK_OK(nl.deleteRoute(single));
  auto gone = nl.deleteRoute(single);
  if (gone) return fail("deleting a missing route succeeded");
  std::cout << "missing route error: " << gone.error().message << "\n";
  Route bad{*Cidr::parse("198.51.100.0/24"),
            kMainTable,
            0,
            4,
            {{dev, IpAddress::parse("203.0.113.77"), 1}}};
  auto unreachable = nl.replaceRoute(bad);
  if (unreachable) return fail("route via an unreachable gateway accepted");
  std::cout << "unreachable gateway error: " << unreachable.error().message << "\n";
  CHECK_OK(nl.deleteAddress(dev, addr));
  CHECK_OK(nl.setLinkUp(dev, false));
  l = nl.link(dev);
  if (!l || l->up) return fail("link still up");
  auto missing = nl.link("cgt-rt-nope");
  if (missing) return fail("missing link found");
  std::cout << "missing link error: " << missing.error().message << "\n";
  std::cout << "netlink-check ok\n";
  return 0;
}

int failover(const char* path, int seconds, int hold_down_ms) {
  auto cfg = load(path);
  if (!cfg) return 1;
  auto nl_r = openNetlink();
  if (!nl_r) return fail(nl_r.error().message);
  auto& nl = **nl_r;
  FailoverOptions opts;
  opts.hold_down = std::chrono::milliseconds(hold_down_ms);
  FailoverGroup group = FailoverGroup::fromConfig(cfg->vpns.at(0), opts);
  std::vector<ProbeTarget> targets;
  auto now = Clock::now();
  for (const auto& t : cfg->vpns.at(0).tunnels) {
    targets.push_back({t.name, t.interface, t.awsInsideIp()});
    group.setChildSa(t.name, true, now);
  }
  boost::asio::io_context io;
  auto apply = [&] {
    auto routes = group.takeRouteChange();
    if (!routes) return;
    for (const auto& r : *routes) {
      auto st = nl.replaceRoute(r);
      if (!st) std::cerr << "replace failed: " << st.error().message << std::endl;
    }
    std::string active;
    for (const auto& a : group.activePath()) active += (active.empty() ? "" : "+") + a;
    std::cout << "switch " << group.switches() << " active=" << active << std::endl;
  };
  IcmpProber prober(io, targets, ProbeOptions{},
                    [&](const std::string& tunnel, bool ok, std::chrono::microseconds rtt) {
                      if (ok) {
                        group.probeAnswered(tunnel, rtt, Clock::now());
                      } else {
                        group.probeMissed(tunnel, Clock::now());
                      }
                      group.tick(Clock::now());
                      apply();
                    });
  auto st = prober.start();
  if (!st) return fail(st.error().message);
  boost::asio::steady_timer end(io, std::chrono::seconds(seconds));
  end.async_wait([&](const boost::system::error_code&) { prober.stop(); });
  io.run();
  for (const auto& h : group.status()) {
    std::cout << "status " << h.name << " healthy=" << h.healthy << " active=" << h.active
              << " sent=" << h.probes_sent << " answered=" << h.probes_answered
              << " loss=" << h.loss_percent
              << "% rtt_avg_us=" << (h.rtt_avg ? h.rtt_avg->count() : -1) << "\n";
  }
  std::cout << "switches=" << group.switches() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  log::Options lo;
  lo.level = "info";
  log::setup(lo);
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "nft-apply" && argc == 3) return nftApply(argv[2]);
  if (cmd == "nft-remove") return nftRemove();
  if (cmd == "nft-watch" && argc == 4) return nftWatch(argv[2], std::stoi(argv[3]));
  if (cmd == "sysctl" && argc == 3) return sysctls(argv[2]);
  if (cmd == "netlink-check" && argc == 4) return netlinkCheck(argv[2], argv[3]);
  if (cmd == "failover" && argc == 5)
    return failover(argv[2], std::stoi(argv[3]), std::stoi(argv[4]));
  std::cerr << "usage: routing_tool nft-apply CONFIG | nft-remove | nft-watch CONFIG SECONDS | "
               "sysctl CONFIG | netlink-check DEV DEV2 | failover CONFIG SECONDS HOLD_DOWN_MS\n";
  return 2;
}
