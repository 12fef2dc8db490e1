// Helpers for the dns unit tests: config building, query building and response parsing with
// ldns (an implementation independent of the code under test).
#pragma once

#include <ldns/ldns.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "crossgate/dns/handler.h"
#include "crossgate/dns/tables.h"
#include "crossgate/mgmt/config.h"

namespace crossgate::dns::testing {

inline Cidr cidr(const char* text) { return *Cidr::parse(text); }
inline IpAddress ip(const char* text) { return *IpAddress::parse(text); }

// The reference config: an "aws" view with the private endpoint, local records and a private
// zone; a "corp" view with nothing local (everything forwarded).
inline config::Dns sampleConfig() {
  config::Dns dns;
  dns.listen = {ip("127.0.0.1")};
  dns.upstreams = {config::DnsEndpoint{ip("127.0.0.1"), 5353}};
  config::DnsView aws;
  aws.name = "aws";
  aws.clients = {cidr("10.10.0.0/16")};
  aws.private_endpoints = {{"acct.privatelink.dfs.core.windows.net", ip("10.20.1.5"), 10}};
  aws.records = {{"www.corp.example", "A", "10.20.0.10", 300},
                 {"www.corp.example", "A", "10.20.0.11", 300},
                 {"v6.corp.example", "AAAA", "2001:db8::5", 300},
                 {"alias.corp.example", "CNAME", "www.corp.example", 60},
                 {"out.corp.example", "CNAME", "www.example.org", 60},
                 {"txt.corp.example", "TXT", "hello world", 300},
                 {"big.corp.example", "TXT", std::string(1500, 'x'), 300},
                 {"5.0.20.10.in-addr.arpa", "PTR", "host.corp.example", 300},
                 {"db.internal.example", "A", "10.20.3.3", 30}};
  aws.private_zones = {{"internal.example", false}};
  config::DnsView corp;
  corp.name = "corp";
  corp.clients = {cidr("192.0.2.0/24"), cidr("2001:db8:1::/48")};
  dns.views = {aws, corp};
  return dns;
}

inline std::shared_ptr<const Tables> build(const config::Dns& dns) {
  auto r = buildTables(dns);
  if (!r.ok()) {
    ADD_FAILURE() << r.error().message;
    return nullptr;
  }
  return r.value();
}

struct QueryOptions {
  uint16_t id = 0x1234;
  bool rd = true;
  int edns_size = -1;  // -1: no OPT
  bool dnssec_ok = false;
};

inline std::vector<uint8_t> makeQuery(const std::string& name, uint16_t type,
                                      const QueryOptions& o = {}) {
  ldns_pkt* pkt = nullptr;
  ldns_pkt_query_new_frm_str(&pkt, name.c_str(), static_cast<ldns_rr_type>(type), LDNS_RR_CLASS_IN,
                             o.rd ? LDNS_RD : 0);
  ldns_pkt_set_id(pkt, o.id);
  if (o.edns_size >= 0) {
    ldns_pkt_set_edns_udp_size(pkt, static_cast<uint16_t>(o.edns_size));
    ldns_pkt_set_edns_do(pkt, o.dnssec_ok);
  }
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_pkt2wire(&wire, pkt, &size);
  std::vector<uint8_t> out(wire, wire + size);
  free(wire);
  ldns_pkt_free(pkt);
  return out;
}

struct PktDeleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktDeleter>;

inline Pkt parse(const uint8_t* data, size_t len) {
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, data, len) != LDNS_STATUS_OK) {
    return nullptr;
  }
  return Pkt(pkt);
}

inline std::string rrText(const ldns_rr* rr) {
  char* s = ldns_rr2str(rr);
  std::string out(s);
  free(s);
  while (!out.empty() && (out.back() == '\n')) {
    out.pop_back();
  }
  return out;
}

inline std::vector<std::string> section(const ldns_pkt* pkt, ldns_pkt_section which) {
  std::vector<std::string> out;
  ldns_rr_list* list = which == LDNS_SECTION_ANSWER      ? ldns_pkt_answer(pkt)
                       : which == LDNS_SECTION_AUTHORITY ? ldns_pkt_authority(pkt)
                                                         : ldns_pkt_additional(pkt);
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    out.push_back(rrText(ldns_rr_list_rr(list, i)));
  }
  return out;
}

}  // namespace crossgate::dns::testing
