// RoutingManager on the routing layer's fakes (RecordingNetlink, RecordingNftTransport,
// MemorySysctl), with probe results and time fed by the test; and the Daemon wired to it.
#include "crossgate/mgmt/daemon/routing_manager.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "crossgate/mgmt/daemon/daemon.h"

namespace crossgate::mgmtd {
namespace {

using routing::RecordingNetlink;
using routing::RecordingNftTransport;
using std::chrono::microseconds;
using std::chrono::milliseconds;

Cidr cidr(const char* text) { return *Cidr::parse(text); }

config::Config makeConfig(config::VpnMode mode = config::VpnMode::kActiveStandby) {
  config::Config c;
  c.appliance.name = "cg-test";
  c.appliance.wan_interface = "eth0";
  c.appliance.lan_interface = "eth1";
  c.appliance.public_ip = *IpAddress::parse("203.0.113.10");
  c.appliance.lan_address = *IpAddress::parse("10.20.0.4");
  c.nat.snat = true;
  c.nat.private_endpoint_subnets = {cidr("10.20.1.0/24")};
  config::Vpn vpn;
  vpn.name = "aws";
  vpn.mode = mode;
  vpn.remote_networks = {cidr("10.10.0.0/16"), cidr("10.11.0.0/16")};
  vpn.local_networks = {cidr("10.20.0.0/16")};
  vpn.probe_misses = 3;
  vpn.failback_hold_s = 5;
  for (int i = 1; i <= 2; ++i) {
    config::Tunnel t;
    t.name = "aws-t" + std::to_string(i);
    t.aws_outside_ip = *IpAddress::parse(i == 1 ? "198.51.100.17" : "198.51.100.21");
    t.inside_cidr = cidr(i == 1 ? "169.254.44.0/30" : "169.254.45.0/30");
    t.if_id = static_cast<uint32_t>(i);
    t.priority = static_cast<uint32_t>(100 * i);
    t.interface = "cgt" + std::to_string(i);
    vpn.tunnels.push_back(t);
  }
  c.vpns.push_back(vpn);
  return c;
}

std::vector<std::string> devices(const routing::Route& r) {
  std::vector<std::string> out;
  for (const auto& h : r.nexthops) {
    out.push_back(h.device);
  }
  return out;
}

class RoutingManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto nl = std::make_unique<RecordingNetlink>();
    auto nft = std::make_unique<RecordingNftTransport>();
    auto sysctl = std::make_unique<routing::MemorySysctl>();
    nl_ = nl.get();
    nft_ = nft.get();
    sysctl_ = sysctl.get();
    nl_->addLink("eth0", 2);
    nl_->addLink("cgt1", 10);
    nl_->addLink("cgt2", 11);
    RoutingBackends b;
    b.netlink = std::move(nl);
    b.nft = std::move(nft);
    b.sysctl = std::move(sysctl);
    b.probe = false;
    manager_ = std::make_unique<RoutingManager>(io_, std::move(b));
  }

  RoutingClock::time_point at(int ms) const { return t0_ + milliseconds(ms); }

  // Both CHILD_SAs installed and both tunnels answering at t=0: routes through aws-t1.
  void bothUp() {
    ASSERT_TRUE(manager_->start(config_).ok());
    manager_->childSa("aws-t1", true, at(0));
    manager_->childSa("aws-t2", true, at(0));
    manager_->probeResult("aws-t1", true, microseconds(800), at(0));
    manager_->probeResult("aws-t2", true, microseconds(900), at(0));
  }

  std::vector<RecordingNetlink::Request> routeRequests(const std::string& op) const {
    std::vector<RecordingNetlink::Request> out;
    for (const auto& r : nl_->requests()) {
      if (r.op == op) {
        out.push_back(r);
      }
    }
    return out;
  }

  std::vector<std::string> kernelDevices(const char* destination) const {
    auto it = nl_->routes().find(routing::routeKey(routing::kMainTable, cidr(destination)));
    return it == nl_->routes().end() ? std::vector<std::string>{} : devices(it->second);
  }

  std::vector<std::string> lastBatch() const {
    auto lines = routing::describeBatch(nft_->batches().back());
    return lines ? *lines : std::vector<std::string>{};
  }

  static bool hasLine(const std::vector<std::string>& lines, const std::string& part) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(part) != std::string::npos; });
  }

  boost::asio::io_context io_;
  RecordingNetlink* nl_ = nullptr;
  RecordingNftTransport* nft_ = nullptr;
  routing::MemorySysctl* sysctl_ = nullptr;
  std::unique_ptr<RoutingManager> manager_;
  config::Config config_ = makeConfig();
  RoutingClock::time_point t0_ = RoutingClock::now();
};

TEST_F(RoutingManagerTest, StartAppliesSysctlsAndTheTableInOneBatch) {
  config_.vpns[0].tunnels[1].interface = "cgt9";  // the dataplane creates it later
  ASSERT_TRUE(manager_->start(config_).ok());
  EXPECT_EQ(sysctl_->values["net.ipv4.ip_forward"], "1");
  EXPECT_EQ(sysctl_->values["net.ipv4.conf.cgt1.rp_filter"], "2");
  EXPECT_EQ(sysctl_->values.count("net.ipv4.conf.cgt9.rp_filter"), 0u);  // not there yet
  ASSERT_EQ(nft_->batches().size(), 1u);
  const auto lines = lastBatch();
  EXPECT_EQ(lines.front(), "batch begin");
  EXPECT_EQ(lines.back(), "batch end");
  EXPECT_TRUE(hasLine(lines, "table add crossgate")) << ::testing::PrintToString(lines);
  EXPECT_TRUE(hasLine(lines, "chain")) << ::testing::PrintToString(lines);
  EXPECT_TRUE(routeRequests("route-replace").empty());  // no healthy tunnel yet

  // The TUN appears: the next maintenance pass sets rp_filter on it (once).
  nl_->addLink("cgt9", 12);
  manager_->maintain(at(1000));
  EXPECT_EQ(sysctl_->values["net.ipv4.conf.cgt9.rp_filter"], "2");
  EXPECT_EQ(nft_->batches().size(), 1u);  // the table is there: nothing re-applied
  const auto status = manager_->statusJson();
  EXPECT_EQ(status["firewall"]["applied"], true);
  EXPECT_EQ(status["firewall"]["reapplied"], 0);
}

TEST_F(RoutingManagerTest, ChildSaUpAndProbeAnswerInstallRoutes) {
  ASSERT_TRUE(manager_->start(config_).ok());
  manager_->childSa("aws-t1", true, at(0));
  EXPECT_TRUE(routeRequests("route-replace").empty());  // installed, not yet answering
  manager_->probeResult("aws-t1", true, microseconds(1500), at(10));
  const auto replaced = routeRequests("route-replace");
  ASSERT_EQ(replaced.size(), 2u);  // one per remote network
  EXPECT_EQ(replaced[0].route->destination.toString(), "10.10.0.0/16");
  EXPECT_EQ(replaced[1].route->destination.toString(), "10.11.0.0/16");
  EXPECT_EQ(devices(*replaced[0].route), std::vector<std::string>{"cgt1"});
  EXPECT_EQ(manager_->switches("aws"), 1u);

  const auto vpn = manager_->statusJson()["vpns"][0];
  EXPECT_EQ(vpn["active_path"], nlohmann::json({"aws-t1"}));
  EXPECT_EQ(vpn["switches"], 1);
  EXPECT_EQ(vpn["last_switch"]["to"], nlohmann::json({"aws-t1"}));
  const auto t1 = vpn["tunnels"][0];
  EXPECT_EQ(t1["name"], "aws-t1");
  EXPECT_EQ(t1["probe_target"], "169.254.44.1");
  EXPECT_EQ(t1["child_sa_installed"], true);
  EXPECT_EQ(t1["healthy"], true);
  EXPECT_EQ(t1["active"], true);
  EXPECT_DOUBLE_EQ(t1["rtt_last_ms"].get<double>(), 1.5);
  EXPECT_EQ(vpn["tunnels"][1]["healthy"], false);
  EXPECT_TRUE(vpn["tunnels"][1]["rtt_last_ms"].is_null());
}

TEST_F(RoutingManagerTest, ProbeMissesFailOverWithOneReplacePerNetwork) {
  bothUp();
  nl_->clearRequests();
  manager_->probeResult("aws-t1", false, microseconds(0), at(200));
  manager_->probeResult("aws-t2", true, microseconds(900), at(200));
  manager_->probeResult("aws-t1", false, microseconds(0), at(400));
  EXPECT_TRUE(nl_->requests().empty());  // two misses are not down
  manager_->probeResult("aws-t1", false, microseconds(0), at(600));
  ASSERT_EQ(nl_->requests().size(), 2u);
  for (const auto& r : nl_->requests()) {
    EXPECT_EQ(r.op, "route-replace");
    EXPECT_EQ(devices(*r.route), std::vector<std::string>{"cgt2"});
  }
  EXPECT_EQ(kernelDevices("10.10.0.0/16"), std::vector<std::string>{"cgt2"});
  EXPECT_EQ(manager_->switches("aws"), 2u);
  const auto last = manager_->statusJson()["vpns"][0]["last_switch"];
  EXPECT_EQ(last["from"], nlohmann::json({"aws-t1"}));
  EXPECT_EQ(last["to"], nlohmann::json({"aws-t2"}));
  const std::string reason = last["reason"];
  EXPECT_NE(reason.find("aws-t1: 3 probes missed (last answer 600 ms ago)"), std::string::npos)
      << reason;
  const auto t1 = manager_->statusJson()["vpns"][0]["tunnels"][0];
  EXPECT_EQ(t1["healthy"], false);
  EXPECT_EQ(t1["consecutive_misses"], 3);
  EXPECT_GT(t1["loss_percent"].get<double>(), 70.0);
}

TEST_F(RoutingManagerTest, FailbackWaitsForTheHoldDown) {
  bothUp();
  for (int i = 1; i <= 3; ++i) {
    manager_->probeResult("aws-t1", false, microseconds(0), at(200 * i));
  }
  ASSERT_EQ(kernelDevices("10.10.0.0/16"), std::vector<std::string>{"cgt2"});
  nl_->clearRequests();
  manager_->probeResult("aws-t1", true, microseconds(700), at(1000));  // back, hold-down starts
  manager_->probeResult("aws-t1", true, microseconds(700), at(5900));
  manager_->maintain(at(5990));
  EXPECT_TRUE(routeRequests("route-replace").empty());
  EXPECT_EQ(manager_->switches("aws"), 2u);
  manager_->probeResult("aws-t1", true, microseconds(700), at(6000));  // 5 s healthy
  ASSERT_EQ(routeRequests("route-replace").size(), 2u);
  EXPECT_EQ(kernelDevices("10.10.0.0/16"), std::vector<std::string>{"cgt1"});
  EXPECT_EQ(kernelDevices("10.11.0.0/16"), std::vector<std::string>{"cgt1"});
  EXPECT_EQ(manager_->switches("aws"), 3u);
  const std::string reason = manager_->statusJson()["vpns"][0]["last_switch"]["reason"];
  EXPECT_NE(reason.find("hold-down"), std::string::npos) << reason;
}

TEST_F(RoutingManagerTest, ChildSaDeletedFailsOverAtOnce) {
  bothUp();
  nl_->clearRequests();
  manager_->childSa("aws-t1", false, at(50));
  ASSERT_EQ(routeRequests("route-replace").size(), 2u);
  EXPECT_EQ(kernelDevices("10.11.0.0/16"), std::vector<std::string>{"cgt2"});
  const std::string reason = manager_->statusJson()["vpns"][0]["last_switch"]["reason"];
  EXPECT_NE(reason.find("aws-t1: CHILD_SA gone"), std::string::npos) << reason;
  // Nothing healthy left: the routes stay where they are (no delete, no replace).
  nl_->clearRequests();
  manager_->childSa("aws-t2", false, at(60));
  EXPECT_TRUE(nl_->requests().empty());
  EXPECT_EQ(kernelDevices("10.11.0.0/16"), std::vector<std::string>{"cgt2"});
}

TEST_F(RoutingManagerTest, EcmpUsesOneMultipathRoutePerNetwork) {
  config_ = makeConfig(config::VpnMode::kEcmp);
  bothUp();
  EXPECT_EQ(kernelDevices("10.10.0.0/16"), (std::vector<std::string>{"cgt1", "cgt2"}));
  nl_->clearRequests();
  manager_->childSa("aws-t2", false, at(10));
  ASSERT_EQ(routeRequests("route-replace").size(), 2u);
  EXPECT_EQ(kernelDevices("10.10.0.0/16"), std::vector<std::string>{"cgt1"});
}

TEST_F(RoutingManagerTest, ReloadReplacesTheTableAndFollowsAChangedPlan) {
  bothUp();
  ASSERT_EQ(nft_->batches().size(), 1u);

  // Unchanged routing settings: the table is replaced, the failover state is kept.
  nl_->clearRequests();
  ASSERT_TRUE(manager_->reload(config_).ok());
  EXPECT_EQ(nft_->batches().size(), 2u);
  EXPECT_TRUE(hasLine(lastBatch(), "table delete crossgate"));  // replace = add, delete, add
  EXPECT_TRUE(nl_->requests().empty());
  EXPECT_EQ(manager_->statusJson()["vpns"][0]["active_path"], nlohmann::json({"aws-t1"}));

  // A network removed, another added, a different MSS and probe settings.
  config::Config next = makeConfig();
  next.vpns[0].remote_networks = {cidr("10.10.0.0/16"), cidr("10.12.0.0/16")};
  next.vpns[0].tunnels[0].tcp_mss = 1300;
  next.vpns[0].probe_misses = 2;
  ASSERT_TRUE(manager_->reload(next).ok());
  EXPECT_EQ(nft_->batches().size(), 3u);
  const auto deleted = routeRequests("route-del");
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].route->destination.toString(), "10.11.0.0/16");
  EXPECT_EQ(kernelDevices("10.11.0.0/16"), std::vector<std::string>{});
  // The CHILD_SA state carried over: the first answers select the path again.
  manager_->probeResult("aws-t2", true, microseconds(900), at(2000));
  EXPECT_EQ(kernelDevices("10.12.0.0/16"), std::vector<std::string>{"cgt2"});
  manager_->probeResult("aws-t1", true, microseconds(900), at(2010));
  EXPECT_EQ(kernelDevices("10.12.0.0/16"), std::vector<std::string>{"cgt1"});
  EXPECT_EQ(kernelDevices("10.10.0.0/16"), std::vector<std::string>{"cgt1"});
  // probe_misses = 2 now applies.
  manager_->probeResult("aws-t1", false, microseconds(0), at(2200));
  manager_->probeResult("aws-t1", false, microseconds(0), at(2400));
  EXPECT_EQ(kernelDevices("10.12.0.0/16"), std::vector<std::string>{"cgt2"});
  EXPECT_GE(manager_->switches("aws"), 3u);  // counted across the reload
}

TEST_F(RoutingManagerTest, InvalidReloadChangesNothing) {
  bothUp();
  nl_->clearRequests();
  config::Config bad = makeConfig();
  bad.appliance.lan_address.reset();  // snat without a source address
  bad.vpns[0].remote_networks = {cidr("10.99.0.0/16")};
  auto s = manager_->reload(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("appliance.lan_address"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(nft_->batches().size(), 1u);
  EXPECT_TRUE(nl_->requests().empty());
  EXPECT_EQ(kernelDevices("10.10.0.0/16"), std::vector<std::string>{"cgt1"});
  EXPECT_FALSE(RoutingManager::plan(bad).ok());
}

TEST_F(RoutingManagerTest, StopDeletesTheRoutesAndRemovesTheTable) {
  bothUp();
  nl_->clearRequests();
  manager_->stop();
  EXPECT_EQ(routeRequests("route-del").size(), 2u);
  EXPECT_TRUE(nl_->routes().empty());
  const auto lines = lastBatch();
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[lines.size() - 2], "table delete crossgate") << ::testing::PrintToString(lines);
  auto present = nft_->tableExists("crossgate");
  ASSERT_TRUE(present.ok());
  EXPECT_FALSE(*present);
  EXPECT_FALSE(manager_->running());
  manager_->stop();  // idempotent
  EXPECT_EQ(routeRequests("route-del").size(), 2u);
}

TEST_F(RoutingManagerTest, ADeletedTableIsPutBackAndCounted) {
  bothUp();
  nft_->setTablePresent(false);  // `nft delete table inet crossgate`
  manager_->maintain(at(1000));
  EXPECT_EQ(nft_->batches().size(), 2u);
  EXPECT_TRUE(hasLine(lastBatch(), "table add crossgate"));
  EXPECT_EQ(manager_->firewallReapplied(), 1u);
  EXPECT_EQ(manager_->statusJson()["firewall"]["reapplied"], 1);
  manager_->maintain(at(2000));
  EXPECT_EQ(nft_->batches().size(), 2u);
}

TEST_F(RoutingManagerTest, RoutesTheKernelLostAreRestored) {
  bothUp();
  // The interface was deleted and re-created: the kernel dropped its routes.
  routing::Route lost = nl_->routes().begin()->second;
  ASSERT_TRUE(nl_->deleteRoute(lost).ok());
  nl_->clearRequests();
  manager_->maintain(at(1000));
  const auto replaced = routeRequests("route-replace");
  ASSERT_EQ(replaced.size(), 1u);
  EXPECT_EQ(replaced[0].route->destination, lost.destination);
  EXPECT_EQ(manager_->statusJson()["routes_restored"], 1);
  nl_->clearRequests();
  manager_->maintain(at(2000));
  EXPECT_TRUE(routeRequests("route-replace").empty());
}

TEST_F(RoutingManagerTest, FailedReplaceIsCountedAndRetried) {
  ASSERT_TRUE(manager_->start(config_).ok());
  manager_->childSa("aws-t1", true, at(0));
  nl_->failNext(makeError(Errc::kIo, "replace route: Network is down"));
  manager_->probeResult("aws-t1", true, microseconds(500), at(0));
  EXPECT_EQ(manager_->statusJson()["route_errors"], 1);
  EXPECT_EQ(kernelDevices("10.10.0.0/16"), std::vector<std::string>{});
  manager_->maintain(at(1000));
  EXPECT_EQ(kernelDevices("10.10.0.0/16"), std::vector<std::string>{"cgt1"});
}

// The Daemon owns the routing manager: applied at start, in the status, invalid reloads change
// nothing, stop removes everything. (charon is absent here; the IKE manager just retries.)
TEST(DaemonRouting, StartStatusReloadStop) {
  boost::asio::io_context io;
  char tmpl[] = "/tmp/cgt-rd-daemon-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir = tmpl;
  const std::filesystem::path psk = dir / "t.psk";
  {
    FILE* f = std::fopen(psk.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("a-test-key\n", f);
    std::fclose(f);
    std::filesystem::permissions(
        psk, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  config::Config config = makeConfig();
  config.source = dir / "crossgate.toml";
  for (auto& t : config.vpns[0].tunnels) {
    t.psk_file = psk;
    t.ike_proposals = {"aes256gcm16-prfsha384-ecp384"};
    t.esp_proposals = {"aes256gcm16-ecp384"};
  }
  config.mgmt.vici_socket = dir / "no-charon.vici";
  config.mgmt.control_socket = dir / "control.sock";
  RecordingNftTransport* nft = nullptr;
  RecordingNetlink* nl = nullptr;
  Daemon::Options options;
  options.config_path = config.source;
  options.routing = [&]() -> Result<RoutingBackends> {
    auto n = std::make_unique<RecordingNetlink>();
    n->addLink("cgt1", 10);
    n->addLink("cgt2", 11);
    auto t = std::make_unique<RecordingNftTransport>();
    nl = n.get();
    nft = t.get();
    RoutingBackends b;
    b.netlink = std::move(n);
    b.nft = std::move(t);
    b.sysctl = std::make_unique<routing::MemorySysctl>();
    b.probe = false;
    return b;
  };
  config::Config served = config;
  Daemon daemon(io, options, [&](const std::filesystem::path&) {
    config::LoadResult r;
    r.config = served;
    return r;
  });
  ASSERT_TRUE(daemon.start().ok());
  ASSERT_NE(daemon.routing(), nullptr);
  ASSERT_NE(nft, nullptr);
  EXPECT_EQ(nft->batches().size(), 1u);

  daemon.routing()->childSa("aws-t2", true, RoutingClock::now());
  daemon.routing()->probeResult("aws-t2", true, microseconds(300), RoutingClock::now());
  const auto status = daemon.handle("status", {{"cmd", "status"}});
  EXPECT_EQ(status["routing"]["vpns"][0]["active_path"], nlohmann::json({"aws-t2"}));
  EXPECT_EQ(status["routing"]["firewall"]["applied"], true);
  EXPECT_EQ(status["tunnels"].size(), 2u);

  served.appliance.lan_address.reset();  // invalid for the routing layer
  auto problems = daemon.reload();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("nat.snat"), std::string::npos) << problems[0];
  EXPECT_EQ(nft->batches().size(), 1u);
  EXPECT_TRUE(daemon.config().appliance.lan_address.has_value());  // still the running one

  served = config;
  served.nat.private_endpoint_subnets.push_back(cidr("10.20.2.0/24"));
  EXPECT_TRUE(daemon.reload().empty());
  EXPECT_EQ(nft->batches().size(), 2u);

  daemon.stop();
  auto present = nft->tableExists("crossgate");
  ASSERT_TRUE(present.ok());
  EXPECT_FALSE(*present);
  EXPECT_TRUE(nl->routes().empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace crossgate::mgmtd
