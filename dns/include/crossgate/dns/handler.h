// The query handler: one client message in, one verdict out. Local answers (templates), negative
// answers of private zones and cache hits are written straight into the caller's buffer; the
// rest becomes a ForwardRequest. No allocation, no exceptions, no logging.
#pragma once

#include <cstddef>
#include <cstdint>

#include "crossgate/common/net.h"
#include "crossgate/dns/cache.h"
#include "crossgate/dns/stats.h"
#include "crossgate/dns/tables.h"
#include "crossgate/dns/wire.h"

namespace crossgate::dns {

enum class Verdict : uint8_t { kReply, kDrop, kForward };

// Everything the forwarding path needs from the client's query.
struct ForwardRequest {
  ParsedQuery query;
  uint8_t question_wire[kMaxNameWire + 4];  // the question as received (case preserved)
  size_t question_len = 0;
  bool tcp = false;
  size_t view_slot = 0;
  const Template* prefix = nullptr;  // a local CNAME chain leaving local data, else nullptr
};

struct HandleResult {
  Verdict verdict = Verdict::kDrop;
  size_t length = 0;  // bytes written to out for kReply
};

// The largest response a client may get on this transport.
inline size_t responseLimit(const ParsedQuery& q, bool tcp) noexcept {
  return tcp ? kMaxMessage : q.udpLimit();
}

// `out` must hold kMaxMessage bytes for TCP, kAdvertisedUdpSize for UDP.
HandleResult handleQuery(const Tables& tables, Cache* cache, const uint8_t* query, size_t len,
                         const IpAddress& client, bool tcp, uint64_t now_ms, uint8_t* out,
                         ForwardRequest* forward, ThreadStats* stats) noexcept;

// Writes the response for `q` from a stored message (template or cache entry) already copied
// into out[0..len): patches ID, flags, the question (echoing the client's case), adds OPT, or
// replaces it all with a truncated response when it exceeds `limit`. Returns the final length.
size_t finishFromStored(const uint8_t* question_wire, size_t question_len, const ParsedQuery& q,
                        size_t len, size_t limit, bool authoritative, Rcode rcode,
                        uint8_t* out) noexcept;

}  // namespace crossgate::dns
