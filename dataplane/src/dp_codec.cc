#include "dp_codec.h"

#include <fmt/format.h>

#include <cstring>

namespace crossgate::dataplane {
namespace {

constexpr size_t kHdr = sizeof(cg_dp_hdr);

template <typename T>
bool fixedBody(std::span<const uint8_t> body, T* out, std::string* error, const char* what) {
  if (body.size() != sizeof(T)) {
    *error = fmt::format("{}: body is {} bytes, expected {}", what, body.size(), sizeof(T));
    return false;
  }
  std::memcpy(out, body.data(), sizeof(T));
  return true;
}

bool validTs(const cg_dp_ts& ts) {
  return validAddr(ts.from, false) && validAddr(ts.to, false) &&
         ts.from.family == ts.to.family && ts.from_port <= ts.to_port;
}

bool validSaId(const cg_dp_sa_id& id, std::string* error) {
  if (!validAddr(id.src, false) || !validAddr(id.dst, false) ||
      id.src.family != id.dst.family) {
    *error = "sa_id: src/dst address invalid or of different families";
    return false;
  }
  if (id.proto != 50) {
    *error = fmt::format("sa_id: protocol {} is not ESP (50)", id.proto);
    return false;
  }
  if (id.spi == 0) {
    *error = "sa_id: spi 0";
    return false;
  }
  return true;
}

bool tsList(std::span<const uint8_t> tail, size_t count, std::span<const uint8_t>* out,
            std::string* error, const char* what) {
  *out = tail.first(count * sizeof(cg_dp_ts));
  for (size_t i = 0; i < count; ++i) {
    if (!validTs(tsAt(*out, i))) {
      *error = fmt::format("add_sa: {}[{}] invalid", what, i);
      return false;
    }
  }
  return true;
}

bool decodeAddSa(std::span<const uint8_t> body, Request* out, std::string* error) {
  constexpr size_t kFixed = sizeof(cg_dp_add_sa);
  if (body.size() < kFixed) {
    *error = fmt::format("add_sa: body is {} bytes, at least {} needed", body.size(), kFixed);
    return false;
  }
  cg_dp_add_sa& sa = out->body.add_sa;
  std::memcpy(&sa, body.data(), kFixed);
  if (!validSaId(sa.id, error)) {
    return false;
  }
  if (sa.enc_key_len > CG_DP_MAX_KEY || sa.int_key_len > CG_DP_MAX_KEY) {
    *error = fmt::format("add_sa: key length {}/{} exceeds {}", sa.enc_key_len, sa.int_key_len,
                         CG_DP_MAX_KEY);
    return false;
  }
  const size_t want = kFixed + sa.enc_key_len + sa.int_key_len +
                      (size_t{sa.src_ts_count} + sa.dst_ts_count) * sizeof(cg_dp_ts);
  if (body.size() != want) {
    *error = fmt::format("add_sa: body is {} bytes, the length fields say {}", body.size(), want);
    return false;
  }
  auto tail = body.subspan(kFixed);
  out->enc_key = tail.first(sa.enc_key_len);
  tail = tail.subspan(sa.enc_key_len);
  out->int_key = tail.first(sa.int_key_len);
  tail = tail.subspan(sa.int_key_len);
  if (!tsList(tail, sa.src_ts_count, &out->src_ts, error, "src_ts")) {
    return false;
  }
  tail = tail.subspan(out->src_ts.size());
  return tsList(tail, sa.dst_ts_count, &out->dst_ts, error, "dst_ts");
}

bool decodeIke(std::span<const uint8_t> body, Request* out, std::string* error) {
  constexpr size_t kFixed = sizeof(cg_dp_ike);
  if (body.size() < kFixed) {
    *error = fmt::format("ike_tx: body is {} bytes, at least {} needed", body.size(), kFixed);
    return false;
  }
  cg_dp_ike& ike = out->body.ike;
  std::memcpy(&ike, body.data(), kFixed);
  if (ike.payload_len != body.size() - kFixed || ike.payload_len == 0 ||
      ike.payload_len > 65507) {
    *error = fmt::format("ike_tx: payload_len {} does not match the {} bytes that follow",
                         ike.payload_len, body.size() - kFixed);
    return false;
  }
  if (!validAddr(ike.local, true) || !validAddr(ike.remote, false) || ike.remote.port == 0 ||
      (ike.local.family != 0 && ike.local.family != ike.remote.family)) {
    *error = "ike_tx: invalid local/remote address";
    return false;
  }
  out->payload = body.subspan(kFixed);
  return true;
}

bool decodePolicy(std::span<const uint8_t> body, Request* out, std::string* error) {
  if (!fixedBody(body, &out->body.policy, error, "policy")) {
    return false;
  }
  const cg_dp_policy& p = out->body.policy;
  if (!validTs(p.src_ts) || !validTs(p.dst_ts) || p.src_ts.from.family != p.dst_ts.from.family) {
    *error = "policy: invalid traffic selectors";
    return false;
  }
  if (!validAddr(p.src, true) || !validAddr(p.dst, true)) {
    *error = "policy: invalid SA endpoint address";
    return false;
  }
  if (p.dir > CG_DP_DIR_FWD || p.type > CG_DP_POLICY_DROP) {
    *error = fmt::format("policy: dir {} / type {} out of range", p.dir, p.type);
    return false;
  }
  return true;
}

bool decodeBody(std::span<const uint8_t> body, Request* out, std::string* error) {
  switch (out->type()) {
    case CG_DP_HELLO:
      return fixedBody(body, &out->body.hello, error, "hello");
    case CG_DP_GET_SPI:
      if (!fixedBody(body, &out->body.get_spi, error, "get_spi")) {
        return false;
      }
      if (!validAddr(out->body.get_spi.src, true) || !validAddr(out->body.get_spi.dst, true) ||
          out->body.get_spi.proto != 50) {
        *error = "get_spi: invalid address or protocol";
        return false;
      }
      return true;
    case CG_DP_ADD_SA:
      return decodeAddSa(body, out, error);
    case CG_DP_UPDATE_SA:
      if (!fixedBody(body, &out->body.update_sa, error, "update_sa")) {
        return false;
      }
      if (!validSaId(out->body.update_sa.id, error)) {
        return false;
      }
      if (!validAddr(out->body.update_sa.new_src, false) ||
          !validAddr(out->body.update_sa.new_dst, false) ||
          out->body.update_sa.new_src.family != out->body.update_sa.new_dst.family) {
        *error = "update_sa: invalid new address";
        return false;
      }
      return true;
    case CG_DP_DEL_SA:
      return fixedBody(body, &out->body.del_sa, error, "del_sa") &&
             validSaId(out->body.del_sa.id, error);
    case CG_DP_QUERY_SA:
      return fixedBody(body, &out->body.query_sa, error, "query_sa") &&
             validSaId(out->body.query_sa.id, error);
    case CG_DP_ADD_POLICY:
    case CG_DP_DEL_POLICY:
    case CG_DP_QUERY_POLICY:
      return decodePolicy(body, out, error);
    case CG_DP_FLUSH:
      if (!body.empty()) {
        *error = "flush: unexpected body";
        return false;
      }
      return true;
    case CG_DP_IKE_TX:
      return decodeIke(body, out, error);
    default:
      *error = fmt::format("unknown message type {}", out->hdr.type);
      return false;
  }
}

}  // namespace

cg_dp_ts tsAt(std::span<const uint8_t> ts_bytes, size_t index) {
  cg_dp_ts ts;
  std::memcpy(&ts, ts_bytes.data() + index * sizeof(cg_dp_ts), sizeof(ts));
  return ts;
}

bool validAddr(const cg_dp_addr& addr, bool allow_unset) {
  if (addr.family == 0) {
    return allow_unset;
  }
  if (addr.family == 4) {
    for (size_t i = 4; i < sizeof(addr.addr); ++i) {
      if (addr.addr[i] != 0) {
        return false;
      }
    }
    return true;
  }
  return addr.family == 6;
}

bool decodeRequest(std::span<const uint8_t> bytes, Request* out, std::string* error) {
  *out = Request{};
  if (bytes.size() < kHdr) {
    *error = fmt::format("message of {} bytes is shorter than the header", bytes.size());
    return false;
  }
  if (bytes.size() > CG_DP_MAX_MSG) {
    *error = fmt::format("message of {} bytes exceeds the maximum", bytes.size());
    return false;
  }
  std::memcpy(&out->hdr, bytes.data(), kHdr);
  const cg_dp_hdr& h = out->hdr;
  if (h.len != bytes.size()) {
    *error = fmt::format("header len {} but {} bytes received", h.len, bytes.size());
    return false;
  }
  if (h.flags != 0 || h.reserved != 0) {
    *error = "non-zero flags/reserved";
    return false;
  }
  const bool is_ike = h.type == CG_DP_IKE_TX;
  if (is_ike ? h.req_id != 0 : h.req_id == 0) {
    *error = fmt::format("{}: req_id {} not allowed", msgTypeName(h.type), h.req_id);
    return false;
  }
  return decodeBody(bytes.subspan(kHdr), out, error);
}

namespace {

size_t writeMsg(std::span<uint8_t> out, uint16_t type, uint32_t req_id,
                std::span<const uint8_t> a, std::span<const uint8_t> b) {
  const size_t len = kHdr + a.size() + b.size();
  if (len > out.size() || len > CG_DP_MAX_MSG) {
    return 0;
  }
  cg_dp_hdr h{};
  h.type = type;
  h.len = static_cast<uint32_t>(len);
  h.req_id = req_id;
  std::memcpy(out.data(), &h, kHdr);
  if (!a.empty()) {
    std::memcpy(out.data() + kHdr, a.data(), a.size());
  }
  if (!b.empty()) {
    std::memcpy(out.data() + kHdr + a.size(), b.data(), b.size());
  }
  return len;
}

template <typename T>
std::span<const uint8_t> asBytes(const T& v) {
  return {reinterpret_cast<const uint8_t*>(&v), sizeof(T)};
}

}  // namespace

size_t encodeReply(std::span<uint8_t> out, uint32_t req_id, int32_t status,
                   std::span<const uint8_t> body) {
  cg_dp_reply r{};
  r.status = status;
  return writeMsg(out, CG_DP_REPLY, req_id, asBytes(r), body);
}

size_t encodeExpire(std::span<uint8_t> out, const cg_dp_ev_expire& ev) {
  return writeMsg(out, CG_DP_EV_EXPIRE, 0, asBytes(ev), {});
}

size_t encodeMapping(std::span<uint8_t> out, const cg_dp_ev_mapping& ev) {
  return writeMsg(out, CG_DP_EV_MAPPING, 0, asBytes(ev), {});
}

size_t encodeIkeRx(std::span<uint8_t> out, const cg_dp_addr& local, const cg_dp_addr& remote,
                   std::span<const uint8_t> payload) {
  cg_dp_ike ike{};
  ike.local = local;
  ike.remote = remote;
  ike.payload_len = static_cast<uint32_t>(payload.size());
  return writeMsg(out, CG_DP_EV_IKE_RX, 0, asBytes(ike), payload);
}

size_t encodeRequest(std::span<uint8_t> out, cg_dp_msg_type type, uint32_t req_id,
                     std::span<const uint8_t> body, std::span<const uint8_t> tail) {
  return writeMsg(out, static_cast<uint16_t>(type), req_id, body, tail);
}

const char* msgTypeName(uint16_t type) {
  switch (type) {
    case CG_DP_HELLO: return "hello";
    case CG_DP_GET_SPI: return "get_spi";
    case CG_DP_ADD_SA: return "add_sa";
    case CG_DP_UPDATE_SA: return "update_sa";
    case CG_DP_DEL_SA: return "del_sa";
    case CG_DP_QUERY_SA: return "query_sa";
    case CG_DP_ADD_POLICY: return "add_policy";
    case CG_DP_DEL_POLICY: return "del_policy";
    case CG_DP_QUERY_POLICY: return "query_policy";
    case CG_DP_FLUSH: return "flush";
    case CG_DP_REPLY: return "reply";
    case CG_DP_EV_EXPIRE: return "expire";
    case CG_DP_EV_MAPPING: return "mapping";
    case CG_DP_EV_IKE_RX: return "ike_rx";
    case CG_DP_IKE_TX: return "ike_tx";
    default: return "unknown";
  }
}

}  // namespace crossgate::dataplane
