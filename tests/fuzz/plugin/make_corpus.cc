// Writes the seed corpus of the dp_messages fuzz target: real dataplane -> plugin messages built
// from dp_proto.h, in the target's input format (records of a 16-bit little-endian length and
// one message). Run: make_corpus tests/fuzz/plugin/dp_messages_corpus
#include <arpa/inet.h>
#include <errno.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "crossgate/dataplane/dp_proto.h"

namespace {

using Bytes = std::vector<uint8_t>;

template <typename T>
void append(Bytes* out, const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out->insert(out->end(), p, p + sizeof(v));
}

Bytes message(uint16_t type, uint32_t req_id, const Bytes& body) {
  cg_dp_hdr hdr{};
  hdr.type = type;
  hdr.len = static_cast<uint32_t>(sizeof(hdr) + body.size());
  hdr.req_id = req_id;
  Bytes m;
  append(&m, hdr);
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

cg_dp_addr v4(uint8_t last, uint16_t port) {
  cg_dp_addr a{};
  a.family = 4;
  a.port = port;
  a.addr[0] = 192;
  a.addr[1] = 0;
  a.addr[2] = 2;
  a.addr[3] = last;
  return a;
}

cg_dp_addr v6(uint8_t last, uint16_t port) {
  cg_dp_addr a{};
  a.family = 6;
  a.port = port;
  a.addr[0] = 0x20;
  a.addr[1] = 0x01;
  a.addr[2] = 0x0d;
  a.addr[3] = 0xb8;
  a.addr[15] = last;
  return a;
}

Bytes reply(uint32_t req_id, int32_t status, const Bytes& extra = {}) {
  cg_dp_reply r{};
  r.status = status;
  Bytes body;
  append(&body, r);
  body.insert(body.end(), extra.begin(), extra.end());
  return message(CG_DP_REPLY, req_id, body);
}

Bytes expire(bool hard) {
  cg_dp_ev_expire e{};
  e.spi = htonl(0xc0012345);
  e.proto = 50;
  e.hard = hard ? 1 : 0;
  e.dst = v4(1, 4500);
  e.reqid = 7;
  Bytes body;
  append(&body, e);
  return message(CG_DP_EV_EXPIRE, 0, body);
}

Bytes mapping() {
  cg_dp_ev_mapping m{};
  m.spi = htonl(0xc0012345);
  m.proto = 50;
  m.dst = v4(1, 4500);
  m.new_remote = v4(2, 61000);
  Bytes body;
  append(&body, m);
  return message(CG_DP_EV_MAPPING, 0, body);
}

Bytes ikeRx(bool ipv6, size_t payload_len) {
  cg_dp_ike ike{};
  ike.local = ipv6 ? v6(1, 500) : v4(1, 500);
  ike.remote = ipv6 ? v6(2, 500) : v4(2, 500);
  ike.payload_len = static_cast<uint32_t>(payload_len);
  Bytes body;
  append(&body, ike);
  // An IKE_SA_INIT request header (RFC 7296 §3.1) followed by filler.
  const uint8_t ike_hdr[28] = {1, 2, 3,  4,    5,  6,    7, 8, 0, 0, 0, 0, 0, 0,
                               0, 0, 33, 0x20, 34, 0x08, 0, 0, 0, 0, 0, 0, 0, 28};
  for (size_t i = 0; i < payload_len; ++i) {
    body.push_back(i < sizeof(ike_hdr) ? ike_hdr[i] : static_cast<uint8_t>(i));
  }
  return message(CG_DP_EV_IKE_RX, 0, body);
}

Bytes records(const std::vector<Bytes>& msgs) {
  Bytes out;
  for (const Bytes& m : msgs) {
    out.push_back(static_cast<uint8_t>(m.size()));
    out.push_back(static_cast<uint8_t>(m.size() >> 8));
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}

bool write(const std::string& dir, const std::string& name, const Bytes& data) {
  std::ofstream f(dir + "/" + name, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  Bytes spi;
  const uint32_t spi_n = htonl(0xc0054321);
  append(&spi, spi_n);
  cg_dp_sa_stats stats{123456789, 98765, 4242};
  Bytes stats_body;
  append(&stats_body, stats);
  Bytes truncated = ikeRx(false, 64);
  truncated.resize(truncated.size() - 10);  // header length no longer matches
  Bytes short_reply = message(CG_DP_REPLY, 3, {1, 0});
  Bytes bad_payload_len = ikeRx(true, 40);
  bad_payload_len[sizeof(cg_dp_hdr) + offsetof(cg_dp_ike, payload_len)] = 99;
  const std::vector<std::pair<std::string, Bytes>> seeds = {
      {"reply_get_spi", records({reply(2, 0, spi)})},
      {"reply_query_sa", records({reply(3, 0, stats_body)})},
      {"reply_enoent", records({reply(4, ENOENT)})},
      {"reply_unknown_id", records({reply(77, 0)})},
      {"expire_soft", records({expire(false)})},
      {"expire_hard", records({expire(true)})},
      {"mapping", records({mapping()})},
      {"ike_rx_v4", records({ikeRx(false, 300)})},
      {"ike_rx_v6", records({ikeRx(true, 1200)})},
      {"bad_lengths", records({truncated, short_reply, bad_payload_len})},
      {"session", records({ikeRx(false, 500), reply(2, 0, spi), reply(3, 0, stats_body),
                           expire(false), mapping(), ikeRx(true, 80), expire(true),
                           reply(5, EEXIST), message(200, 0, {1, 2, 3})})},
  };
  for (const auto& [name, data] : seeds) {
    if (!write(dir, name, data)) {
      std::fprintf(stderr, "make_corpus: cannot write %s/%s: %s\n", dir.c_str(), name.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  return 0;
}
