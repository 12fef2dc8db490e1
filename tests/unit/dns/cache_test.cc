// The response cache: TTL expiry and decay under an injected clock, caps, RFC 2308 negative
// caching, LRU eviction, uncacheable answers.
#include "crossgate/dns/cache.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace crossgate::dns {
namespace {

using namespace testing;  // NOLINT

std::vector<uint8_t> response(const char* name, uint16_t type, ldns_pkt_rcode rcode,
                              std::vector<const char*> answers,
                              std::vector<const char*> authority) {
  auto q = makeQuery(name, type, {.id = 0});
  ldns_pkt* pkt = nullptr;
  ldns_wire2pkt(&pkt, q.data(), q.size());
  ldns_pkt_set_qr(pkt, true);
  ldns_pkt_set_rcode(pkt, rcode);
  for (const char* text : answers) {
    ldns_rr* rr = nullptr;
    EXPECT_EQ(ldns_rr_new_frm_str(&rr, text, 0, nullptr, nullptr), LDNS_STATUS_OK) << text;
    ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
  }
  for (const char* text : authority) {
    ldns_rr* rr = nullptr;
    EXPECT_EQ(ldns_rr_new_frm_str(&rr, text, 0, nullptr, nullptr), LDNS_STATUS_OK) << text;
    ldns_pkt_push_rr(pkt, LDNS_SECTION_AUTHORITY, rr);
  }
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_pkt2wire(&wire, pkt, &size);
  std::vector<uint8_t> out(wire, wire + size);
  free(wire);
  ldns_pkt_free(pkt);
  return out;
}

std::string key(const char* name, uint16_t type) {
  uint8_t wire[kMaxNameWire];
  size_t len = 0;
  textToWireName(name, wire, &len);
  uint8_t buf[kMaxNameWire + 4];
  return std::string(cacheKey({reinterpret_cast<char*>(wire), len}, type, 1, buf));
}

constexpr const char* kSoa =
    "example.org. 3600 IN SOA ns.example.org. host.example.org. 1 7200 900 1209600 60";

TEST(CacheTest, PositiveTtlDecaysAndExpires) {
  Cache cache(10);
  auto r =
      response("a.example.org", 1, LDNS_RCODE_NOERROR,
               {"a.example.org. 120 IN A 203.0.113.1", "a.example.org. 300 IN A 203.0.113.2"}, {});
  ASSERT_EQ(cache.insert(key("a.example.org", 1), r.data(), r.size(), 0, 86400, 3600), 120u);
  std::vector<uint8_t> out(kMaxMessage);
  size_t n = cache.lookup(key("a.example.org", 1), 30'000, out.data(), out.size());
  ASSERT_EQ(n, r.size());
  auto p = parse(out.data(), n);
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)), 90u);
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 1)), 90u);  // capped to the set
  EXPECT_NE(cache.lookup(key("a.example.org", 1), 119'999, out.data(), out.size()), 0u);
  EXPECT_EQ(cache.lookup(key("a.example.org", 1), 120'000, out.data(), out.size()), 0u);
  EXPECT_EQ(cache.size(), 0u);  // expired entries are removed
  EXPECT_EQ(cache.lookup(key("a.example.org", 28), 0, out.data(), out.size()), 0u);
}

TEST(CacheTest, PositiveTtlIsCapped) {
  Cache cache(10);
  auto r = response("a.example.org", 1, LDNS_RCODE_NOERROR,
                    {"a.example.org. 100000 IN A 203.0.113.1"}, {});
  EXPECT_EQ(cache.insert(key("a.example.org", 1), r.data(), r.size(), 0, 600, 3600), 600u);
}

TEST(CacheTest, NegativeAnswersUseSoaMinimumPerRfc2308) {
  Cache cache(10);
  auto nx = response("nx.example.org", 1, LDNS_RCODE_NXDOMAIN, {}, {kSoa});
  EXPECT_EQ(cache.insert(key("nx.example.org", 1), nx.data(), nx.size(), 0, 86400, 3600), 60u);
  std::vector<uint8_t> out(kMaxMessage);
  size_t n = cache.lookup(key("nx.example.org", 1), 10'000, out.data(), out.size());
  ASSERT_NE(n, 0u);
  auto p = parse(out.data(), n);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NXDOMAIN);
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(p.get()), 0)), 50u);
  EXPECT_EQ(cache.lookup(key("nx.example.org", 1), 60'000, out.data(), out.size()), 0u);
  // NODATA too, and the negative cap applies.
  auto nodata = response("a.example.org", 28, LDNS_RCODE_NOERROR, {}, {kSoa});
  EXPECT_EQ(cache.insert(key("a.example.org", 28), nodata.data(), nodata.size(), 0, 86400, 30),
            30u);
  // Without an SOA a negative answer is not cached.
  auto bare = response("b.example.org", 1, LDNS_RCODE_NXDOMAIN, {}, {});
  EXPECT_EQ(cache.insert(key("b.example.org", 1), bare.data(), bare.size(), 0, 86400, 3600), 0u);
}

TEST(CacheTest, ServfailAndZeroTtlAreNotCached) {
  Cache cache(10);
  auto sf = response("a.example.org", 1, LDNS_RCODE_SERVFAIL, {}, {});
  EXPECT_EQ(cache.insert(key("a.example.org", 1), sf.data(), sf.size(), 0, 86400, 3600), 0u);
  auto zero =
      response("a.example.org", 1, LDNS_RCODE_NOERROR, {"a.example.org. 0 IN A 203.0.113.1"}, {});
  EXPECT_EQ(cache.insert(key("a.example.org", 1), zero.data(), zero.size(), 0, 86400, 3600), 0u);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CacheTest, LeastRecentlyUsedIsEvicted) {
  Cache cache(2);
  std::vector<uint8_t> out(kMaxMessage);
  for (const char* n : {"a.example.org", "b.example.org"}) {
    auto r = response(n, 1, LDNS_RCODE_NOERROR, {"x. 60 IN A 203.0.113.1"}, {});
    ASSERT_NE(cache.insert(key(n, 1), r.data(), r.size(), 0, 86400, 3600), 0u);
  }
  ASSERT_NE(cache.lookup(key("a.example.org", 1), 1, out.data(), out.size()), 0u);  // a is fresh
  auto r = response("c.example.org", 1, LDNS_RCODE_NOERROR, {"x. 60 IN A 203.0.113.1"}, {});
  cache.insert(key("c.example.org", 1), r.data(), r.size(), 0, 86400, 3600);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.lookup(key("a.example.org", 1), 2, out.data(), out.size()), 0u);
  EXPECT_EQ(cache.lookup(key("b.example.org", 1), 2, out.data(), out.size()), 0u);
  EXPECT_NE(cache.lookup(key("c.example.org", 1), 2, out.data(), out.size()), 0u);
  cache.setCapacity(1);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(CacheTest, TooLargeForTheBufferReportsLength) {
  Cache cache(2);
  auto r =
      response("a.example.org", 1, LDNS_RCODE_NOERROR, {"a.example.org. 60 IN A 203.0.113.1"}, {});
  cache.insert(key("a.example.org", 1), r.data(), r.size(), 0, 86400, 3600);
  uint8_t small[16];
  EXPECT_EQ(cache.lookup(key("a.example.org", 1), 0, small, sizeof(small)), r.size());
}

}  // namespace
}  // namespace crossgate::dns
