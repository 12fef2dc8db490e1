#include <gtest/gtest.h>

#include <algorithm>

#include "crossgate/mgmt/nftables.h"

namespace crossgate::routing {
namespace {

FirewallPlan samplePlan() {
  FirewallPlan p;
  p.wan_interface = "eth0";
  p.tunnels = {{"cgt1", 1379, {*Cidr::parse("10.20.0.0/16")}},
               {"cgt2", 1300, {*Cidr::parse("10.20.0.0/16")}}};
  p.snat = true;
  p.snat_address = *IpAddress::parse("10.20.0.4");
  p.snat_destinations = {*Cidr::parse("10.20.1.0/24")};
  return p;
}

config::Config sampleConfig() {
  config::Config c;
  c.appliance.wan_interface = "eth0";
  c.appliance.lan_address = IpAddress::parse("10.20.0.4");
  config::Vpn v;
  v.local_networks = {*Cidr::parse("10.20.0.0/16")};
  config::Tunnel t;
  t.interface = "cgt1";
  v.tunnels = {t};
  c.vpns = {v};
  c.nat.private_endpoint_subnets = {*Cidr::parse("10.20.1.0/24")};
  return c;
}

size_t countContaining(const std::vector<std::string>& lines, const std::string& needle) {
  return static_cast<size_t>(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.find(needle) != std::string::npos;
  }));
}

TEST(PlanFirewall, FromConfig) {
  auto plan = planFirewall(sampleConfig());
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->wan_interface, "eth0");
  ASSERT_EQ(plan->tunnels.size(), 1u);
  EXPECT_EQ(plan->tunnels[0].tcp_mss, 1379);
  EXPECT_TRUE(plan->snat);
  EXPECT_EQ(plan->snat_address.toString(), "10.20.0.4");
}

TEST(PlanFirewall, ErrorsNameTheKey) {
  auto c = sampleConfig();
  c.appliance.lan_address.reset();
  auto plan = planFirewall(c);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("appliance.lan_address"), std::string::npos);
  c = sampleConfig();
  c.vpns[0].tunnels[0].tcp_mss = 100;
  plan = planFirewall(c);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("vpn[0].tunnel[0].tcp_mss"), std::string::npos);
  c = sampleConfig();
  c.nat.snat = false;
  c.appliance.lan_address.reset();
  plan = planFirewall(c);
  ASSERT_TRUE(plan);
  EXPECT_FALSE(plan->snat);
}

TEST(NftBatch, ReplaceIsOneBatchWithEveryRule) {
  auto batch = buildReplaceBatch(samplePlan(), 100);
  auto lines = describeBatch(batch.bytes);
  ASSERT_TRUE(lines) << lines.error().message;
  ASSERT_GE(lines->size(), 4u);
  EXPECT_EQ(lines->front(), "batch begin");
  EXPECT_EQ(lines->back(), "batch end");
  EXPECT_EQ((*lines)[1], "table add crossgate");
  EXPECT_EQ((*lines)[2], "table delete crossgate");
  EXPECT_EQ((*lines)[3], "table add crossgate");
  EXPECT_EQ(batch.acks, lines->size() - 2);
  EXPECT_EQ(countContaining(*lines, "chain "), 4u);
  // MSS: exthdr tcpopt load + write for both directions of both tunnels.
  EXPECT_EQ(countContaining(*lines, "[ exthdr load tcpopt 2b @ 2 + 2"), 4u);
  EXPECT_EQ(countContaining(*lines, "[ exthdr write tcpopt reg 1 => 2b @ 2 + 2"), 4u);
  EXPECT_EQ(countContaining(*lines, "0x00006305"), 2u);  // htons(1379)
  EXPECT_EQ(countContaining(*lines, "0x00001405"), 2u);  // htons(1300)
  EXPECT_EQ(countContaining(*lines, "[ nat snat ip addr_min reg 1"), 2u);
  EXPECT_EQ(countContaining(*lines, "rule inet crossgate input"), 14u);
  EXPECT_EQ(countContaining(*lines, "rule inet crossgate forward"), 5u);
}

TEST(NftBatch, NoSnatRulesWhenOff) {
  auto plan = samplePlan();
  plan.snat = false;
  auto lines = describeBatch(buildReplaceBatch(plan, 1).bytes);
  ASSERT_TRUE(lines);
  EXPECT_EQ(countContaining(*lines, "nat snat"), 0u);
}

TEST(NftBatch, DescribeRejectsTruncatedBytes) {
  auto batch = buildReplaceBatch(samplePlan(), 1);
  batch.bytes.resize(batch.bytes.size() - 3);
  EXPECT_FALSE(describeBatch(batch.bytes));
}

TEST(Firewall, ApplyRemoveAndReapplyAfterDeletion) {
  auto transport = std::make_unique<RecordingNftTransport>();
  auto* rec = transport.get();
  Firewall fw(std::move(transport));
  EXPECT_FALSE(*fw.ensure());  // nothing applied yet: nothing to restore
  ASSERT_TRUE(fw.apply(samplePlan()));
  EXPECT_TRUE(*fw.present());
  EXPECT_FALSE(*fw.ensure());
  rec->setTablePresent(false);  // someone ran `nft delete table inet crossgate`
  EXPECT_TRUE(*fw.ensure());
  EXPECT_TRUE(*fw.present());
  EXPECT_EQ(fw.reapplied(), 1u);
  EXPECT_EQ(rec->batches().size(), 2u);
  ASSERT_TRUE(fw.remove());
  EXPECT_FALSE(*fw.present());
  EXPECT_FALSE(*fw.ensure());  // removed on purpose: stays removed
}

}  // namespace
}  // namespace crossgate::routing
