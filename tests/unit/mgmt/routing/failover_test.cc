#include "crossgate/mgmt/failover.h"

#include <gtest/gtest.h>

namespace crossgate::routing {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

class FailoverTest : public ::testing::Test {
 protected:
  FailoverGroup make(config::VpnMode mode, milliseconds hold = milliseconds(10000)) {
    FailoverOptions o;
    o.hold_down = hold;
    return FailoverGroup("prod", mode, {*Cidr::parse("10.10.0.0/16"), *Cidr::parse("10.11.0.0/16")},
                         {{"t1", "cgt1", 100}, {"t2", "cgt2", 200}}, o);
  }
  Clock::time_point at(int ms) { return t0_ + milliseconds(ms); }
  // Both installed and answering at t=0.
  void upBoth(FailoverGroup& g) {
    g.setChildSa("t1", true, at(0));
    g.setChildSa("t2", true, at(0));
    g.probeAnswered("t1", microseconds(500), at(0));
    g.probeAnswered("t2", microseconds(700), at(0));
  }
  static std::vector<std::string> devs(const Route& r) {
    std::vector<std::string> out;
    for (const auto& h : r.nexthops) out.push_back(h.device);
    return out;
  }
  Clock::time_point t0_ = Clock::time_point() + std::chrono::hours(1);
};

TEST_F(FailoverTest, NothingBeforeAnyTunnelIsHealthy) {
  auto g = make(config::VpnMode::kActiveStandby);
  EXPECT_FALSE(g.takeRouteChange());
  g.setChildSa("t1", true, at(0));  // installed, no probe answered yet
  EXPECT_FALSE(g.takeRouteChange());
  EXPECT_TRUE(g.activePath().empty());
  g.probeAnswered("t2", microseconds(1), at(1));  // answers but no CHILD_SA
  EXPECT_FALSE(g.takeRouteChange());
}

TEST_F(FailoverTest, ActiveStandbyPicksLowestPriorityOneRoutePerRemoteNetwork) {
  auto g = make(config::VpnMode::kActiveStandby);
  upBoth(g);
  auto routes = g.takeRouteChange();
  ASSERT_TRUE(routes);
  ASSERT_EQ(routes->size(), 2u);
  EXPECT_EQ((*routes)[0].destination.toString(), "10.10.0.0/16");
  EXPECT_EQ((*routes)[1].destination.toString(), "10.11.0.0/16");
  EXPECT_EQ(devs((*routes)[0]), std::vector<std::string>{"cgt1"});
  EXPECT_EQ(g.activePath(), std::vector<std::string>{"t1"});
  EXPECT_EQ(g.switches(), 1u);
  EXPECT_FALSE(g.takeRouteChange());  // no change, no new routes
}

TEST_F(FailoverTest, ThreeMissesMeanDownTwoDoNot) {
  auto g = make(config::VpnMode::kActiveStandby);
  upBoth(g);
  (void)g.takeRouteChange();
  g.probeMissed("t1", at(200));
  g.probeMissed("t1", at(400));
  EXPECT_FALSE(g.takeRouteChange());
  EXPECT_TRUE(g.status()[0].healthy);
  g.probeMissed("t1", at(600));
  auto routes = g.takeRouteChange();
  ASSERT_TRUE(routes);
  EXPECT_EQ(devs((*routes)[0]), std::vector<std::string>{"cgt2"});
  EXPECT_EQ(g.switches(), 2u);
  EXPECT_FALSE(g.status()[0].healthy);
  EXPECT_EQ(g.status()[0].consecutive_misses, 3u);
}

TEST_F(FailoverTest, AnswerResetsMissCount) {
  auto g = make(config::VpnMode::kActiveStandby);
  upBoth(g);
  (void)g.takeRouteChange();
  g.probeMissed("t1", at(200));
  g.probeMissed("t1", at(400));
  g.probeAnswered("t1", microseconds(300), at(600));
  g.probeMissed("t1", at(800));
  g.probeMissed("t1", at(1000));
  EXPECT_FALSE(g.takeRouteChange());
  EXPECT_EQ(g.activePath(), std::vector<std::string>{"t1"});
}

TEST_F(FailoverTest, ChildSaRemovalIsImmediateFailover) {
  auto g = make(config::VpnMode::kActiveStandby);
  upBoth(g);
  (void)g.takeRouteChange();
  g.setChildSa("t1", false, at(100));
  EXPECT_EQ(g.activePath(), std::vector<std::string>{"t2"});
  // Reinstalled: needs a probe answer before it counts as healthy again.
  g.setChildSa("t1", true, at(200));
  EXPECT_FALSE(g.status()[0].healthy);
}

TEST_F(FailoverTest, FailbackOnlyAfterHoldDown) {
  auto g = make(config::VpnMode::kActiveStandby, milliseconds(10000));
  upBoth(g);
  (void)g.takeRouteChange();
  for (int i = 1; i <= 3; ++i) g.probeMissed("t1", at(200 * i));
  (void)g.takeRouteChange();
  g.probeAnswered("t1", microseconds(400), at(5000));  // healthy again at 5 s
  EXPECT_TRUE(g.status()[0].healthy);
  g.tick(at(14999));
  EXPECT_EQ(g.activePath(), std::vector<std::string>{"t2"});
  EXPECT_FALSE(g.takeRouteChange());
  g.tick(at(15000));
  EXPECT_EQ(g.activePath(), std::vector<std::string>{"t1"});
  auto routes = g.takeRouteChange();
  ASSERT_TRUE(routes);
  EXPECT_EQ(devs((*routes)[1]), std::vector<std::string>{"cgt1"});
  EXPECT_EQ(g.switches(), 3u);
}

TEST_F(FailoverTest, FlapDuringHoldDownRestartsIt) {
  auto g = make(config::VpnMode::kActiveStandby, milliseconds(10000));
  upBoth(g);
  for (int i = 1; i <= 3; ++i) g.probeMissed("t1", at(200 * i));
  g.probeAnswered("t1", microseconds(400), at(1000));
  for (int i = 1; i <= 3; ++i) g.probeMissed("t1", at(1000 + 200 * i));
  g.probeAnswered("t1", microseconds(400), at(3000));
  g.tick(at(12000));  // 11 s after the first recovery, 9 s after the second
  EXPECT_EQ(g.activePath(), std::vector<std::string>{"t2"});
  g.tick(at(13000));
  EXPECT_EQ(g.activePath(), std::vector<std::string>{"t1"});
}

TEST_F(FailoverTest, HoldDownNeverBlocksTheOnlyHealthyTunnel) {
  auto g = make(config::VpnMode::kActiveStandby, milliseconds(10000));
  upBoth(g);
  for (int i = 1; i <= 3; ++i) g.probeMissed("t1", at(200 * i));
  g.probeAnswered("t1", microseconds(400), at(1000));  // in hold-down
  for (int i = 1; i <= 3; ++i) g.probeMissed("t2", at(1000 + 200 * i));
  EXPECT_EQ(g.activePath(), std::vector<std::string>{"t1"});
}

TEST_F(FailoverTest, AllDownKeepsTheLastRoutes) {
  auto g = make(config::VpnMode::kActiveStandby);
  upBoth(g);
  (void)g.takeRouteChange();
  for (int i = 1; i <= 3; ++i) g.probeMissed("t1", at(200 * i));
  (void)g.takeRouteChange();
  for (int i = 1; i <= 3; ++i) g.probeMissed("t2", at(1000 + 200 * i));
  EXPECT_FALSE(g.takeRouteChange());
  EXPECT_EQ(g.activePath(), std::vector<std::string>{"t2"});
  ASSERT_EQ(g.desiredRoutes().size(), 2u);
  EXPECT_EQ(devs(g.desiredRoutes()[0]), std::vector<std::string>{"cgt2"});
}

TEST_F(FailoverTest, EcmpUsesAllHealthyTunnels) {
  auto g = make(config::VpnMode::kEcmp);
  upBoth(g);
  auto routes = g.takeRouteChange();
  ASSERT_TRUE(routes);
  EXPECT_EQ(devs((*routes)[0]), (std::vector<std::string>{"cgt1", "cgt2"}));
  for (int i = 1; i <= 3; ++i) g.probeMissed("t2", at(200 * i));
  routes = g.takeRouteChange();
  ASSERT_TRUE(routes);
  EXPECT_EQ(devs((*routes)[0]), std::vector<std::string>{"cgt1"});
  g.probeAnswered("t2", microseconds(1), at(2000));
  g.tick(at(11999));
  EXPECT_EQ(g.activePath().size(), 1u);
  g.tick(at(12000));
  EXPECT_EQ(g.activePath().size(), 2u);
}

TEST_F(FailoverTest, EqualPrioritiesBreakTiesByName) {
  FailoverGroup g("v", config::VpnMode::kActiveStandby, {*Cidr::parse("10.10.0.0/16")},
                  {{"b", "cgt2", 100}, {"a", "cgt1", 100}});
  g.setChildSa("b", true, at(0));
  g.setChildSa("a", true, at(0));
  g.probeAnswered("b", microseconds(1), at(0));
  g.probeAnswered("a", microseconds(1), at(0));
  EXPECT_EQ(g.activePath(), std::vector<std::string>{"a"});
}

TEST_F(FailoverTest, StatusReportsRttAndLoss) {
  auto g = make(config::VpnMode::kActiveStandby);
  upBoth(g);
  g.probeMissed("t2", at(200));
  g.probeAnswered("t2", microseconds(900), at(400));
  g.probeMissed("t2", at(600));
  auto st = g.status();
  EXPECT_EQ(st[1].probes_sent, 4u);
  EXPECT_EQ(st[1].probes_answered, 2u);
  EXPECT_DOUBLE_EQ(st[1].loss_percent, 50.0);
  ASSERT_TRUE(st[1].rtt_last);
  EXPECT_EQ(st[1].rtt_last->count(), 900);
  EXPECT_EQ(st[1].rtt_avg->count(), (700 * 7 + 900) / 8);
  EXPECT_TRUE(st[0].active);
  EXPECT_FALSE(st[1].active);
  EXPECT_FALSE(g.probeMissed("nope", at(1)));
}

TEST_F(FailoverTest, FromConfigTakesInterfacesAndPriorities) {
  config::Vpn vpn;
  vpn.name = "prod";
  vpn.mode = config::VpnMode::kEcmp;
  vpn.remote_networks = {*Cidr::parse("10.10.0.0/16")};
  config::Tunnel t1;
  t1.name = "x1";
  t1.interface = "cgt7";
  t1.priority = 300;
  config::Tunnel t2 = t1;
  t2.name = "x2";
  t2.interface = "cgt8";
  t2.priority = 5;
  vpn.tunnels = {t1, t2};
  auto g = FailoverGroup::fromConfig(vpn);
  auto st = g.status();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].interface, "cgt7");
  EXPECT_EQ(st[1].priority, 5u);
}

}  // namespace
}  // namespace crossgate::routing
