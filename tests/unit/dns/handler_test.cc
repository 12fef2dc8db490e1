// Query handling against compiled tables: views, local records, privatelink synthesis, private
// zones, protocol details (case echo, EDNS, truncation, NOTIMP, FORMERR, ANY), cache hits.
#include "crossgate/dns/handler.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace crossgate::dns {
namespace {

using namespace testing;  // NOLINT

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tables_ = build(sampleConfig());
    ASSERT_NE(tables_, nullptr);
  }

  HandleResult run(const std::vector<uint8_t>& q, const char* client = "10.10.1.10",
                   bool tcp = false) {
    out_.assign(kMaxMessage, 0);
    return handleQuery(*tables_, &cache_, q.data(), q.size(), ip(client), tcp, now_ms_, out_.data(),
                       &fwd_, stats_.get());
  }

  Pkt answer(const std::vector<uint8_t>& q, const char* client = "10.10.1.10", bool tcp = false) {
    const HandleResult r = run(q, client, tcp);
    EXPECT_EQ(r.verdict, Verdict::kReply);
    len_ = r.length;
    return parse(out_.data(), r.length);
  }

  std::shared_ptr<const Tables> tables_;
  Cache cache_{100};
  std::unique_ptr<ThreadStats> stats_ = std::make_unique<ThreadStats>();
  ForwardRequest fwd_;
  std::vector<uint8_t> out_;
  size_t len_ = 0;
  uint64_t now_ms_ = 1000000;
};

TEST_F(HandlerTest, ViewSelectionFirstMatchAndRefusedForUnknownClients) {
  auto q = makeQuery("acct.dfs.core.windows.net", LDNS_RR_TYPE_A);
  auto aws = answer(q, "10.10.200.1");
  EXPECT_EQ(ldns_pkt_get_rcode(aws.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(run(q, "192.0.2.55").verdict, Verdict::kForward);  // corp view: forwarded
  EXPECT_EQ(fwd_.view_slot, tables_->views[1].stats_slot);
  EXPECT_EQ(run(q, "2001:db8:1::9").verdict, Verdict::kForward);
  auto refused = answer(q, "198.51.100.7");
  EXPECT_EQ(ldns_pkt_get_rcode(refused.get()), LDNS_RCODE_REFUSED);
  EXPECT_EQ(ldns_pkt_ancount(refused.get()), 0);
  EXPECT_EQ(tables_->selectView(ip("10.11.0.1")), nullptr);
}

TEST_F(HandlerTest, PrivatelinkPublicNameGetsCnameChainAndAddress) {
  auto p = answer(makeQuery("acct.dfs.core.windows.net", LDNS_RR_TYPE_A));
  EXPECT_TRUE(ldns_pkt_aa(p.get()));
  EXPECT_TRUE(ldns_pkt_ra(p.get()));
  EXPECT_TRUE(ldns_pkt_rd(p.get()));
  EXPECT_EQ(ldns_pkt_id(p.get()), 0x1234);
  EXPECT_EQ(section(p.get(), LDNS_SECTION_ANSWER),
            (std::vector<std::string>{
                "acct.dfs.core.windows.net.\t10\tIN\tCNAME\tacct.privatelink.dfs.core.windows.net.",
                "acct.privatelink.dfs.core.windows.net.\t10\tIN\tA\t10.20.1.5"}));
}

TEST_F(HandlerTest, PrivatelinkNameAnswersTheAddress) {
  auto p = answer(makeQuery("acct.privatelink.dfs.core.windows.net", LDNS_RR_TYPE_A));
  EXPECT_EQ(
      section(p.get(), LDNS_SECTION_ANSWER),
      (std::vector<std::string>{"acct.privatelink.dfs.core.windows.net.\t10\tIN\tA\t10.20.1.5"}));
}

TEST_F(HandlerTest, AaaaForV4OnlyEndpointIsNodataWithSoa) {
  auto p = answer(makeQuery("acct.privatelink.dfs.core.windows.net", LDNS_RR_TYPE_AAAA));
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);
  auto auth = section(p.get(), LDNS_SECTION_AUTHORITY);
  ASSERT_EQ(auth.size(), 1u);
  EXPECT_NE(auth[0].find("privatelink.dfs.core.windows.net.\t300\tIN\tSOA"), std::string::npos);
  // Through the CNAME: the chain, then NODATA.
  auto c = answer(makeQuery("acct.dfs.core.windows.net", LDNS_RR_TYPE_AAAA));
  EXPECT_EQ(ldns_pkt_ancount(c.get()), 1);
  EXPECT_EQ(ldns_pkt_nscount(c.get()), 1);
}

TEST_F(HandlerTest, AllStorageServicesGetTheSameBehaviour) {
  config::Dns dns = sampleConfig();
  for (const char* svc : {"blob", "file", "queue", "table", "web"}) {
    dns.views[0].private_endpoints.push_back(
        {std::string("acct.privatelink.") + svc + ".core.windows.net", ip("10.20.1.6"), 10});
  }
  tables_ = build(dns);
  for (const char* svc : {"blob", "file", "queue", "table", "web"}) {
    auto p = answer(makeQuery(std::string("acct.") + svc + ".core.windows.net", LDNS_RR_TYPE_A));
    auto ans = section(p.get(), LDNS_SECTION_ANSWER);
    ASSERT_EQ(ans.size(), 2u) << svc;
    EXPECT_NE(ans[0].find(std::string("CNAME\tacct.privatelink.") + svc), std::string::npos);
    EXPECT_NE(ans[1].find("10.20.1.6"), std::string::npos);
  }
}

TEST_F(HandlerTest, OtherAccountsInImplicitPrivatelinkZoneFallBackToUpstream) {
  // Implicit privatelink zones default to fallback = true (another tenant's account).
  EXPECT_EQ(run(makeQuery("other.privatelink.dfs.core.windows.net", LDNS_RR_TYPE_A)).verdict,
            Verdict::kForward);
  EXPECT_EQ(run(makeQuery("other.dfs.core.windows.net", LDNS_RR_TYPE_A)).verdict,
            Verdict::kForward);
  // Declared without fallback: NXDOMAIN with the zone's SOA.
  config::Dns dns = sampleConfig();
  dns.views[0].private_zones.push_back({"privatelink.dfs.core.windows.net", false});
  tables_ = build(dns);
  auto p = answer(makeQuery("Other.PrivateLink.dfs.core.windows.net", LDNS_RR_TYPE_A));
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NXDOMAIN);
  auto auth = section(p.get(), LDNS_SECTION_AUTHORITY);
  ASSERT_EQ(auth.size(), 1u);
  EXPECT_NE(auth[0].find("PrivateLink.dfs.core.windows.net.\t300\tIN\tSOA"), std::string::npos);
}

TEST_F(HandlerTest, PrivateZoneNxdomainNodataAndApex) {
  auto nx = answer(makeQuery("nothing.internal.example", LDNS_RR_TYPE_A));
  EXPECT_EQ(ldns_pkt_get_rcode(nx.get()), LDNS_RCODE_NXDOMAIN);
  EXPECT_TRUE(ldns_pkt_aa(nx.get()));
  EXPECT_EQ(ldns_pkt_nscount(nx.get()), 1);
  auto nodata = answer(makeQuery("db.internal.example", LDNS_RR_TYPE_TXT));
  EXPECT_EQ(ldns_pkt_get_rcode(nodata.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(nodata.get()), 0);
  EXPECT_EQ(ldns_pkt_nscount(nodata.get()), 1);
  auto soa = answer(makeQuery("internal.example", LDNS_RR_TYPE_SOA));
  EXPECT_EQ(ldns_pkt_ancount(soa.get()), 1);
  // Never forwarded, whatever the type.
  EXPECT_EQ(run(makeQuery("x.y.internal.example", LDNS_RR_TYPE_MX)).verdict, Verdict::kReply);
}

TEST_F(HandlerTest, LocalRecordsAllTypes) {
  auto a = answer(makeQuery("www.corp.example", LDNS_RR_TYPE_A));
  EXPECT_EQ(ldns_pkt_ancount(a.get()), 2);
  auto v6 = answer(makeQuery("v6.corp.example", LDNS_RR_TYPE_AAAA));
  EXPECT_EQ(section(v6.get(), LDNS_SECTION_ANSWER),
            (std::vector<std::string>{"v6.corp.example.\t300\tIN\tAAAA\t2001:db8::5"}));
  auto txt = answer(makeQuery("txt.corp.example", LDNS_RR_TYPE_TXT));
  EXPECT_EQ(section(txt.get(), LDNS_SECTION_ANSWER),
            (std::vector<std::string>{"txt.corp.example.\t300\tIN\tTXT\t\"hello world\""}));
  auto ptr = answer(makeQuery("5.0.20.10.in-addr.arpa", LDNS_RR_TYPE_PTR));
  EXPECT_EQ(
      section(ptr.get(), LDNS_SECTION_ANSWER),
      (std::vector<std::string>{"5.0.20.10.in-addr.arpa.\t300\tIN\tPTR\thost.corp.example."}));
  auto chain = answer(makeQuery("alias.corp.example", LDNS_RR_TYPE_A));
  EXPECT_EQ(ldns_pkt_ancount(chain.get()), 3);  // CNAME + two A
  auto cname = answer(makeQuery("alias.corp.example", LDNS_RR_TYPE_CNAME));
  EXPECT_EQ(ldns_pkt_ancount(cname.get()), 1);
  auto nodata = answer(makeQuery("www.corp.example", LDNS_RR_TYPE_AAAA));
  EXPECT_EQ(ldns_pkt_ancount(nodata.get()), 0);
  EXPECT_EQ(ldns_pkt_nscount(nodata.get()), 1);
}

TEST_F(HandlerTest, CnameLeavingLocalDataIsForwardedWithPrefix) {
  EXPECT_EQ(run(makeQuery("out.corp.example", LDNS_RR_TYPE_A)).verdict, Verdict::kForward);
  ASSERT_NE(fwd_.prefix, nullptr);
  EXPECT_TRUE(fwd_.prefix->external);
  EXPECT_EQ(fwd_.prefix->external_target, std::string("\x03www\x07"
                                                      "example\x03org\x00",
                                                      17));
}

TEST_F(HandlerTest, QueryCaseIsEchoed) {
  auto q = makeQuery("AcCt.DfS.CoRe.WiNdOwS.NeT", LDNS_RR_TYPE_A);
  const HandleResult r = run(q);
  ASSERT_EQ(r.verdict, Verdict::kReply);
  const size_t qlen = q.size() - kHeaderSize;
  EXPECT_EQ(std::memcmp(out_.data() + kHeaderSize, q.data() + kHeaderSize, qlen), 0);
  auto p = parse(out_.data(), r.length);
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 2);
}

TEST_F(HandlerTest, EdnsAdvertisedAndTruncationAtClientLimit) {
  QueryOptions o;
  o.edns_size = 4096;
  o.dnssec_ok = true;
  auto small = answer(makeQuery("txt.corp.example", LDNS_RR_TYPE_TXT, o));
  EXPECT_EQ(ldns_pkt_edns_udp_size(small.get()), kAdvertisedUdpSize);
  EXPECT_TRUE(ldns_pkt_edns_do(small.get()));
  // 1500-byte TXT: without EDNS the limit is 512, with EDNS 1232 (our cap): TC both times.
  auto plain = answer(makeQuery("big.corp.example", LDNS_RR_TYPE_TXT));
  EXPECT_TRUE(ldns_pkt_tc(plain.get()));
  EXPECT_EQ(ldns_pkt_ancount(plain.get()), 0);
  EXPECT_LE(len_, 512u);
  auto edns = answer(makeQuery("big.corp.example", LDNS_RR_TYPE_TXT, o));
  EXPECT_TRUE(ldns_pkt_tc(edns.get()));
  EXPECT_EQ(ldns_pkt_edns_udp_size(edns.get()), kAdvertisedUdpSize);
  // TCP gets everything.
  auto tcp = answer(makeQuery("big.corp.example", LDNS_RR_TYPE_TXT, o), "10.10.1.10", true);
  EXPECT_FALSE(ldns_pkt_tc(tcp.get()));
  EXPECT_EQ(ldns_pkt_ancount(tcp.get()), 1);
  EXPECT_GT(len_, 1500u);
  // A client asking for less than 512 still gets 512.
  o.edns_size = 100;
  auto tiny = answer(makeQuery("acct.dfs.core.windows.net", LDNS_RR_TYPE_A, o));
  EXPECT_FALSE(ldns_pkt_tc(tiny.get()));
}

TEST_F(HandlerTest, EdnsVersionOtherThanZeroGetsBadvers) {
  auto q = makeQuery("www.corp.example", LDNS_RR_TYPE_A, {.edns_size = 1232});
  // OPT TTL byte 2 is the version.
  q[q.size() - 11 + 6] = 1;
  const HandleResult r = run(q);
  ASSERT_EQ(r.verdict, Verdict::kReply);
  auto p = parse(out_.data(), r.length);
  EXPECT_EQ(ldns_pkt_edns_extended_rcode(p.get()), 1);  // BADVERS = 16
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);
}

TEST_F(HandlerTest, OpcodeOtherThanQueryIsNotimp) {
  auto q = makeQuery("www.corp.example", LDNS_RR_TYPE_A);
  q[2] = static_cast<uint8_t>((q[2] & 0x87) | (2 << 3));  // STATUS
  auto p = answer(q);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOTIMPL);
  q[2] = static_cast<uint8_t>((q[2] & 0x87) | (5 << 3));  // UPDATE
  auto u = answer(q, "198.51.100.1");
  EXPECT_EQ(ldns_pkt_get_rcode(u.get()), LDNS_RCODE_NOTIMPL);
}

TEST_F(HandlerTest, MalformedInputIsFormerrOrDropped) {
  std::vector<uint8_t> q = makeQuery("www.corp.example", LDNS_RR_TYPE_A);
  EXPECT_EQ(run({q.begin(), q.begin() + 5}).verdict, Verdict::kDrop);  // no header
  auto resp = q;
  resp[2] |= 0x80;  // QR: a response, never answered
  EXPECT_EQ(run(resp).verdict, Verdict::kDrop);
  auto cut = std::vector<uint8_t>(q.begin(), q.end() - 3);
  auto p = answer(cut);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_FORMERR);
  auto two = q;
  two[5] = 2;  // QDCOUNT 2
  EXPECT_EQ(ldns_pkt_get_rcode(answer(two).get()), LDNS_RCODE_FORMERR);
  auto pointer = q;
  pointer[12] = 0xC0;  // compression in the question
  EXPECT_EQ(ldns_pkt_get_rcode(answer(pointer).get()), LDNS_RCODE_FORMERR);
  auto extra = q;
  extra[11] = 1;  // ARCOUNT 1 with nothing there
  EXPECT_EQ(ldns_pkt_get_rcode(answer(extra).get()), LDNS_RCODE_FORMERR);
}

TEST_F(HandlerTest, AnyIsAnsweredMinimally) {
  auto local = answer(makeQuery("www.corp.example", LDNS_RR_TYPE_ANY));
  EXPECT_EQ(ldns_pkt_ancount(local.get()), 2);  // the A RRset only
  auto chain = answer(makeQuery("acct.dfs.core.windows.net", LDNS_RR_TYPE_ANY));
  EXPECT_EQ(section(chain.get(), LDNS_SECTION_ANSWER).size(), 1u);  // the CNAME
  auto remote = answer(makeQuery("example.org", LDNS_RR_TYPE_ANY));
  auto ans = section(remote.get(), LDNS_SECTION_ANSWER);
  ASSERT_EQ(ans.size(), 1u);
  EXPECT_NE(ans[0].find("HINFO\t\"RFC8482\" \"\""), std::string::npos);
}

TEST_F(HandlerTest, NonInClassAndZoneTransfersRefused) {
  auto q = makeQuery("www.corp.example", LDNS_RR_TYPE_A);
  q[q.size() - 1] = 3;  // CHAOS
  EXPECT_EQ(ldns_pkt_get_rcode(answer(q).get()), LDNS_RCODE_REFUSED);
  EXPECT_EQ(ldns_pkt_get_rcode(answer(makeQuery("corp.example", LDNS_RR_TYPE_AXFR)).get()),
            LDNS_RCODE_REFUSED);
}

TEST_F(HandlerTest, CacheHitServedWithIdCaseAndEdnsOfTheNewQuery) {
  // An upstream answer as the forwarder stores it.
  auto up = makeQuery("example.org", LDNS_RR_TYPE_A, {.id = 0});
  ldns_pkt* pkt = nullptr;
  ldns_wire2pkt(&pkt, up.data(), up.size());
  ldns_pkt_set_qr(pkt, true);
  ldns_rr* rr = nullptr;
  ldns_rr_new_frm_str(&rr, "example.org. 300 IN A 203.0.113.80", 0, nullptr, nullptr);
  ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_pkt2wire(&wire, pkt, &size);
  uint8_t keybuf[kMaxNameWire + 4];
  ASSERT_EQ(cache_.insert(cacheKey(std::string_view("\x07"
                                                    "example\x03org\x00",
                                                    13),
                                   1, 1, keybuf),
                          wire, size, now_ms_, 86400, 3600),
            300u);
  free(wire);
  ldns_pkt_free(pkt);
  now_ms_ += 100'000;
  auto q = makeQuery("EXAMPLE.org", LDNS_RR_TYPE_A, {.id = 77, .edns_size = 1232});
  const HandleResult r = run(q, "192.0.2.1");
  ASSERT_EQ(r.verdict, Verdict::kReply);
  auto p = parse(out_.data(), r.length);
  EXPECT_EQ(ldns_pkt_id(p.get()), 77);
  EXPECT_FALSE(ldns_pkt_aa(p.get()));
  EXPECT_EQ(ldns_pkt_edns_udp_size(p.get()), kAdvertisedUdpSize);
  EXPECT_EQ(section(p.get(), LDNS_SECTION_ANSWER),
            (std::vector<std::string>{"EXAMPLE.org.\t200\tIN\tA\t203.0.113.80"}));
  EXPECT_EQ(stats_->global.cache_hits.get(), 1u);
}

TEST(TablesTest, InvalidConfigNamesEveryProblem) {
  config::Dns dns = sampleConfig();
  dns.views[0].records.push_back({"bad name!", "A", "10.0.0.1", 60});
  dns.views[0].records.push_back({"x.example", "A", "not-an-ip", 60});
  dns.views[0].records.push_back({"x.example", "MX", "mail", 60});
  dns.views[0].records.push_back({"www.corp.example", "CNAME", "other.example", 60});
  dns.views[0].private_endpoints.push_back({"acct.dfs.core.windows.net", ip("10.0.0.1"), 10});
  dns.views[1].clients.clear();
  auto r = buildTables(dns);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("dns.view[0].record[9].name: 'bad name!' is not a valid domain name"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("dns.view[0].record[10].value: 'not-an-ip' is not an IPv4 address"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("dns.view[0].record[11].type"), std::string::npos) << m;
  EXPECT_NE(m.find("dns.view[0].record[12]: a CNAME cannot coexist"), std::string::npos) << m;
  EXPECT_NE(m.find("dns.view[0].private_endpoint[1].name"), std::string::npos) << m;
  EXPECT_NE(m.find("dns.view[1].clients: empty"), std::string::npos) << m;
}

TEST(TablesTest, ForwardZonesLongestMatch) {
  config::Dns dns = sampleConfig();
  dns.forward_zones = {{"corp.example", {{ip("10.0.0.2"), 53}}},
                       {"a.corp.example", {{ip("10.0.0.3"), 53}}}};
  auto t = build(dns);
  auto name = [](const char* text) {
    uint8_t buf[kMaxNameWire];
    size_t len = 0;
    textToWireName(text, buf, &len);
    return std::string(reinterpret_cast<char*>(buf), len);
  };
  EXPECT_EQ(t->upstreamsFor(name("x.a.corp.example"))[0].address, ip("10.0.0.3"));
  EXPECT_EQ(t->upstreamsFor(name("b.corp.example"))[0].address, ip("10.0.0.2"));
  EXPECT_EQ(t->upstreamsFor(name("example.org"))[0].port, 5353);
}

}  // namespace
}  // namespace crossgate::dns
