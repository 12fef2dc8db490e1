// Helpers to build plugin protocol messages in tests (the client side of dp_proto.h).
#pragma once

#include <arpa/inet.h>

#include <cstring>
#include <vector>

#include "crossgate/dataplane/dp_proto.h"
#include "dp_codec.h"

namespace crossgate::dataplane::testing {

inline cg_dp_addr v4(const char* ip, uint16_t port = 0) {
  cg_dp_addr a{};
  a.family = 4;
  a.port = port;
  inet_pton(AF_INET, ip, a.addr);
  return a;
}

inline cg_dp_ts anyTs() {
  cg_dp_ts ts{};
  ts.from = v4("0.0.0.0");
  ts.to = v4("255.255.255.255");
  ts.from_port = 0;
  ts.to_port = 65535;
  return ts;
}

template <typename T>
std::span<const uint8_t> bytesOf(const T& v) {
  return {reinterpret_cast<const uint8_t*>(&v), sizeof(T)};
}

inline std::vector<uint8_t> msg(cg_dp_msg_type type, uint32_t req_id,
                                std::span<const uint8_t> body,
                                std::span<const uint8_t> tail = {}) {
  std::vector<uint8_t> out(CG_DP_MAX_MSG);
  out.resize(encodeRequest(out, type, req_id, body, tail));
  return out;
}

inline std::vector<uint8_t> hello(uint32_t req_id, uint32_t version = CG_DP_PROTO_VERSION) {
  cg_dp_hello h{version, 1234};
  return msg(CG_DP_HELLO, req_id, bytesOf(h));
}

inline cg_dp_sa_id saId(uint32_t spi_host, bool inbound, uint32_t if_id = 1) {
  cg_dp_sa_id id{};
  id.src = inbound ? v4("198.51.100.1", 4500) : v4("192.0.2.1", 4500);
  id.dst = inbound ? v4("192.0.2.1", 4500) : v4("198.51.100.1", 4500);
  id.spi = htonl(spi_host);
  id.proto = 50;
  id.if_id = if_id;
  return id;
}

// An AES-128-GCM SA with 0/0 selectors.
inline std::vector<uint8_t> addSa(uint32_t req_id, const cg_dp_sa_id& id, bool inbound,
                                  const cg_dp_lifetime& lifetime = {}, uint32_t extra_flags = 0) {
  cg_dp_add_sa a{};
  a.id = id;
  a.lifetime = lifetime;
  a.reqid = 7;
  a.flags = CG_DP_SA_ENCAP | (inbound ? CG_DP_SA_INBOUND : 0) | extra_flags;
  a.enc_alg = 20;
  a.enc_key_len = 20;
  a.replay_window = 1024;
  a.mode = 1;
  a.src_ts_count = 1;
  a.dst_ts_count = 1;
  std::vector<uint8_t> tail(20, 0x42);
  cg_dp_ts ts = anyTs();
  auto tsb = bytesOf(ts);
  tail.insert(tail.end(), tsb.begin(), tsb.end());
  tail.insert(tail.end(), tsb.begin(), tsb.end());
  return msg(CG_DP_ADD_SA, req_id, bytesOf(a), tail);
}

inline cg_dp_policy policy(uint8_t dir, uint32_t priority, uint32_t if_id = 1) {
  cg_dp_policy p{};
  p.src_ts = anyTs();
  p.dst_ts = anyTs();
  p.if_id = if_id;
  p.reqid = 7;
  p.priority = priority;
  p.dir = dir;
  return p;
}

inline cg_dp_reply replyOf(std::span<const uint8_t> m) {
  cg_dp_reply r{};
  std::memcpy(&r, m.data() + sizeof(cg_dp_hdr), sizeof(r));
  return r;
}

template <typename T>
T replyBody(std::span<const uint8_t> m) {
  T v{};
  std::memcpy(&v, m.data() + sizeof(cg_dp_hdr) + sizeof(cg_dp_reply), sizeof(T));
  return v;
}

}  // namespace crossgate::dataplane::testing
