// The compiled, immutable form of the `dns` config: views with precompiled wire-format answer
// templates (built with ldns at load time), private zones with their synthesized SOA, and the
// forwarding table. A reload builds a new Tables and swaps the pointer; queries in flight keep
// the old one alive through their shared_ptr.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "crossgate/common/net.h"
#include "crossgate/common/result.h"
#include "crossgate/dns/wire.h"
#include "crossgate/mgmt/config.h"

namespace crossgate::dns {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using NameMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// A complete response message without OPT: header (ID 0; flags hold AA and the rcode), the
// question in lower case (its type is patched per query), then answer and authority records.
// Compression pointers may point into the question, whose length is fixed by the name.
struct Template {
  std::vector<uint8_t> wire;
  Rcode rcode = Rcode::kNoError;
  bool authoritative = true;
  // A local CNAME chain that leaves local data: `wire` holds the chain, and the answer for
  // `external_target` (lower-case wire name) must be fetched upstream and appended.
  bool external = false;
  std::string external_target;
};

// Type slots with precompiled answers; every other type uses kSlotOther (NODATA, or the CNAME
// chain to a NODATA).
enum Slot : uint8_t {
  kSlotA,
  kSlotAaaa,
  kSlotCname,
  kSlotTxt,
  kSlotPtr,
  kSlotSoa,
  kSlotOther,
  kSlotCount
};
Slot slotFor(uint16_t qtype) noexcept;

struct Node {
  std::array<uint8_t, kSlotCount> slot{};  // index into templates
  uint8_t any_index = 0;                   // RFC 8482: the one RRset given for ANY
  std::vector<Template> templates;
  const Template& forType(uint16_t qtype) const noexcept {
    return templates[qtype == rrtype::kAny ? any_index : slot[slotFor(qtype)]];
  }
};

struct PrivateZone {
  std::string name_text;  // "privatelink.dfs.core.windows.net"
  bool fallback = false;
  bool implicit = false;  // created for a private endpoint, not declared
  // The SOA record after its owner name: type, class, TTL, rdlength, rdata.
  std::vector<uint8_t> soa_tail;
  uint32_t negative_ttl = 0;
};

struct View {
  std::string name;
  std::vector<Cidr> clients;
  NameMap<Node> nodes;         // lower-case wire name -> answers
  NameMap<PrivateZone> zones;  // lower-case wire zone name -> zone
  size_t stats_slot = 0;
};

struct ForwardZone {
  std::string name_text;
  std::vector<config::DnsEndpoint> servers;
};

struct Tables {
  std::vector<View> views;
  std::vector<config::DnsEndpoint> upstreams;
  NameMap<ForwardZone> forward_zones;  // lower-case wire zone name -> servers
  uint32_t timeout_ms = 1500;
  uint32_t retries = 2;
  uint32_t max_cache_ttl_s = 86400;
  uint32_t max_negative_ttl_s = 3600;
  uint32_t rate_limit_qps = 0;
  size_t cache_size = 10000;

  // First view whose client CIDRs contain `client`, or nullptr (REFUSED).
  const View* selectView(const IpAddress& client) const noexcept;
  // Longest forward zone containing the question name, else the default upstreams.
  const std::vector<config::DnsEndpoint>& upstreamsFor(
      std::string_view lower_wire_name) const noexcept;
};

// Negative-answer SOA values (Azure private DNS zones use the same shape).
inline constexpr uint32_t kSoaTtl = 300;
inline constexpr uint32_t kSoaMinimum = 10;

// Validates the `dns` section as a whole and compiles it. Errors name the key path
// ("dns.view[0].record[2].value: ...") and are joined by newlines.
// `stats_slot` maps a view name to its counter slot (stable across reloads); by default a
// view's slot is its index.
Result<std::shared_ptr<const Tables>> buildTables(
    const config::Dns& dns, const std::function<size_t(const std::string&)>& stats_slot = {});

}  // namespace crossgate::dns
