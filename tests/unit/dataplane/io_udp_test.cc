// The outer UDP sockets on loopback: batched receive with GRO, GSO trains, the fallback to
// single datagrams when GSO is off, IKE sends with DSCP, and the local address from IP_PKTINFO.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <cstring>
#include <vector>

#include "udp_io.h"

namespace crossgate::dataplane {
namespace {

bool waitReadable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 2000) == 1;
}

// Receives until `want` datagrams arrived (counting GRO segments) or nothing more comes.
std::vector<std::vector<uint8_t>> receiveDatagrams(UdpSocket& sock, size_t want) {
  UdpRxBatch rx(16);
  std::vector<std::vector<uint8_t>> out;
  while (out.size() < want && waitReadable(sock.fd())) {
    const int n = rx.receive(sock);
    for (int i = 0; i < n; ++i) {
      const auto& m = rx.msg(static_cast<size_t>(i));
      EXPECT_EQ(m.remote.family, 4);
      EXPECT_EQ(m.local.family, 4);
      EXPECT_EQ(0, std::memcmp(m.local.addr, "\x7f\x00\x00\x01", 4));  // IP_PKTINFO
      for (uint32_t off = 0; off < m.len; off += m.segment) {
        out.emplace_back(m.data + off, m.data + off + std::min(m.segment, m.len - off));
      }
    }
  }
  return out;
}

class UdpIoTest : public ::testing::TestWithParam<bool> {};

TEST_P(UdpIoTest, GsoTrainsArriveAsTheirDatagrams) {
  const bool offloads = GetParam();
  UdpOptions o;
  o.gso = offloads;
  o.gro = offloads;
  o.buffer_bytes = 1 << 20;
  auto lo = *IpAddress::parse("127.0.0.1");
  auto rx = UdpSocket::open(lo, 0, o);
  auto tx = UdpSocket::open(lo, 0, o);
  ASSERT_TRUE(rx.ok()) << rx.error().message;
  ASSERT_TRUE(tx.ok()) << tx.error().message;
  EXPECT_EQ((*tx)->gsoEnabled(), offloads);
  // Two trains of 1400-byte datagrams (the last one shorter) and one single datagram.
  std::vector<uint8_t> train(1400 * 9 + 600);
  for (size_t i = 0; i < train.size(); ++i) {
    train[i] = static_cast<uint8_t>(i / 1400 + 1);
  }
  std::vector<uint8_t> single(300, 0xab);
  UdpTxBatch batch(8);
  const cg_dp_addr to = (*rx)->local();
  ASSERT_TRUE(batch.add((*tx)->local(), to, train.data(), static_cast<uint32_t>(train.size()), 1400));
  ASSERT_TRUE(batch.add((*tx)->local(), to, single.data(), 300, 0));
  ASSERT_TRUE(batch.add((*tx)->local(), to, train.data(), 2800, 1400));
  EXPECT_EQ(batch.flush(**tx), 0u);
  auto got = receiveDatagrams(**rx, 13);
  ASSERT_EQ(got.size(), 13u);
  for (size_t i = 0; i < 9; ++i) {
    EXPECT_EQ(got[i].size(), 1400u);
    EXPECT_EQ(got[i][0], i + 1);
  }
  EXPECT_EQ(got[9].size(), 600u);
  EXPECT_EQ(got[10], single);
  EXPECT_EQ(got[11].size(), 1400u);
  EXPECT_EQ(got[12].size(), 1400u);
}

INSTANTIATE_TEST_SUITE_P(Offloads, UdpIoTest, ::testing::Values(true, false));

TEST(UdpIo, GsoTurnedOffAtRunTimeFallsBackToSingleDatagrams) {
  auto lo = *IpAddress::parse("127.0.0.1");
  auto rx = UdpSocket::open(lo, 0, {});
  auto tx = UdpSocket::open(lo, 0, {});
  ASSERT_TRUE(rx.ok() && tx.ok());
  (*tx)->disableGso();
  EXPECT_FALSE((*tx)->gsoEnabled());
  std::vector<uint8_t> train(1000 * 3, 7);
  UdpTxBatch batch(2);
  ASSERT_TRUE(batch.add((*tx)->local(), (*rx)->local(), train.data(), 3000, 1000));
  EXPECT_EQ(batch.flush(**tx), 0u);
  auto got = receiveDatagrams(**rx, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].size(), 1000u);
}

TEST(UdpIo, SendOneCarriesThePayloadUnchanged) {
  auto lo = *IpAddress::parse("127.0.0.1");
  auto rx = UdpSocket::open(lo, 0, {});
  auto tx = UdpSocket::open(*IpAddress::parse("0.0.0.0"), 0, {});
  ASSERT_TRUE(rx.ok() && tx.ok());
  EXPECT_TRUE((*tx)->isWildcard());
  std::vector<uint8_t> ike{0, 0, 0, 0, 0x21, 0x20, 0x22, 0x08};
  ASSERT_TRUE((*tx)->sendOne(dpAddrOf(lo, 0), (*rx)->local(), 46, ike));
  auto got = receiveDatagrams(**rx, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], ike);
  EXPECT_EQ(classifyUdp(4500, got[0]), UdpKind::kIke);
}

TEST(UdpIo, AddressConversionsRoundTrip) {
  auto a = dpAddrOf(*IpAddress::parse("198.51.100.7"), 4500);
  sockaddr_storage ss{};
  EXPECT_EQ(fromDpAddr(a, &ss), sizeof(sockaddr_in));
  EXPECT_TRUE(sameAddrPort(toDpAddr(ss), a));
  auto b = dpAddrOf(*IpAddress::parse("2001:db8::1"), 500);
  EXPECT_EQ(fromDpAddr(b, &ss), sizeof(sockaddr_in6));
  EXPECT_TRUE(sameAddrPort(toDpAddr(ss), b));
  EXPECT_FALSE(sameAddr(a, b));
}

}  // namespace
}  // namespace crossgate::dataplane
