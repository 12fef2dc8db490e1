#include "crossgate/dns/tables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "ldns_util.h"

namespace crossgate::dns {
namespace {

constexpr uint16_t kPlaceholderType = 65280;  // private-use type: no local data has it
constexpr int kMaxChain = 8;
constexpr uint32_t kMaxTtl = 0x7FFFFFFF;
constexpr const char* kSoaMname = "ns.crossgate.invalid.";
constexpr const char* kSoaRname = "hostmaster.crossgate.invalid.";

std::string wireName(std::string_view text, bool* ok) {
  uint8_t buf[kMaxNameWire];
  size_t len = 0;
  *ok = textToWireName(text, buf, &len);
  return *ok ? std::string(reinterpret_cast<const char*>(buf), len) : std::string();
}

// Parent of a wire name ("" for the root).
std::string_view parentOf(std::string_view wire) {
  if (wire.empty() || wire[0] == 0) {
    return {};
  }
  return wire.substr(1 + static_cast<uint8_t>(wire[0]));
}

struct NameData {
  std::map<uint16_t, std::vector<RrPtr>> rrsets;
};

struct Resolution {
  Rcode rcode = Rcode::kNoError;
  std::vector<const ldns_rr*> answer;
  std::vector<const ldns_rr*> authority;
  bool external = false;
  std::string external_target;

  bool operator==(const Resolution&) const = default;
};

RrPtr makeRr(std::string_view owner_wire, uint16_t type, uint32_t ttl) {
  RrPtr rr(ldns_rr_new());
  ldns_rr_set_owner(rr.get(), dnameFromWire(owner_wire).release());
  ldns_rr_set_type(rr.get(), static_cast<ldns_rr_type>(type));
  ldns_rr_set_class(rr.get(), LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(rr.get(), ttl);
  return rr;
}

class ViewBuilder {
 public:
  ViewBuilder(const config::DnsView& cfg, std::string prefix, std::vector<std::string>* errors)
      : cfg_(cfg), prefix_(std::move(prefix)), errors_(errors) {}

  bool build(View* view);

 private:
  void error(const std::string& key, const std::string& message) {
    errors_->push_back(fmt::format("{}.{}: {}", prefix_, key, message));
  }
  void addRecords();
  void addPrivateEndpoints();
  void addZones();
  void addRr(const std::string& owner, RrPtr rr, const std::string& key);
  const PrivateZone* enclosingZone(std::string_view name, std::string* zone_wire) const;
  const ldns_rr* soaFor(std::string_view name);
  Resolution resolve(const std::string& name, uint16_t qtype);
  Template compile(const std::string& name, uint16_t qtype, const Resolution& r) const;
  Node compileNode(const std::string& name);

  const config::DnsView& cfg_;
  std::string prefix_;
  std::vector<std::string>* errors_;
  std::map<std::string, NameData> names_;
  NameMap<PrivateZone> zones_;
  std::map<std::string, RrPtr> soas_;  // zone wire name -> SOA record
};

void ViewBuilder::addRr(const std::string& owner, RrPtr rr, const std::string& key) {
  NameData& data = names_[owner];
  const uint16_t type = ldns_rr_get_type(rr.get());
  const bool has_cname = data.rrsets.count(rrtype::kCname) != 0;
  if ((type == rrtype::kCname && !data.rrsets.empty()) || (type != rrtype::kCname && has_cname)) {
    error(key, "a CNAME cannot coexist with other records of the same name");
    return;
  }
  data.rrsets[type].push_back(std::move(rr));
}

void ViewBuilder::addRecords() {
  for (size_t i = 0; i < cfg_.records.size(); ++i) {
    const config::DnsRecord& rec = cfg_.records[i];
    const std::string key = fmt::format("record[{}]", i);
    bool ok = false;
    const std::string owner = wireName(rec.name, &ok);
    if (!ok) {
      error(key + ".name", fmt::format("'{}' is not a valid domain name", rec.name));
      continue;
    }
    if (rec.ttl > kMaxTtl) {
      error(key + ".ttl", "must be at most 2147483647");
      continue;
    }
    RdfPtr rdata;
    uint16_t type = 0;
    if (rec.type == "A" || rec.type == "AAAA") {
      const auto ip = IpAddress::parse(rec.value);
      const bool v4 = rec.type == "A";
      if (!ip || ip->isV4() != v4) {
        error(key + ".value", fmt::format("'{}' is not an IPv{} address", rec.value, v4 ? 4 : 6));
        continue;
      }
      type = v4 ? rrtype::kA : rrtype::kAaaa;
      rdata.reset(ldns_rdf_new_frm_data(v4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, v4 ? 4 : 16,
                                        ip->bytes().data()));
    } else if (rec.type == "CNAME" || rec.type == "PTR") {
      const std::string target = wireName(rec.value, &ok);
      if (!ok) {
        error(key + ".value", fmt::format("'{}' is not a valid domain name", rec.value));
        continue;
      }
      type = rec.type == "CNAME" ? rrtype::kCname : rrtype::kPtr;
      rdata = dnameFromWire(target);
    } else if (rec.type == "TXT") {
      if (rec.value.size() > 8192) {
        error(key + ".value", "TXT values are limited to 8192 characters");
        continue;
      }
      type = rrtype::kTxt;
    } else {
      error(key + ".type", fmt::format("'{}' is not one of A, AAAA, CNAME, TXT, PTR", rec.type));
      continue;
    }
    RrPtr rr = makeRr(owner, type, rec.ttl);
    if (type == rrtype::kTxt) {
      // Character-strings of at most 255 bytes; an empty value is one empty string.
      size_t pos = 0;
      do {
        const size_t n = std::min<size_t>(255, rec.value.size() - pos);
        uint8_t buf[256];
        buf[0] = static_cast<uint8_t>(n);
        std::memcpy(buf + 1, rec.value.data() + pos, n);
        ldns_rr_push_rdf(rr.get(), ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, buf));
        pos += n;
      } while (pos < rec.value.size());
    } else {
      ldns_rr_push_rdf(rr.get(), rdata.release());
    }
    addRr(owner, std::move(rr), key);
  }
}

void ViewBuilder::addPrivateEndpoints() {
  for (size_t i = 0; i < cfg_.private_endpoints.size(); ++i) {
    const config::DnsPrivateEndpoint& pe = cfg_.private_endpoints[i];
    const std::string key = fmt::format("private_endpoint[{}]", i);
    bool ok = false;
    const std::string pl = wireName(pe.name, &ok);
    // <account>.privatelink.<service domain with at least two labels>
    const std::string_view zone = ok ? parentOf(pl) : std::string_view();
    const bool shaped = ok && zone.size() > 12 &&
                        zone.substr(0, 12) == std::string_view("\x0bprivatelink", 12) &&
                        !parentOf(parentOf(zone.substr(12))).empty();
    if (!shaped) {
      error(key + ".name", fmt::format("'{}' is not <account>.privatelink.<service domain> "
                                       "(e.g. acct.privatelink.dfs.core.windows.net)",
                                       pe.name));
      continue;
    }
    if (pe.ttl > kMaxTtl) {
      error(key + ".ttl", "must be at most 2147483647");
      continue;
    }
    const bool v4 = pe.address.isV4();
    RrPtr addr = makeRr(pl, v4 ? rrtype::kA : rrtype::kAaaa, pe.ttl);
    ldns_rr_push_rdf(addr.get(), ldns_rdf_new_frm_data(v4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
                                                       v4 ? 4 : 16, pe.address.bytes().data()));
    addRr(pl, std::move(addr), key);
    // The public name: the account label followed by the service domain.
    const std::string account = pl.substr(0, 1 + static_cast<uint8_t>(pl[0]));
    const std::string pub = account + std::string(zone.substr(12));
    auto it = names_.find(pub);
    if (it == names_.end() || it->second.rrsets.count(rrtype::kCname) == 0) {
      RrPtr cname = makeRr(pub, rrtype::kCname, pe.ttl);
      ldns_rr_push_rdf(cname.get(), dnameFromWire(pl).release());
      addRr(pub, std::move(cname), key);
    }
    const std::string zone_wire(zone);
    if (zones_.find(zone_wire) == zones_.end()) {
      PrivateZone z;
      z.fallback = true;  // other tenants' accounts resolve publicly (see dns/README.md)
      z.implicit = true;
      zones_.emplace(zone_wire, std::move(z));
    }
  }
}

void ViewBuilder::addZones() {
  for (size_t i = 0; i < cfg_.private_zones.size(); ++i) {
    const config::DnsPrivateZone& pz = cfg_.private_zones[i];
    bool ok = false;
    const std::string zone = wireName(pz.zone, &ok);
    if (!ok || zone.size() <= 1) {
      error(fmt::format("private_zone[{}].zone", i),
            fmt::format("'{}' is not a valid zone name", pz.zone));
      continue;
    }
    auto it = zones_.find(zone);
    if (it != zones_.end() && !it->second.implicit) {
      error(fmt::format("private_zone[{}].zone", i),
            fmt::format("'{}' is declared twice", pz.zone));
      continue;
    }
    PrivateZone z;
    z.fallback = pz.fallback;
    zones_[zone] = std::move(z);
  }
}

const PrivateZone* ViewBuilder::enclosingZone(std::string_view name, std::string* zone_wire) const {
  for (std::string_view n = name; !n.empty(); n = parentOf(n)) {
    auto it = zones_.find(n);
    if (it != zones_.end()) {
      if (zone_wire != nullptr) {
        *zone_wire = std::string(n);
      }
      return &it->second;
    }
  }
  return nullptr;
}

// The SOA for negative answers at `name`: its private zone's, else one synthesized for the
// parent of the name (local records outside private zones).
const ldns_rr* ViewBuilder::soaFor(std::string_view name) {
  std::string zone;
  if (enclosingZone(name, &zone) == nullptr) {
    zone = std::string(parentOf(name).empty() ? name : parentOf(name));
  }
  auto it = soas_.find(zone);
  if (it != soas_.end()) {
    return it->second.get();
  }
  RrPtr soa = makeRr(zone, rrtype::kSoa, kSoaTtl);
  ldns_rr_push_rdf(soa.get(), ldns_dname_new_frm_str(kSoaMname));
  ldns_rr_push_rdf(soa.get(), ldns_dname_new_frm_str(kSoaRname));
  for (uint32_t v : {1u, 3600u, 300u, 2419200u, kSoaMinimum}) {
    ldns_rr_push_rdf(soa.get(), ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, v));
  }
  return soas_.emplace(zone, std::move(soa)).first->second.get();
}

Resolution ViewBuilder::resolve(const std::string& name, uint16_t qtype) {
  Resolution r;
  std::string cur = name;
  for (int depth = 0;; ++depth) {
    auto it = names_.find(cur);
    if (it == names_.end()) {  // only after a CNAME: the chain leaves local data
      const PrivateZone* zone = enclosingZone(cur, nullptr);
      if (zone != nullptr && !zone->fallback) {
        r.rcode = Rcode::kNxDomain;
        r.authority.push_back(soaFor(cur));
      } else {
        r.external = true;
        r.external_target = cur;
      }
      return r;
    }
    const auto& rrsets = it->second.rrsets;
    auto cname = rrsets.find(rrtype::kCname);
    if (cname != rrsets.end() && qtype != rrtype::kCname && depth < kMaxChain) {
      const ldns_rr* rr = cname->second.front().get();
      r.answer.push_back(rr);
      const ldns_rdf* target = ldns_rr_rdf(rr, 0);
      cur.assign(reinterpret_cast<const char*>(ldns_rdf_data(target)), ldns_rdf_size(target));
      continue;
    }
    auto set = rrsets.find(qtype);
    if (set != rrsets.end()) {
      for (const auto& rr : set->second) {
        r.answer.push_back(rr.get());
      }
    } else if (qtype == rrtype::kSoa && zones_.count(cur) != 0) {
      r.answer.push_back(soaFor(cur));
    } else {
      r.authority.push_back(soaFor(cur));
    }
    return r;
  }
}

Template ViewBuilder::compile(const std::string& name, uint16_t qtype, const Resolution& r) const {
  PktPtr pkt(ldns_pkt_new());
  ldns_pkt_set_qr(pkt.get(), true);
  ldns_pkt_set_aa(pkt.get(), true);
  ldns_pkt_set_rcode(pkt.get(), static_cast<uint8_t>(r.rcode));
  ldns_rr* question = ldns_rr_new();
  ldns_rr_set_owner(question, dnameFromWire(name).release());
  ldns_rr_set_type(question, static_cast<ldns_rr_type>(qtype));
  ldns_rr_set_class(question, LDNS_RR_CLASS_IN);
  ldns_rr_set_question(question, true);
  ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_QUESTION, question);
  for (const ldns_rr* rr : r.answer) {
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_ANSWER, ldns_rr_clone(rr));
  }
  for (const ldns_rr* rr : r.authority) {
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_AUTHORITY, ldns_rr_clone(rr));
  }
  Template t;
  t.wire = packetToWire(pkt.get());
  t.rcode = r.rcode;
  t.external = r.external;
  t.external_target = r.external_target;
  return t;
}

Node ViewBuilder::compileNode(const std::string& name) {
  static constexpr std::array<uint16_t, kSlotCount> kTypes = {
      rrtype::kA,   rrtype::kAaaa, rrtype::kCname,  rrtype::kTxt,
      rrtype::kPtr, rrtype::kSoa,  kPlaceholderType};
  Node node;
  // Types that resolve alike (typically every NODATA type: the SOA) share one template: the
  // handler writes the query's own question over the template's, so its type does not matter.
  std::vector<Resolution> seen;
  for (size_t s = 0; s < kTypes.size(); ++s) {
    Resolution r = resolve(name, kTypes[s]);
    const auto same = std::find(seen.begin(), seen.end(), r);
    if (same != seen.end()) {
      node.slot[s] = static_cast<uint8_t>(same - seen.begin());
      continue;
    }
    node.slot[s] = static_cast<uint8_t>(node.templates.size());
    node.templates.push_back(compile(name, kTypes[s], r));
    seen.push_back(std::move(r));
  }
  // RFC 8482: ANY gets one RRset, the first type present here (a CNAME if the name has one).
  node.any_index = node.slot[kSlotOther];
  const auto& rrsets = names_.at(name).rrsets;
  for (size_t s = 0; s < kSlotOther; ++s) {
    if (rrsets.count(kTypes[s]) != 0 || (kTypes[s] == rrtype::kSoa && zones_.count(name) != 0)) {
      node.any_index = node.slot[s];
      break;
    }
  }
  return node;
}

bool ViewBuilder::build(View* view) {
  const size_t errors_before = errors_->size();
  view->name = cfg_.name;
  view->clients = cfg_.clients;
  if (cfg_.clients.empty()) {
    error("clients", "empty: a view without clients never matches");
  }
  addZones();
  addRecords();
  addPrivateEndpoints();
  // Zone apexes answer SOA; names between a local name and its private zone exist (empty
  // non-terminals get NODATA, not NXDOMAIN).
  for (auto& [zone, pz] : zones_) {
    names_[zone];
  }
  std::vector<std::string> originals;
  for (const auto& [name, data] : names_) {
    originals.push_back(name);
  }
  for (const std::string& name : originals) {
    std::string zone;
    if (enclosingZone(name, &zone) == nullptr) {
      continue;
    }
    for (std::string_view n = parentOf(name); n.size() > zone.size(); n = parentOf(n)) {
      names_[std::string(n)];
    }
  }
  if (errors_->size() != errors_before) {
    return false;
  }
  for (const auto& [name, data] : names_) {
    view->nodes.emplace(name, compileNode(name));
  }
  for (auto& [zone, pz] : zones_) {
    char text[kMaxNameWire * 4];
    pz.name_text.assign(text, wireNameToText(reinterpret_cast<const uint8_t*>(zone.data()),
                                             zone.size(), text, sizeof(text)));
    const ldns_rr* soa = soaFor(zone);
    RrPtr copy(ldns_rr_clone(soa));
    uint8_t* data = nullptr;
    size_t size = 0;
    ldns_buffer* buf = ldns_buffer_new(512);
    if (ldns_rr2buffer_wire(buf, copy.get(), LDNS_SECTION_AUTHORITY) == LDNS_STATUS_OK) {
      data = ldns_buffer_begin(buf);
      size = ldns_buffer_position(buf);
      pz.soa_tail.assign(data + zone.size(), data + size);
    }
    ldns_buffer_free(buf);
    pz.negative_ttl = std::min(kSoaTtl, kSoaMinimum);
  }
  view->zones = std::move(zones_);
  return true;
}

bool validEndpoints(const std::vector<config::DnsEndpoint>& eps) {
  for (const auto& ep : eps) {
    if (ep.port == 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

Slot slotFor(uint16_t qtype) noexcept {
  switch (qtype) {
    case rrtype::kA:
      return kSlotA;
    case rrtype::kAaaa:
      return kSlotAaaa;
    case rrtype::kCname:
      return kSlotCname;
    case rrtype::kTxt:
      return kSlotTxt;
    case rrtype::kPtr:
      return kSlotPtr;
    case rrtype::kSoa:
      return kSlotSoa;
    default:
      return kSlotOther;
  }
}

const View* Tables::selectView(const IpAddress& client) const noexcept {
  for (const View& v : views) {
    for (const Cidr& c : v.clients) {
      if (c.contains(client)) {
        return &v;
      }
    }
  }
  return nullptr;
}

const std::vector<config::DnsEndpoint>& Tables::upstreamsFor(
    std::string_view lower_wire_name) const noexcept {
  if (!forward_zones.empty()) {
    for (std::string_view n = lower_wire_name; !n.empty(); n = parentOf(n)) {
      auto it = forward_zones.find(n);
      if (it != forward_zones.end()) {
        return it->second.servers;
      }
    }
  }
  return upstreams;
}

Result<std::shared_ptr<const Tables>> buildTables(
    const config::Dns& dns, const std::function<size_t(const std::string&)>& stats_slot) {
  std::vector<std::string> errors;
  auto tables = std::make_shared<Tables>();
  tables->upstreams = dns.upstreams;
  tables->timeout_ms = dns.timeout_ms;
  tables->retries = dns.retries;
  tables->max_cache_ttl_s = dns.max_cache_ttl_s;
  tables->max_negative_ttl_s = dns.max_negative_ttl_s;
  tables->rate_limit_qps = dns.rate_limit_qps;
  tables->cache_size = dns.cache_size;
  if (dns.timeout_ms < 1 || dns.timeout_ms > 60000) {
    errors.push_back("dns.timeout_ms: must be between 1 and 60000");
  }
  if (dns.retries > 10) {
    errors.push_back("dns.retries: must be at most 10");
  }
  if (!validEndpoints(dns.upstreams)) {
    errors.push_back("dns.upstreams: port 0 is not a valid upstream port");
  }
  for (size_t i = 0; i < dns.forward_zones.size(); ++i) {
    const auto& fz = dns.forward_zones[i];
    bool ok = false;
    const std::string zone = wireName(fz.zone, &ok);
    if (!ok) {
      errors.push_back(
          fmt::format("dns.forward_zone[{}].zone: '{}' is not a valid zone name", i, fz.zone));
    } else if (fz.servers.empty() || !validEndpoints(fz.servers)) {
      errors.push_back(fmt::format(
          "dns.forward_zone[{}].servers: needs at least one server with a non-zero port", i));
    } else if (!tables->forward_zones.emplace(zone, ForwardZone{fz.zone, fz.servers}).second) {
      errors.push_back(
          fmt::format("dns.forward_zone[{}].zone: '{}' is declared twice", i, fz.zone));
    }
  }
  std::set<std::string> view_names;
  tables->views.resize(dns.views.size());
  for (size_t i = 0; i < dns.views.size(); ++i) {
    const std::string prefix = fmt::format("dns.view[{}]", i);
    if (dns.views[i].name.empty() || !view_names.insert(dns.views[i].name).second) {
      errors.push_back(prefix + ".name: must be non-empty and unique");
    }
    ViewBuilder builder(dns.views[i], prefix, &errors);
    builder.build(&tables->views[i]);
    tables->views[i].stats_slot = stats_slot ? stats_slot(dns.views[i].name) : i;
  }
  if (!errors.empty()) {
    return makeError(Errc::kInvalidArgument, fmt::format("{}", fmt::join(errors, "\n")));
  }
  return std::shared_ptr<const Tables>(std::move(tables));
}

}  // namespace crossgate::dns
