// Fuzz target dns_query: arbitrary bytes as a client query, over UDP and over TCP, from a client
// in the "aws" view (local data, private zones, privatelink synthesis), from one in the "corp"
// view (cache hits, forwarding) and from an unknown client. The response must be well formed
// and never exceed the transport's limit.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "crossgate/dns/cache.h"
#include "crossgate/dns/handler.h"
#include "crossgate/dns/tables.h"

namespace {

using namespace crossgate;       // NOLINT
using namespace crossgate::dns;  // NOLINT

struct Env {
  std::shared_ptr<const Tables> tables;
  Cache cache{64};
  std::unique_ptr<ThreadStats> stats = std::make_unique<ThreadStats>();
  std::vector<uint8_t> out = std::vector<uint8_t>(kMaxMessage);

  Env() {
    config::Dns dns;
    dns.upstreams = {config::DnsEndpoint{*IpAddress::parse("192.0.2.53"), 53}};
    config::DnsView aws;
    aws.name = "aws";
    aws.clients = {*Cidr::parse("10.10.0.0/16")};
    aws.private_endpoints = {
        {"acct.privatelink.dfs.core.windows.net", *IpAddress::parse("10.20.1.5"), 10},
        {"acct.privatelink.blob.core.windows.net", *IpAddress::parse("2001:db8::5"), 10}};
    aws.records = {{"www.corp.example", "A", "10.20.0.10", 300},
                   {"alias.corp.example", "CNAME", "www.corp.example", 60},
                   {"out.corp.example", "CNAME", "www.example.org", 60},
                   {"big.corp.example", "TXT", std::string(1400, 'x'), 300}};
    aws.private_zones = {{"corp.example", false}, {"privatelink.dfs.core.windows.net", false}};
    config::DnsView corp;
    corp.name = "corp";
    corp.clients = {*Cidr::parse("192.0.2.0/24")};
    dns.views = {aws, corp};
    auto built = buildTables(dns);
    if (!built.ok()) {
      std::abort();
    }
    tables = built.value();
    // One cached forwarded answer: example.org A.
    static const uint8_t kCached[] = {0, 0,    0x81, 0x80, 0,   1,    0,    1,   0, 0,   0,   0,
                                      7, 'e',  'x',  'a',  'm', 'p',  'l',  'e', 3, 'o', 'r', 'g',
                                      0, 0,    1,    0,    1,   0xC0, 0x0C, 0,   1, 0,   1,   0,
                                      0, 0x0E, 0x10, 0,    4,   203,  0,    113, 80};
    uint8_t keybuf[kMaxNameWire + 4];
    cache.insert(
        cacheKey(std::string_view(reinterpret_cast<const char*>(kCached) + 12, 13), 1, 1, keybuf),
        kCached, sizeof(kCached), 0, 86400, 3600);
  }
};

void checkResponse(const std::vector<uint8_t>& out, const HandleResult& r, size_t limit) {
  if (r.verdict != Verdict::kReply) {
    return;
  }
  if (r.length < kHeaderSize || r.length > limit) {
    std::abort();
  }
  // Every record the response claims must be there.
  size_t off = kHeaderSize;
  const uint16_t qd = readU16(out.data() + 4);
  for (uint16_t i = 0; i < qd; ++i) {
    if (!skipName(out.data(), r.length, &off) || off + 4 > r.length) {
      std::abort();
    }
    off += 4;
  }
  const uint32_t rrs =
      uint32_t{readU16(out.data() + 6)} + readU16(out.data() + 8) + readU16(out.data() + 10);
  for (uint32_t i = 0; i < rrs; ++i) {
    RrRef rr;
    if (!nextRr(out.data(), r.length, &off, &rr)) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Env env;
  static const IpAddress kClients[] = {*IpAddress::parse("10.10.1.10"),
                                       *IpAddress::parse("192.0.2.7"),
                                       *IpAddress::parse("198.51.100.1")};
  for (const IpAddress& client : kClients) {
    for (const bool tcp : {false, true}) {
      ForwardRequest fwd;
      const HandleResult r = handleQuery(*env.tables, &env.cache, data, size, client, tcp, 1000,
                                         env.out.data(), &fwd, env.stats.get());
      ParsedQuery q;
      const size_t limit =
          parseQuery(data, size, &q) == ParseStatus::kOk ? responseLimit(q, tcp) : kMaxMessage;
      checkResponse(env.out, r, tcp ? kMaxMessage : std::max<size_t>(limit, 512));
    }
  }
  return 0;
}
