// RAII owners for ldns objects and small helpers shared by table building and forwarding.
#pragma once

#include <ldns/ldns.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace crossgate::dns {

struct LdnsRrDeleter {
  void operator()(ldns_rr* rr) const noexcept { ldns_rr_free(rr); }
};
struct LdnsPktDeleter {
  void operator()(ldns_pkt* pkt) const noexcept { ldns_pkt_free(pkt); }
};
struct LdnsRdfDeleter {
  void operator()(ldns_rdf* rdf) const noexcept { ldns_rdf_deep_free(rdf); }
};
using RrPtr = std::unique_ptr<ldns_rr, LdnsRrDeleter>;
using PktPtr = std::unique_ptr<ldns_pkt, LdnsPktDeleter>;
using RdfPtr = std::unique_ptr<ldns_rdf, LdnsRdfDeleter>;

// A name rdf from a lower-case wire name.
inline RdfPtr dnameFromWire(std::string_view wire) {
  return RdfPtr(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, wire.size(), wire.data()));
}

// Serializes a packet (ldns compresses names); empty on failure.
inline std::vector<uint8_t> packetToWire(const ldns_pkt* pkt) {
  uint8_t* data = nullptr;
  size_t size = 0;
  std::vector<uint8_t> out;
  if (ldns_pkt2wire(&data, pkt, &size) == LDNS_STATUS_OK && data != nullptr) {
    out.assign(data, data + size);
  }
  free(data);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
  return out;
}

}  // namespace crossgate::dns
