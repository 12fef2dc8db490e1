// Userspace TSO splitting, TCP coalescing (GRO), ICMP "packet too big", IPv4 fragmentation, the
// outer-MTU limit of the TUN -> ESP path and the UDP demultiplexing rule, on hand-built packets.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "esp_test_util.h"
#include "tun_offload.h"
#include "udp_io.h"
#include "workers.h"

namespace crossgate::dataplane {
namespace {

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t rd32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// A reference checksum (RFC 1071), byte by byte.
uint16_t refChecksum(const std::vector<uint8_t>& data) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < data.size(); i += 2) {
    sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  }
  if (data.size() % 2) {
    sum += static_cast<uint32_t>(data.back() << 8);
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

bool tcpChecksumOk(const uint8_t* ip, size_t len) {
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  std::vector<uint8_t> pseudo(ip + 12, ip + 20);
  pseudo.push_back(0);
  pseudo.push_back(6);
  pseudo.push_back(static_cast<uint8_t>((len - ihl) >> 8));
  pseudo.push_back(static_cast<uint8_t>(len - ihl));
  pseudo.insert(pseudo.end(), ip + ihl, ip + len);
  return refChecksum(pseudo) == 0xffff;
}

bool ipv4HeaderOk(const uint8_t* ip) {
  return refChecksum(std::vector<uint8_t>(ip, ip + 20)) == 0xffff;
}

// IPv4/TCP packet with `payload` bytes (pattern i & 0xff from `first`), flags ACK|extra.
std::vector<uint8_t> tcp4(uint32_t seq, size_t payload, uint16_t id, uint8_t extra_flags = 0,
                          uint8_t first = 0) {
  std::vector<uint8_t> p(20 + 32 + payload);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(p.size() >> 8);
  p[3] = static_cast<uint8_t>(p.size());
  p[4] = static_cast<uint8_t>(id >> 8);
  p[5] = static_cast<uint8_t>(id);
  p[6] = 0x40;  // DF
  p[8] = 64;
  p[9] = 6;
  inet_pton(AF_INET, "10.1.0.1", p.data() + 12);
  inet_pton(AF_INET, "10.2.0.1", p.data() + 16);
  uint8_t* t = p.data() + 20;
  t[0] = 0x9c;  // port 40000
  t[1] = 0x40;
  t[2] = 0x14;  // port 5201
  t[3] = 0x51;
  t[4] = static_cast<uint8_t>(seq >> 24);
  t[5] = static_cast<uint8_t>(seq >> 16);
  t[6] = static_cast<uint8_t>(seq >> 8);
  t[7] = static_cast<uint8_t>(seq);
  t[11] = 99;     // ack
  t[12] = 8 << 4;  // 32-byte header (timestamps)
  t[13] = static_cast<uint8_t>(0x10 | extra_flags);
  t[14] = 0x01;  // window
  t[20] = 1;
  t[21] = 1;
  t[22] = 8;
  t[23] = 10;
  t[27] = 7;  // TSval
  for (size_t i = 0; i < payload; ++i) {
    p[52 + i] = static_cast<uint8_t>(first + i);
  }
  // Valid checksums.
  std::vector<uint8_t> hdr(p.begin(), p.begin() + 20);
  const uint16_t ipc = static_cast<uint16_t>(~refChecksum(hdr));
  p[10] = static_cast<uint8_t>(ipc >> 8);
  p[11] = static_cast<uint8_t>(ipc);
  std::vector<uint8_t> pseudo(p.begin() + 12, p.begin() + 20);
  pseudo.push_back(0);
  pseudo.push_back(6);
  pseudo.push_back(static_cast<uint8_t>((p.size() - 20) >> 8));
  pseudo.push_back(static_cast<uint8_t>(p.size() - 20));
  pseudo.insert(pseudo.end(), p.begin() + 20, p.end());
  const uint16_t tc = static_cast<uint16_t>(~refChecksum(pseudo));
  p[36] = static_cast<uint8_t>(tc >> 8);
  p[37] = static_cast<uint8_t>(tc);
  return p;
}

TEST(IoOffload, ChecksumMatchesReference) {
  std::vector<uint8_t> data(1001);
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<uint8_t>(i * 7 + 3);
  }
  const uint16_t ours = ntohs(csumFold(csumPartial(data.data(), data.size(), 0)));
  EXPECT_EQ(ours, refChecksum(data));
}

TEST(IoOffload, ChecksumMatchesReferenceAtEveryLengthAndAlignment) {
  std::vector<uint8_t> data(300 + 8);
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<uint8_t>(0xff - i * 11);
  }
  for (size_t start = 0; start < 4; ++start) {
    for (size_t len = 0; len <= 300; ++len) {
      const std::vector<uint8_t> part(data.begin() + static_cast<long>(start),
                                      data.begin() + static_cast<long>(start + len));
      const uint16_t ours = ntohs(csumFold(csumPartial(data.data() + start, len, 0)));
      ASSERT_EQ(ours, refChecksum(part)) << "start " << start << " len " << len;
    }
  }
}

TEST(IoOffload, TsoSplitProducesValidSegments) {
  const size_t mss = 1000;
  auto super = tcp4(5000, 3 * mss + 300, 77, 0x08 /* PSH */);
  VnetHdr h{};
  h.flags = kVnetNeedsCsum;
  h.gso_type = kVnetGsoTcpV4;
  h.gso_size = mss;
  h.csum_start = 20;
  h.csum_offset = 16;
  std::vector<uint8_t> out(8 * 2048);
  std::vector<uint32_t> lens(8);
  SplitOut so{out.data(), 2048, 16, 8, lens.data()};
  ASSERT_EQ(tsoSplit(h, super, so), 4);
  size_t offset = 0;
  for (int i = 0; i < 4; ++i) {
    const uint8_t* p = out.data() + static_cast<size_t>(i) * 2048 + 16;
    const size_t payload = i < 3 ? mss : 300;
    EXPECT_EQ(lens[static_cast<size_t>(i)], 52 + payload);
    EXPECT_EQ(rd16(p + 2), 52 + payload);
    EXPECT_EQ(rd16(p + 4), 77 + i);
    EXPECT_TRUE(ipv4HeaderOk(p));
    EXPECT_TRUE(tcpChecksumOk(p, 52 + payload)) << "segment " << i;
    EXPECT_EQ(rd32(p + 24), 5000 + offset);
    EXPECT_EQ((p[33] & 0x08) != 0, i == 3) << "PSH only on the last segment";
    EXPECT_EQ(0, std::memcmp(p + 52, super.data() + 52 + offset, payload));
    offset += payload;
  }
}

TEST(IoOffload, TsoSplitRejectsMalformedFrames) {
  auto super = tcp4(1, 3000, 1);
  VnetHdr h{};
  h.gso_type = kVnetGsoTcpV4;
  h.gso_size = 1000;
  std::vector<uint8_t> out(2 * 2048);
  std::vector<uint32_t> lens(2);
  SplitOut so{out.data(), 2048, 16, 2, lens.data()};
  EXPECT_EQ(tsoSplit(h, super, so), -1);  // 3 segments do not fit in 2 slots
  SplitOut so3{out.data(), 1024, 16, 2, lens.data()};
  h.gso_size = 1500;
  EXPECT_EQ(tsoSplit(h, super, so3), -1);  // segment larger than a slot
  super[3] ^= 1;                           // IP total length no longer matches
  h.gso_size = 1000;
  EXPECT_EQ(tsoSplit(h, std::span<const uint8_t>(super), SplitOut{out.data(), 2048, 16, 4, lens.data()}), -1);
  std::vector<uint8_t> tiny{0x45, 0};
  EXPECT_EQ(tsoSplit(h, tiny, so), -1);
}

TEST(IoOffload, PartialChecksumIsCompleted) {
  auto pkt = tcp4(1, 500, 1);
  // Replace the checksum with the pseudo-header sum, as the kernel hands it over.
  std::vector<uint8_t> pseudo(pkt.begin() + 12, pkt.begin() + 20);
  pseudo.push_back(0);
  pseudo.push_back(6);
  pseudo.push_back(static_cast<uint8_t>((pkt.size() - 20) >> 8));
  pseudo.push_back(static_cast<uint8_t>(pkt.size() - 20));
  const uint16_t ph = refChecksum(pseudo);
  pkt[36] = static_cast<uint8_t>(ph >> 8);
  pkt[37] = static_cast<uint8_t>(ph);
  VnetHdr h{};
  h.flags = kVnetNeedsCsum;
  h.csum_start = 20;
  h.csum_offset = 16;
  std::vector<uint8_t> out(2048);
  uint32_t len = 0;
  ASSERT_EQ(tsoSplit(h, pkt, SplitOut{out.data(), 2048, 0, 1, &len}), 1);
  EXPECT_TRUE(tcpChecksumOk(out.data(), len));
}

struct Captured {
  std::vector<std::vector<uint8_t>> frames;
};
void capture(void* ctx, const uint8_t* frame, size_t len) {
  static_cast<Captured*>(ctx)->frames.emplace_back(frame, frame + len);
}

TEST(IoOffload, CoalescerMergesInOrderSegmentsOfOneFlow) {
  Captured cap;
  TcpCoalescer gro(&capture, &cap);
  const size_t mss = 1000;
  for (int i = 0; i < 5; ++i) {
    auto p = tcp4(100 + static_cast<uint32_t>(i) * mss, i == 4 ? 200 : mss,
                  static_cast<uint16_t>(10 + i), i == 4 ? 0x08 : 0, static_cast<uint8_t>(i * mss));
    gro.add(p.data(), p.size());
  }
  gro.flush();
  ASSERT_EQ(cap.frames.size(), 1u);
  const auto& f = cap.frames[0];
  VnetHdr h;
  std::memcpy(&h, f.data(), sizeof(h));
  EXPECT_EQ(h.gso_type, kVnetGsoTcpV4);
  EXPECT_EQ(h.gso_size, mss);
  EXPECT_EQ(h.flags, kVnetNeedsCsum);
  EXPECT_EQ(h.csum_start, 20);
  EXPECT_EQ(h.hdr_len, 52);
  const uint8_t* ip = f.data() + sizeof(VnetHdr);
  EXPECT_EQ(rd16(ip + 2), 52 + 4 * mss + 200);
  EXPECT_TRUE(ipv4HeaderOk(ip));
  EXPECT_NE(ip[33] & 0x08, 0);  // PSH of the last segment kept
  for (size_t i = 0; i < 4 * mss + 200; ++i) {
    ASSERT_EQ(ip[52 + i], static_cast<uint8_t>(i)) << i;
  }
  EXPECT_EQ(gro.merged(), 4u);
  // Splitting the merged frame again restores valid segments (round trip).
  std::vector<uint8_t> out(8 * 2048);
  std::vector<uint32_t> lens(8);
  ASSERT_EQ(tsoSplit(h, {ip, f.size() - sizeof(VnetHdr)}, SplitOut{out.data(), 2048, 0, 8, lens.data()}), 5);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(tcpChecksumOk(out.data() + i * 2048, lens[i]));
  }
}

TEST(IoOffload, CoalescerKeepsGapsFlagsAndOtherTrafficApart) {
  Captured cap;
  TcpCoalescer gro(&capture, &cap);
  auto a = tcp4(100, 1000, 1);
  auto gap = tcp4(5000, 1000, 2);  // sequence gap
  auto syn = tcp4(6000, 0, 3, 0x02);
  std::vector<uint8_t> udp(28, 0);
  udp[0] = 0x45;
  udp[3] = 28;
  udp[9] = 17;
  gro.add(a.data(), a.size());
  gro.add(gap.data(), gap.size());
  gro.add(syn.data(), syn.size());
  gro.add(udp.data(), udp.size());
  gro.flush();
  ASSERT_EQ(cap.frames.size(), 4u);
  for (const auto& f : cap.frames) {
    VnetHdr h;
    std::memcpy(&h, f.data(), sizeof(h));
    EXPECT_EQ(h.gso_type, kVnetGsoNone);
  }
  EXPECT_EQ(gro.merged(), 0u);
  // Disabled: everything passes through unchanged.
  Captured cap2;
  TcpCoalescer off(&capture, &cap2);
  off.setEnabled(false);
  auto b = tcp4(1100, 1000, 2);
  off.add(a.data(), a.size());
  off.add(b.data(), b.size());
  off.flush();
  EXPECT_EQ(cap2.frames.size(), 2u);
}

TEST(IoOffload, PacketTooBigQuotesTheOffender) {
  auto pkt = tcp4(1, 1400, 1);
  uint8_t src[4];
  inet_pton(AF_INET, "169.254.44.2", src);
  std::vector<uint8_t> out(1500);
  const size_t len = buildPacketTooBig(pkt, 1436, src, out);
  ASSERT_EQ(len, 20u + 8 + 28);
  EXPECT_TRUE(ipv4HeaderOk(out.data()));
  EXPECT_EQ(out[9], 1);
  EXPECT_EQ(0, std::memcmp(out.data() + 16, pkt.data() + 12, 4));  // back to the sender
  EXPECT_EQ(out[20], 3);
  EXPECT_EQ(out[21], 4);
  EXPECT_EQ(rd16(out.data() + 26), 1436);
  EXPECT_EQ(refChecksum(std::vector<uint8_t>(out.begin() + 20, out.begin() + static_cast<long>(len))), 0xffff);
  EXPECT_TRUE(ipDontFragment(pkt));
}

TEST(IoOffload, Ipv4FragmentationCoversThePayload) {
  auto pkt = tcp4(1, 3000, 9);
  pkt[6] = 0;  // clear DF
  std::vector<uint8_t> hdr(pkt.begin(), pkt.begin() + 20);
  hdr[10] = hdr[11] = 0;
  const uint16_t c = static_cast<uint16_t>(~refChecksum(hdr));
  pkt[10] = static_cast<uint8_t>(c >> 8);
  pkt[11] = static_cast<uint8_t>(c);
  EXPECT_FALSE(ipDontFragment(pkt));
  std::vector<uint8_t> out(4 * 2048);
  std::vector<uint32_t> lens(4);
  const int n = ipv4Fragment(pkt, 1400, SplitOut{out.data(), 2048, 0, 4, lens.data()});
  ASSERT_EQ(n, 3);
  std::vector<uint8_t> joined;
  for (int i = 0; i < n; ++i) {
    const uint8_t* f = out.data() + static_cast<size_t>(i) * 2048;
    EXPECT_TRUE(ipv4HeaderOk(f));
    EXPECT_LE(lens[static_cast<size_t>(i)], 1400u);
    EXPECT_EQ(size_t{rd16(f + 6) & 0x1fffu} * 8, joined.size());
    EXPECT_EQ((f[6] & 0x20) != 0, i < n - 1);
    joined.insert(joined.end(), f + 20, f + lens[static_cast<size_t>(i)]);
  }
  EXPECT_EQ(joined, std::vector<uint8_t>(pkt.begin() + 20, pkt.end()));
}

// A tunnel with MTU 1436 behind a 1500-byte outer path (NAT-T, IPv4): the kernel hands the TUN
// TSO super-packets cut for MSS 1384 (1436 - 52 bytes of IPv4/TCP headers with timestamps). For
// each algorithm the worker's inner MTU, applied as the segment size as the worker does, yields
// ESP-in-UDP datagrams of at most 1500 bytes that carry the whole payload.
TEST(IoOffload, FullSizeSegmentsFitTheOuterMtuWithEveryAlgorithm) {
  constexpr uint32_t kTunMtu = 1436;
  constexpr uint32_t kOuterMtu = 1500;
  constexpr size_t kHlen = 52;
  const auto super = tcp4(1000, 20 * (kTunMtu - kHlen) + 100, 5);
  for (const auto& algo : test::allAlgos()) {
    SaTable table(1);
    ASSERT_TRUE(table.install(test::makeConfig(algo, false, false, 0xc0000200), 0).ok());
    const SaEntry* entry = table.snapshot()->findOutbound(7);
    ASSERT_NE(entry, nullptr);
    const uint32_t mtu = tunnelInnerMtu(*entry->sa, kTunMtu, kOuterMtu);
    EXPECT_LE(mtu, kTunMtu);
    EXPECT_EQ(mtu == kTunMtu, algo.cipher == EspCipher::kAesGcm16) << algo.name;
    VnetHdr h{};
    h.flags = kVnetNeedsCsum;
    h.gso_type = kVnetGsoTcpV4;
    h.gso_size = static_cast<uint16_t>(std::min<size_t>(kTunMtu - kHlen, mtu - kHlen));
    h.csum_start = 20;
    h.csum_offset = 16;
    constexpr size_t kStride = 2048;
    std::vector<uint8_t> out(64 * kStride);
    std::vector<uint32_t> lens(64);
    SplitOut so{out.data(), kStride, kPacketHeadroom, 64, lens.data()};
    const int n = tsoSplit(h, super, so);
    ASSERT_GT(n, 20) << algo.name;
    EspWorker worker(0);
    size_t carried = 0;
    for (int i = 0; i < n; ++i) {
      const size_t idx = static_cast<size_t>(i);
      PacketBuf pkt(out.data() + idx * kStride, kStride, kPacketHeadroom, lens[idx]);
      EXPECT_LE(pkt.length, mtu);
      EXPECT_TRUE(tcpChecksumOk(pkt.data(), pkt.length));
      carried += pkt.length - kHlen;
      ASSERT_EQ(espEncrypt(*entry, pkt, worker), EspDrop::kNone);
      EXPECT_LE(pkt.length + 20 + 8, kOuterMtu) << algo.name << " segment " << i;
    }
    EXPECT_EQ(carried, super.size() - kHlen) << algo.name;
  }
}

TEST(IoOffload, UdpDemuxFollowsRfc3948) {
  const std::vector<uint8_t> ike{0, 0, 0, 0, 1, 2, 3, 4};
  const std::vector<uint8_t> esp{0xc0, 0, 0, 1, 0, 0, 0, 1, 9};
  const std::vector<uint8_t> keepalive{0xff};
  EXPECT_EQ(classifyUdp(4500, ike), UdpKind::kIke);
  EXPECT_EQ(classifyUdp(4500, esp), UdpKind::kEsp);
  EXPECT_EQ(classifyUdp(4500, keepalive), UdpKind::kKeepalive);
  EXPECT_EQ(classifyUdp(4500, std::vector<uint8_t>{1, 2}), UdpKind::kRunt);
  EXPECT_EQ(classifyUdp(500, esp), UdpKind::kIke);  // port 500 carries only IKE
  EXPECT_EQ(classifyUdp(500, keepalive), UdpKind::kIke);
}

}  // namespace
}  // namespace crossgate::dataplane
