// [dns]: listen addresses, upstreams, forward zones and views with their records.
#include <map>
#include <string>

#include "sections.h"
#include "values.h"

namespace crossgate::config::detail {
namespace {

constexpr uint32_t kMaxTtl = 2147483647;  // RFC 2181 section 8

std::string upper(std::string text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return text;
}

// Checks `value` against the record type; stores the canonical form in *out.
bool checkRecordValue(const std::string& type, const std::string& value, std::string* out,
                      std::string* error) {
  if (type == "A" || type == "AAAA") {
    auto ip = IpAddress::parse(value);
    const bool want_v4 = type == "A";
    if (hasControlCharacter(value) || !ip || ip->isV4() != want_v4) {
      *error = std::string(want_v4 ? "an A record needs an IPv4 address"
                                   : "an AAAA record needs an IPv6 address") +
               ", found '" + value + "'";
      return false;
    }
    *out = ip->toString();
    return true;
  }
  if (type == "CNAME" || type == "PTR") {
    std::string why;
    auto name = normalizeDnsName(value, &why);
    if (!name) {
      *error = "a " + type + " record needs a DNS name: " + why;
      return false;
    }
    *out = *name;
    return true;
  }
  if (value.size() > 255) {  // TXT: one character-string
    *error = "a TXT value must be at most 255 bytes, found " + std::to_string(value.size());
    return false;
  }
  *out = value;
  return true;
}

// Names seen in one view: a CNAME must be the only record of its name.
using NameIndex = std::map<std::string, std::pair<Loc, bool /*cname*/>>;

void checkCnameConflict(const Document& doc, NameIndex& seen, const DnsRecord& record,
                        const Loc& loc) {
  const bool cname = record.type == "CNAME";
  auto [it, inserted] = seen.emplace(record.name, std::make_pair(loc, cname));
  if (!inserted && (cname || it->second.second)) {
    doc.error(loc, "a CNAME cannot coexist with other records for '" + record.name + "' (" +
                       it->second.first.path + " at " + it->second.first.where() + ")");
  }
}

std::optional<DnsRecord> readRecord(TableReader& r) {
  DnsRecord record;
  bool ok = true;
  if (auto name = r.dnsName("name", Need::kRequired)) {
    record.name = *name;
  } else {
    ok = false;
  }
  auto type = r.string("type", Need::kRequired);
  if (type) {
    record.type = upper(type->value);
    if (record.type != "A" && record.type != "AAAA" && record.type != "CNAME" &&
        record.type != "TXT" && record.type != "PTR") {
      r.doc().error(type->loc,
                    "must be one of A, AAAA, CNAME, TXT, PTR; found \"" + type->value + "\"");
      type.reset();
    }
  }
  auto value = r.string("value", Need::kRequired);
  if (type && value) {
    std::string why;
    if (!checkRecordValue(record.type, value->value, &record.value, &why)) {
      r.doc().error(value->loc, why);
      ok = false;
    }
  }
  r.u32("ttl", &record.ttl, 0, kMaxTtl);
  if (!ok || !type || !value) {
    return std::nullopt;
  }
  return record;
}

DnsPrivateEndpoint readPrivateEndpoint(TableReader& r, Registry& registry) {
  DnsPrivateEndpoint endpoint;
  if (auto name = r.dnsName("name", Need::kRequired)) {
    std::string why;
    if (isPrivateEndpointName(*name, &why)) {
      endpoint.name = *name;
      registry.claim(r.doc(), r.path().substr(0, r.path().rfind('.')), "private endpoint", *name,
                     r.keyLoc("name"));
    } else {
      r.error("name", why);
    }
  }
  if (auto ip = r.ip("address", Need::kRequired)) {
    endpoint.address = ip->value;
  }
  r.u32("ttl", &endpoint.ttl, 0, kMaxTtl);
  return endpoint;
}

DnsPrivateZone readPrivateZone(TableReader& r, Registry& registry) {
  DnsPrivateZone zone;
  if (auto name = r.dnsName("zone", Need::kRequired)) {
    zone.zone = *name;
    registry.claim(r.doc(), r.path().substr(0, r.path().rfind('.')) + ".zone", "private zone",
                   *name, r.keyLoc("zone"));
  }
  r.boolean("fallback", &zone.fallback);
  return zone;
}

// Runs `read` on each table of the array `key` with a reader for "<path>.key[i]".
template <typename F>
void forEachTable(TableReader& r, std::string_view key, Need need, F read) {
  const toml::array* array = r.tables(key, need);
  if (array == nullptr) {
    return;
  }
  const std::string base = childPath(r.path(), key);
  for (size_t i = 0; i < array->size(); ++i) {
    if (const toml::table* table = array->get(i)->as_table()) {
      TableReader reader(r.doc(), *table, indexPath(base, i));
      read(reader);
    }
  }
}

DnsView readView(TableReader& r, Registry& registry) {
  DnsView view;
  if (auto name = r.string("name", Need::kRequired)) {
    std::string why;
    if (isValidName(name->value, 32, &why)) {
      view.name = name->value;
      registry.claim(r.doc(), "dns.view", "view name", view.name, name->loc);
    } else {
      r.doc().error(name->loc, why);
    }
  }
  for (const auto& cidr : r.cidrs("clients", Need::kRequired)) {
    view.clients.push_back(cidr.value);
  }
  NameIndex names;
  forEachTable(r, "record", Need::kOptional, [&](TableReader& reader) {
    if (auto record = readRecord(reader)) {
      checkCnameConflict(reader.doc(), names, *record, reader.keyLoc("name"));
      view.records.push_back(std::move(*record));
    }
  });
  forEachTable(r, "private_endpoint", Need::kOptional, [&](TableReader& reader) {
    view.private_endpoints.push_back(readPrivateEndpoint(reader, registry));
  });
  forEachTable(r, "private_zone", Need::kOptional, [&](TableReader& reader) {
    view.private_zones.push_back(readPrivateZone(reader, registry));
  });
  return view;
}

DnsForwardZone readForwardZone(TableReader& r, Registry& registry) {
  DnsForwardZone zone;
  if (auto name = r.dnsName("zone", Need::kRequired)) {
    zone.zone = *name;
    registry.claim(r.doc(), "dns.forward_zone", "forward zone", *name, r.keyLoc("zone"));
  }
  zone.servers = r.endpoints("servers", Need::kRequired);
  return zone;
}

}  // namespace

void readDns(TableReader& root, Dns* out, Registry& registry) {
  const toml::table* table = root.table("dns");
  if (table == nullptr) {
    return;
  }
  TableReader r(root.doc(), *table, "dns");
  r.boolean("enabled", &out->enabled);
  out->listen = r.ips("listen");
  uint32_t port = out->port;
  if (r.u32("port", &port, 1, 65535)) {
    out->port = static_cast<uint16_t>(port);
  }
  out->upstreams = r.endpoints("upstreams");
  r.u32("timeout_ms", &out->timeout_ms, 1, 60000);
  r.u32("retries", &out->retries, 0, 10);
  r.u32("cache_size", &out->cache_size, 0, 10000000);
  r.u32("max_cache_ttl_s", &out->max_cache_ttl_s, 1, 604800);
  r.u32("max_negative_ttl_s", &out->max_negative_ttl_s, 1, 86400);
  r.u32("rate_limit_qps", &out->rate_limit_qps, 0, 1000000);
  r.absolutePath("stats_socket", &out->stats_socket, /*is_socket=*/true);
  if (auto user = r.string("user")) {
    std::string why;
    if (user->value.empty() || isValidUserName(user->value, &why)) {
      out->user = user->value;
    } else {
      r.doc().error(user->loc, why);
    }
  }
  forEachTable(r, "forward_zone", Need::kOptional, [&](TableReader& reader) {
    out->forward_zones.push_back(readForwardZone(reader, registry));
  });
  forEachTable(r, "view", Need::kOptional,
               [&](TableReader& reader) { out->views.push_back(readView(reader, registry)); });
}

}  // namespace crossgate::config::detail
