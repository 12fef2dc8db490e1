// The inner IP packet after ESP decapsulation: header validation, TFC padding trim and inbound
// traffic-selector enforcement (RFC 4301 §5.2). Packet path: noexcept, no allocation.
#pragma once

#include <cstdint>
#include <span>

#include "crossgate/dataplane/drop_reasons.h"
#include "crossgate/dataplane/sa.h"

namespace crossgate::dataplane {

// Validates the inner packet of `len` bytes whose ESP next header was `next_header` (4 or 41).
// On success *ip_len is the IP packet's own length (<= len; the rest is TFC padding).
// Returns kNone or malformed.
EspDrop parseInner(const uint8_t* pkt, uint32_t len, uint8_t next_header,
                   uint32_t* ip_len) noexcept;

// Checks a validated inner packet (ip_len bytes) against the SA's selectors: the source must
// fall in one of src_ts and the destination in one of dst_ts, each including protocol and ports
// where the selector restricts them. Returns kNone or ts_mismatch.
EspDrop checkSelectors(const uint8_t* pkt, uint32_t ip_len, std::span<const TrafficSelector> src_ts,
                       std::span<const TrafficSelector> dst_ts) noexcept;

}  // namespace crossgate::dataplane
