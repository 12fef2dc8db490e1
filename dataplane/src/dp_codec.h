// Decoding and encoding of the plugin <-> dataplane protocol (dp_proto.h). The decoder is the
// parser of untrusted bytes on the control socket: every length is checked before it is read,
// and fixed bodies are copied out (the receive buffer need not be aligned).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "crossgate/dataplane/dp_proto.h"

namespace crossgate::dataplane {

// One decoded request (or IKE_TX). Spans point into the caller's buffer.
struct Request {
  cg_dp_hdr hdr{};
  union Body {
    cg_dp_hello hello;
    cg_dp_get_spi get_spi;
    cg_dp_add_sa add_sa;
    cg_dp_update_sa update_sa;
    cg_dp_del_sa del_sa;
    cg_dp_query_sa query_sa;
    cg_dp_policy policy;
    cg_dp_ike ike;
  } body{};
  std::span<const uint8_t> enc_key;
  std::span<const uint8_t> int_key;
  std::span<const uint8_t> src_ts;  // src_ts_count * sizeof(cg_dp_ts), unaligned
  std::span<const uint8_t> dst_ts;
  std::span<const uint8_t> payload;  // IKE_TX

  cg_dp_msg_type type() const { return static_cast<cg_dp_msg_type>(hdr.type); }
};

// Copies traffic selector `index` out of a span produced by decodeRequest.
cg_dp_ts tsAt(std::span<const uint8_t> ts_bytes, size_t index);

// Strict decoding: exact sizes, known type, non-zero req_id on requests and zero on IKE_TX,
// flags/reserved zero, valid address families, key lengths <= CG_DP_MAX_KEY. On failure returns
// false and sets `error` to what is wrong (for the log; it never contains key material).
bool decodeRequest(std::span<const uint8_t> bytes, Request* out, std::string* error);

// Validates one address (family 0, 4 or 6; IPv4 with zero bytes after the first 4).
bool validAddr(const cg_dp_addr& addr, bool allow_unset);

// Encoders write into `out` (at least CG_DP_MAX_MSG bytes) and return the message length.
size_t encodeReply(std::span<uint8_t> out, uint32_t req_id, int32_t status,
                   std::span<const uint8_t> body = {});
size_t encodeExpire(std::span<uint8_t> out, const cg_dp_ev_expire& ev);
size_t encodeMapping(std::span<uint8_t> out, const cg_dp_ev_mapping& ev);
// Returns 0 if the payload does not fit.
size_t encodeIkeRx(std::span<uint8_t> out, const cg_dp_addr& local, const cg_dp_addr& remote,
                   std::span<const uint8_t> payload);
// Client-side encoders (used by tests and tools).
size_t encodeRequest(std::span<uint8_t> out, cg_dp_msg_type type, uint32_t req_id,
                     std::span<const uint8_t> body, std::span<const uint8_t> tail = {});

const char* msgTypeName(uint16_t type);

}  // namespace crossgate::dataplane
