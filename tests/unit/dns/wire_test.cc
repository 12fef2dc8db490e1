// Wire primitives: query parsing bounds, names, response normalization and matching, the rate
// limiter.
#include "crossgate/dns/wire.h"

#include <gtest/gtest.h>

#include "crossgate/dns/forwarder.h"
#include "crossgate/dns/rate_limiter.h"
#include "test_util.h"

namespace crossgate::dns {
namespace {

using namespace testing;  // NOLINT

TEST(WireTest, ParsesQuestionAndEdns) {
  auto q = makeQuery("WwW.Example.ORG", LDNS_RR_TYPE_AAAA,
                     {.id = 9, .edns_size = 4096, .dnssec_ok = true});
  ParsedQuery p;
  ASSERT_EQ(parseQuery(q.data(), q.size(), &p), ParseStatus::kOk);
  EXPECT_EQ(p.id, 9);
  EXPECT_EQ(p.question.qtype, 28);
  EXPECT_EQ(p.question.lowerName(), std::string_view("\x03www\x07"
                                                     "example\x03org\x00",
                                                     17));
  EXPECT_EQ(p.question.label_count, 3);
  EXPECT_EQ(p.question.suffix(1), std::string_view("\x07"
                                                   "example\x03org\x00",
                                                   13));
  EXPECT_TRUE(p.has_edns);
  EXPECT_TRUE(p.edns_do);
  EXPECT_EQ(p.udpLimit(), kAdvertisedUdpSize);
  auto plain = makeQuery("a.b", 1);
  ASSERT_EQ(parseQuery(plain.data(), plain.size(), &p), ParseStatus::kOk);
  EXPECT_FALSE(p.has_edns);
  EXPECT_EQ(p.udpLimit(), 512u);
}

TEST(WireTest, RejectsEveryTruncation) {
  auto q = makeQuery("www.example.org", 1, {.edns_size = 1232});
  for (size_t len = 0; len < q.size(); ++len) {
    ParsedQuery p;
    const ParseStatus s = parseQuery(q.data(), len, &p);
    EXPECT_NE(s, ParseStatus::kOk) << len;
  }
}

TEST(WireTest, RejectsOverlongNamesAndBadLabels) {
  std::vector<uint8_t> q(kHeaderSize, 0);
  q[5] = 1;
  for (int i = 0; i < 5; ++i) {  // 5 x 64 bytes > 255
    q.push_back(63);
    q.insert(q.end(), 63, 'a');
  }
  q.push_back(0);
  q.insert(q.end(), {0, 1, 0, 1});
  ParsedQuery p;
  EXPECT_EQ(parseQuery(q.data(), q.size(), &p), ParseStatus::kFormErr);
  std::vector<uint8_t> ext(kHeaderSize, 0);
  ext[5] = 1;
  ext.insert(ext.end(), {0x41, 'a', 0, 0, 1, 0, 1});  // extended label type
  EXPECT_EQ(parseQuery(ext.data(), ext.size(), &p), ParseStatus::kFormErr);
}

TEST(WireTest, TextAndWireNames) {
  uint8_t buf[kMaxNameWire];
  size_t len = 0;
  ASSERT_TRUE(textToWireName("Acct.DFS.core.windows.net.", buf, &len));
  char text[300];
  EXPECT_EQ(std::string(text, wireNameToText(buf, len, text, sizeof(text))),
            "acct.dfs.core.windows.net");
  EXPECT_FALSE(textToWireName("a..b", buf, &len));
  EXPECT_FALSE(textToWireName("a b", buf, &len));
  EXPECT_FALSE(textToWireName(std::string(64, 'a') + ".b", buf, &len));
  EXPECT_TRUE(textToWireName(".", buf, &len));
  EXPECT_EQ(len, 1u);
}

TEST(WireTest, NormalizeStripsOptAndLowercases) {
  auto r = makeQuery("A.Example.org", 1, {.id = 77, .edns_size = 1232});
  r[2] |= 0x80;
  ASSERT_TRUE(normalizeResponse(&r));
  EXPECT_EQ(readU16(r.data()), 0);
  EXPECT_EQ(readU16(r.data() + 10), 0);
  EXPECT_EQ(r.size(), kHeaderSize + 15 + 4);
  EXPECT_EQ(r[13], 'a');
  auto m = makeQuery("A.Example.org", 1, {.id = 77});
  m[2] |= 0x80;
  const std::string_view lower(
      "\x01"
      "a\x07"
      "example\x03org\x00",
      15);
  EXPECT_TRUE(responseMatches(m.data(), m.size(), 77, lower, 1, 1));
  EXPECT_FALSE(responseMatches(m.data(), m.size(), 78, lower, 1, 1));
  EXPECT_FALSE(responseMatches(m.data(), m.size(), 77, lower, 28, 1));
  EXPECT_FALSE(responseMatches(m.data(), m.size(), 77,
                               std::string_view("\x01"
                                                "b\x07"
                                                "example\x03org\x00",
                                                15),
                               1, 1));
  m[2] &= 0x7F;
  EXPECT_FALSE(responseMatches(m.data(), m.size(), 77, lower, 1, 1));  // not a response
}

TEST(RateLimiterTest, TokenBucketPerClient) {
  RateLimiter rl(64);
  EXPECT_TRUE(rl.allow(ip("10.0.0.1"), 0));  // disabled
  rl.setRate(10);
  int allowed = 0;
  for (int i = 0; i < 50; ++i) {
    allowed += rl.allow(ip("10.0.0.1"), 1000) ? 1 : 0;
  }
  EXPECT_EQ(allowed, 10);                       // the burst
  EXPECT_TRUE(rl.allow(ip("10.0.0.2"), 1000));  // another client is unaffected
  EXPECT_FALSE(rl.allow(ip("10.0.0.1"), 1050));
  EXPECT_TRUE(rl.allow(ip("10.0.0.1"), 1100));  // 100 ms refills one token
}

}  // namespace
}  // namespace crossgate::dns
