#include "crossgate/mgmt/prober.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace crossgate::routing {
namespace {

std::vector<uint8_t> echoReply(uint16_t id, uint16_t seq, uint8_t type = 0) {
  return {type,
          0,
          0,
          0,
          static_cast<uint8_t>(id >> 8),
          static_cast<uint8_t>(id),
          static_cast<uint8_t>(seq >> 8),
          static_cast<uint8_t>(seq),
          'c',
          'g'};
}

std::vector<uint8_t> withIp(std::vector<uint8_t> icmp, uint8_t ihl = 5, uint8_t proto = 1) {
  std::vector<uint8_t> p(static_cast<size_t>(ihl) * 4, 0);
  p[0] = static_cast<uint8_t>(0x40 | ihl);
  p[9] = proto;
  p.insert(p.end(), icmp.begin(), icmp.end());
  return p;
}

TEST(EchoReply, DatagramSocketForm) {
  auto r = echoReply(0x1234, 77);
  EXPECT_EQ(parseEchoReply(r.data(), r.size(), false, 0), 77);
  auto req = echoReply(0x1234, 77, 8);  // an echo request is not a reply
  EXPECT_FALSE(parseEchoReply(req.data(), req.size(), false, 0));
  EXPECT_FALSE(parseEchoReply(r.data(), 7, false, 0));
}

TEST(EchoReply, RawSocketFormChecksIpHeaderAndId) {
  auto r = withIp(echoReply(0x1234, 5));
  EXPECT_EQ(parseEchoReply(r.data(), r.size(), true, 0x1234), 5);
  EXPECT_FALSE(parseEchoReply(r.data(), r.size(), true, 0x1235));  // someone else's ping
  auto opts = withIp(echoReply(0x1234, 6), 6);
  EXPECT_EQ(parseEchoReply(opts.data(), opts.size(), true, 0x1234), 6);
  auto udp = withIp(echoReply(0x1234, 5), 5, 17);
  EXPECT_FALSE(parseEchoReply(udp.data(), udp.size(), true, 0x1234));
  auto bad_ihl = withIp(echoReply(0x1234, 5), 15);
  bad_ihl.resize(30);
  EXPECT_FALSE(parseEchoReply(bad_ihl.data(), bad_ihl.size(), true, 0x1234));
  EXPECT_FALSE(parseEchoReply(r.data(), 19, true, 0x1234));
}

TEST(IcmpProber, RejectsIpv6Targets) {
  boost::asio::io_context io;
  IcmpProber p(io, {{"t1", "lo", *IpAddress::parse("2001:db8::1")}}, {}, [](auto&&...) {});
  auto st = p.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("IPv4"), std::string::npos);
}

// A tunnel interface that does not exist (yet): misses, no error, no crash; once privileges
// allow ICMP sockets at all. Without them start() names what is missing.
TEST(IcmpProber, MissingInterfaceCountsMissesAndLoopbackAnswers) {
  boost::asio::io_context io;
  int missed = 0, answered_lo = 0, missed_lo = 0;
  IcmpProber p(io,
               {{"absent", "cgtrdnone0", *IpAddress::parse("169.254.44.1")},
                {"lo", "lo", *IpAddress::parse("127.0.0.1")}},
               ProbeOptions{std::chrono::milliseconds(20)},
               [&](const std::string& tunnel, bool answered, std::chrono::microseconds) {
                 if (tunnel == "absent") {
                   EXPECT_FALSE(answered);
                   ++missed;
                 } else {
                   (answered ? answered_lo : missed_lo)++;
                 }
               });
  auto st = p.start();
  if (!st) {
    EXPECT_EQ(st.error().code, Errc::kPermissionDenied);
    EXPECT_NE(st.error().message.find("CAP_NET_RAW"), std::string::npos) << st.error().message;
    EXPECT_FALSE(IcmpProber::checkPrivileges());
    return;
  }
  EXPECT_TRUE(IcmpProber::checkPrivileges());
  io.run_for(std::chrono::milliseconds(300));
  p.stop();
  EXPECT_GE(missed, 5);
  EXPECT_GE(answered_lo, 5);
  EXPECT_LE(missed_lo, 1);
}

TEST(IcmpProber, DestroyedWhileTheLoopRunsOn) {
  boost::asio::io_context io;
  int calls = 0;
  auto p = std::make_unique<IcmpProber>(
      io, std::vector<ProbeTarget>{{"lo", "lo", *IpAddress::parse("127.0.0.1")}},
      ProbeOptions{std::chrono::milliseconds(10)}, [&](auto&&...) { ++calls; });
  if (!p->start()) {
    EXPECT_FALSE(IcmpProber::checkPrivileges());
    return;
  }
  io.run_for(std::chrono::milliseconds(50));
  p.reset();  // pending handlers still hold the state; none may call back now
  const int before = calls;
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls, before);
}

}  // namespace
}  // namespace crossgate::routing
