// Sa::maxInnerLength(): the largest inner packet whose ESP-in-UDP datagram fits a given outer MTU,
// checked against real encryptions with every algorithm, for IPv4 and IPv6 outer headers.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "crossgate/dataplane/esp.h"
#include "esp_test_util.h"

namespace crossgate::dataplane {
namespace {

using test::Frame;

constexpr uint32_t kOuterMtu = 1500;  // Azure / AWS path MTU behind the NAT

// The outer datagram an ESP packet of esp_len bytes becomes: IP header + UDP (RFC 3948).
uint32_t outerLength(uint32_t esp_len, bool v6) { return esp_len + (v6 ? 40 : 20) + 8; }

const Sa& installOutbound(SaTable& table, const test::Algo& algo, bool v6) {
  SaConfig c = test::makeConfig(algo, false, false, 0xc0000100);
  if (v6) {
    c.src = cg_dp_addr{};
    c.src.family = 6;
    c.src.port = 4500;
    c.src.addr[0] = 0x20;
    c.src.addr[1] = 0x01;
    c.src.addr[2] = 0x0d;
    c.src.addr[3] = 0xb8;
    c.dst = c.src;
    c.dst.addr[15] = 2;
  }
  EXPECT_TRUE(table.install(std::move(c), 0).ok());
  const SaEntry* e = table.snapshot()->findOutbound(7);
  EXPECT_NE(e, nullptr);
  return *e->sa;
}

uint32_t encryptedLength(const SaTable& table, size_t inner) {
  EspWorker worker(0);
  Frame f(test::ipv4Udp(inner));
  const SaEntry* e = nullptr;
  EXPECT_EQ(espEncrypt(*table.snapshot(), 7, f.pkt, worker, &e), EspDrop::kNone);
  return f.pkt.length;
}

TEST(EspMtu, LargestInnerPacketFitsAndOneMoreDoesNot) {
  for (bool v6 : {false, true}) {
    for (const auto& algo : test::allAlgos()) {
      SaTable table(1);
      const Sa& sa = installOutbound(table, algo, v6);
      const uint32_t max = sa.maxInnerLength(kOuterMtu);
      ASSERT_GT(max, 1300u) << algo.name;
      EXPECT_LE(outerLength(encryptedLength(table, max), v6), kOuterMtu)
          << algo.name << (v6 ? " v6" : " v4");
      EXPECT_GT(outerLength(encryptedLength(table, max + 1), v6), kOuterMtu)
          << algo.name << (v6 ? " v6" : " v4");
    }
  }
}

// With the customary tunnel MTU of 1436, AES-GCM fits 1500 bytes outside, but every AES-CBC
// transform needs a smaller inner packet (16-byte IV and padding, 12..32-byte ICV).
TEST(EspMtu, ValuesForAnOuterMtuOf1500) {
  const std::map<std::string, uint32_t> expected = {
      {"aes128gcm16", 1438},   {"aes256gcm16", 1438},   {"aes128_sha1", 1422},
      {"aes256_sha1", 1422},   {"aes128_sha256", 1422}, {"aes256_sha256", 1422},
      {"aes128_sha384", 1422}, {"aes256_sha384", 1422}, {"aes128_sha512", 1406},
      {"aes256_sha512", 1406},
  };
  for (const auto& algo : test::allAlgos()) {
    SaTable table(1);
    const Sa& sa = installOutbound(table, algo, false);
    EXPECT_EQ(sa.maxInnerLength(kOuterMtu), expected.at(algo.name)) << algo.name;
    // A full 1436-byte packet with AES-CBC would leave as a datagram above 1500 bytes.
    if (algo.cipher == EspCipher::kAesCbc) {
      EXPECT_GT(outerLength(encryptedLength(table, 1436), false), kOuterMtu) << algo.name;
    } else {
      EXPECT_LE(outerLength(encryptedLength(table, 1436), false), kOuterMtu) << algo.name;
    }
  }
}

TEST(EspMtu, TinyOuterMtuFitsNothing) {
  SaTable table(1);
  const Sa& sa = installOutbound(table, test::allAlgos()[9], false);
  EXPECT_EQ(sa.maxInnerLength(60), 0u);
  EXPECT_EQ(sa.maxInnerLength(0), 0u);
}

}  // namespace
}  // namespace crossgate::dataplane
