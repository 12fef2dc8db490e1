// CPU cost of the query path without I/O: a local private-endpoint answer, a CNAME chain, a
// cache hit, and a REFUSED for an unknown client, against tables with 10,000 endpoints.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "crossgate/dns/cache.h"
#include "crossgate/dns/handler.h"
#include "crossgate/dns/tables.h"
// After the C++ headers: ldns's headers define bool helpers that upset <optional>.
#include <ldns/ldns.h>

namespace {

using namespace crossgate;       // NOLINT
using namespace crossgate::dns;  // NOLINT

std::vector<uint8_t> query(const std::string& name, uint16_t type) {
  ldns_pkt* pkt = nullptr;
  ldns_pkt_query_new_frm_str(&pkt, name.c_str(), static_cast<ldns_rr_type>(type), LDNS_RR_CLASS_IN,
                             LDNS_RD);
  ldns_pkt_set_edns_udp_size(pkt, 1232);
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_pkt2wire(&wire, pkt, &size);
  std::vector<uint8_t> out(wire, wire + size);
  free(wire);
  ldns_pkt_free(pkt);
  return out;
}

struct Fixture {
  std::shared_ptr<const Tables> tables;
  Cache cache{100000};
  ThreadStats stats;
  std::vector<uint8_t> out = std::vector<uint8_t>(kMaxMessage);
  ForwardRequest fwd;

  Fixture() {
    config::Dns dns;
    dns.upstreams = {config::DnsEndpoint{*IpAddress::parse("192.0.2.53"), 53}};
    config::DnsView aws;
    aws.name = "aws";
    aws.clients = {*Cidr::parse("10.10.0.0/16")};
    for (int i = 0; i < 10000; ++i) {
      aws.private_endpoints.push_back(
          {"acct" + std::to_string(i) + ".privatelink.dfs.core.windows.net",
           IpAddress::v4(0x0A140000u + static_cast<uint32_t>(i)), 10});
    }
    dns.views = {aws};
    tables = buildTables(dns).value();
    auto up = query("www.example.org", 1);
    up[2] |= 0x80;
    up[11] = 0;  // drop OPT from the counts
    up.resize(up.size() - 11);
    static const uint8_t kA[] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x0E, 0x10, 0, 4, 203, 0, 113, 80};
    up.insert(up.end(), kA, kA + sizeof(kA));
    up[7] = 1;
    up[0] = up[1] = 0;
    uint8_t keybuf[kMaxNameWire + 4];
    cache.insert(cacheKey(std::string_view("\x03www\x07"
                                           "example\x03org\x00",
                                           17),
                          1, 1, keybuf),
                 up.data(), up.size(), 0, 86400, 3600);
  }

  void run(benchmark::State& state, const std::vector<uint8_t>& q, const char* client) {
    const IpAddress ip = *IpAddress::parse(client);
    for (auto _ : state) {
      HandleResult r = handleQuery(*tables, &cache, q.data(), q.size(), ip, false, 1000, out.data(),
                                   &fwd, &stats);
      benchmark::DoNotOptimize(r);
    }
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_PrivatelinkA(benchmark::State& state) {
  fixture().run(state, query("acct4242.privatelink.dfs.core.windows.net", 1), "10.10.1.10");
}
void BM_PublicNameChain(benchmark::State& state) {
  fixture().run(state, query("acct4242.dfs.core.windows.net", 1), "10.10.1.10");
}
void BM_CacheHit(benchmark::State& state) {
  fixture().run(state, query("www.example.org", 1), "10.10.1.10");
}
void BM_Refused(benchmark::State& state) {
  fixture().run(state, query("www.example.org", 1), "198.51.100.1");
}
BENCHMARK(BM_PrivatelinkA);
BENCHMARK(BM_PublicNameChain);
BENCHMARK(BM_CacheHit);
BENCHMARK(BM_Refused);

}  // namespace

BENCHMARK_MAIN();
