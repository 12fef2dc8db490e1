#include "crossgate/mgmt/netlink.h"

#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <vector>

#include "netlink_wire.h"

namespace crossgate::routing {
namespace {

std::vector<uint8_t> routeBytes(const Route& route, const std::vector<int>& indexes) {
  std::vector<uint8_t> buf(4096, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_NEWROUTE;
  buildRouteMessage(nlh, route, indexes);
  buf.resize(nlh->nlmsg_len);
  return buf;
}

TEST(RouteMessage, SingleNexthopRoundTrips) {
  Route r{*Cidr::parse("10.10.0.0/16"),
          kMainTable,
          20,
          4,
          {{"cgt1", IpAddress::parse("169.254.44.1"), 1}}};
  auto bytes = routeBytes(r, {7});
  auto parsed = parseRouteDump(bytes.data(), bytes.size());
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  const auto& e = (*parsed)[0];
  EXPECT_EQ(e.destination.toString(), "10.10.0.0/16");
  EXPECT_EQ(e.table, kMainTable);
  EXPECT_EQ(e.metric, 20u);
  ASSERT_EQ(e.hops.size(), 1u);
  EXPECT_EQ(e.hops[0].ifindex, 7);
  EXPECT_EQ(e.hops[0].gateway->toString(), "169.254.44.1");
}

TEST(RouteMessage, MultipathIsOneMessageWithRtaMultipath) {
  Route r{*Cidr::parse("10.10.0.0/16"),
          1000,
          0,
          4,
          {{"cgt1", std::nullopt, 1}, {"cgt2", std::nullopt, 3}}};
  auto bytes = routeBytes(r, {7, 9});
  auto parsed = parseRouteDump(bytes.data(), bytes.size());
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  const auto& e = (*parsed)[0];
  EXPECT_EQ(e.table, 1000u);  // RTA_TABLE beyond the 8-bit field
  ASSERT_EQ(e.hops.size(), 2u);
  EXPECT_EQ(e.hops[0].ifindex, 7);
  EXPECT_EQ(e.hops[1].ifindex, 9);
  EXPECT_EQ(e.hops[1].weight, 3);
  EXPECT_FALSE(e.hops[0].gateway);
}

TEST(RouteDump, RejectsBadLengthsAndSkipsOtherTypes) {
  Route r{*Cidr::parse("10.10.0.0/16"), kMainTable, 0, 4, {{"x", std::nullopt, 1}}};
  auto bytes = routeBytes(r, {3});
  // Truncated: header claims more than there is.
  EXPECT_FALSE(parseRouteDump(bytes.data(), bytes.size() - 4));
  // A bad attribute length inside.
  auto broken = bytes;
  uint16_t huge = 400;
  std::memcpy(broken.data() + sizeof(nlmsghdr) + sizeof(rtmsg), &huge, 2);
  EXPECT_FALSE(parseRouteDump(broken.data(), broken.size()));
  // Another message type is skipped; NLMSG_DONE ends the walk.
  auto other = bytes;
  reinterpret_cast<nlmsghdr*>(other.data())->nlmsg_type = RTM_NEWLINK;
  auto parsed = parseRouteDump(other.data(), other.size());
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->empty());
  EXPECT_TRUE(parseRouteDump(nullptr, 0)->empty());
}

TEST(ReplyScan, ErrorCarriesErrnoAndExtackMessage) {
  std::vector<uint8_t> buf(512, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = NLMSG_ERROR;
  nlh->nlmsg_flags = NLM_F_ACK_TLVS | NLM_F_CAPPED;
  nlh->nlmsg_seq = 42;
  auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nlmsgerr)));
  err->error = -22;
  err->msg.nlmsg_len = sizeof(nlmsghdr);
  mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "Nexthop device is not up");
  auto scan = scanReplies(buf.data(), nlh->nlmsg_len, 42, 0, {});
  EXPECT_EQ(scan.error, 22);
  EXPECT_EQ(scan.extack, "Nexthop device is not up");
  EXPECT_EQ(errnoToErrc(scan.error), Errc::kInvalidArgument);
  EXPECT_NE(describeNetlinkError(scan.error, scan.extack).find("Nexthop device is not up"),
            std::string::npos);
  // Other sequence numbers are not ours.
  EXPECT_EQ(scanReplies(buf.data(), nlh->nlmsg_len, 43, 0, {}).error, 0);
  // An ack.
  err->error = 0;
  auto ack = scanReplies(buf.data(), nlh->nlmsg_len, 42, 0, {});
  EXPECT_TRUE(ack.done);
  EXPECT_EQ(ack.acks, 1u);
  // Truncated bytes are an error, not a crash.
  EXPECT_EQ(scanReplies(buf.data(), nlh->nlmsg_len - 30, 42, 0, {}).error, EBADMSG);
}

TEST(RecordingNetlink, RecordsRequestsAndKeepsTheTable) {
  RecordingNetlink nl;
  nl.addLink("cgt1", 5);
  nl.addLink("cgt2", 6);
  Route r{*Cidr::parse("10.10.0.0/16"), kMainTable, 0, 4, {{"cgt1", std::nullopt, 1}}};
  ASSERT_TRUE(nl.replaceRoute(r));
  r.nexthops = {{"cgt2", std::nullopt, 1}};
  ASSERT_TRUE(nl.replaceRoute(r));
  ASSERT_EQ(nl.routes().size(), 1u);
  EXPECT_EQ(nl.routes().begin()->second.nexthops[0].device, "cgt2");
  EXPECT_EQ(nl.requests().size(), 2u);
  EXPECT_EQ(nl.requests()[1].op, "route-replace");
  auto dump = nl.dumpRoutes(kMainTable, 2);
  ASSERT_TRUE(dump);
  EXPECT_EQ((*dump)[0].hops[0].ifindex, 6);

  Route bad = r;
  bad.nexthops = {{"nope", std::nullopt, 1}};
  auto st = nl.replaceRoute(bad);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kNotFound);

  nl.failNext(makeError(Errc::kIo, "boom"));
  EXPECT_FALSE(nl.setLinkUp("cgt1", false));
  EXPECT_TRUE(nl.setLinkUp("cgt1", false));
  EXPECT_FALSE(nl.link("cgt1")->up);
  ASSERT_TRUE(nl.setLinkMtu("cgt1", 1436));
  EXPECT_EQ(nl.link("cgt1")->mtu, 1436u);

  Rule rule{2, 100, 200, 7, 0xff};
  ASSERT_TRUE(nl.addRule(rule));
  EXPECT_EQ(nl.addRule(rule).error().code, Errc::kAlreadyExists);
  ASSERT_TRUE(nl.deleteRule(rule));
  EXPECT_EQ(nl.deleteRule(rule).error().code, Errc::kNotFound);
  ASSERT_TRUE(nl.deleteRoute(r));
  EXPECT_FALSE(nl.deleteRoute(r));
  EXPECT_TRUE(nl.addAddress("cgt1", *Cidr::parse("169.254.44.2/30", true)));
  EXPECT_FALSE(nl.addAddress("cgt9", *Cidr::parse("169.254.44.2/30", true)));
}

}  // namespace
}  // namespace crossgate::routing
