// dp_sactl: a plugin-protocol client for tests and benchmarks that installs one static pair of
// SAs (inbound + outbound, tunnel mode, 0/0 selectors) into a running crossgate-dataplane and
// keeps the session open until SIGTERM (closing it drops the SAs, as the protocol says).
// Keys are derived from --seed and the SPI, so both ends of a tunnel agree without exchanging
// anything. Events received (EXPIRE, MAPPING, IKE_RX) are printed one per line.
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "crossgate/dataplane/dp_proto.h"
#include "dp_codec.h"

using namespace crossgate::dataplane;  // NOLINT

namespace {

volatile sig_atomic_t g_stop = 0;
void onSignal(int) { g_stop = 1; }

cg_dp_addr addr(const std::string& ip, uint16_t port) {
  cg_dp_addr a{};
  a.family = 4;
  a.port = port;
  if (inet_pton(AF_INET, ip.c_str(), a.addr) != 1) {
    std::fprintf(stderr, "dp_sactl: bad IPv4 address %s\n", ip.c_str());
    std::exit(2);
  }
  return a;
}

template <typename T>
std::span<const uint8_t> bytesOf(const T& v) {
  return {reinterpret_cast<const uint8_t*>(&v), sizeof(T)};
}

// Deterministic test key material: not secret, only shared between the two test ends.
std::vector<uint8_t> derive(uint32_t seed, uint32_t spi, size_t len, uint8_t label) {
  std::vector<uint8_t> k(len);
  uint32_t x = seed * 2654435761u ^ spi ^ (uint32_t{label} << 24);
  for (auto& b : k) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 16);
  }
  return k;
}

int request(int fd, const std::vector<uint8_t>& msg, uint32_t req_id, const char* what) {
  if (::send(fd, msg.data(), msg.size(), 0) != static_cast<ssize_t>(msg.size())) {
    std::perror("dp_sactl: send");
    return -1;
  }
  std::vector<uint8_t> buf(CG_DP_MAX_MSG);
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) {
      std::fprintf(stderr, "dp_sactl: %s: connection closed\n", what);
      return -1;
    }
    cg_dp_hdr h{};
    std::memcpy(&h, buf.data(), sizeof(h));
    if (h.type != CG_DP_REPLY || h.req_id != req_id) {
      continue;  // an event before our reply
    }
    cg_dp_reply r{};
    std::memcpy(&r, buf.data() + sizeof(h), sizeof(r));
    if (r.status != 0) {
      std::fprintf(stderr, "dp_sactl: %s: %s\n", what, std::strerror(r.status));
    }
    return r.status;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"install a static SA pair into crossgate-dataplane (tests)"};
  std::string socket_path = CG_DP_SOCKET_PATH, local, remote, alg = "gcm128";
  uint32_t if_id = 1, spi_in = 0, spi_out = 0, seed = 1, soft_s = 0, hard_s = 0;
  uint16_t local_port = 4500, remote_port = 4500;
  uint64_t soft_bytes = 0, hard_bytes = 0;
  app.add_option("--socket", socket_path);
  app.add_option("--local", local)->required();
  app.add_option("--remote", remote)->required();
  app.add_option("--local-port", local_port);
  app.add_option("--remote-port", remote_port);
  app.add_option("--if-id", if_id);
  app.add_option("--spi-in", spi_in)->required();
  app.add_option("--spi-out", spi_out)->required();
  app.add_option("--alg", alg, "gcm128|gcm256|cbc128-sha1|cbc256-sha256|cbc256-sha512");
  app.add_option("--seed", seed);
  app.add_option("--soft-seconds", soft_s);
  app.add_option("--hard-seconds", hard_s);
  app.add_option("--soft-bytes", soft_bytes);
  app.add_option("--hard-bytes", hard_bytes);
  CLI11_PARSE(app, argc, argv);

  uint16_t enc_alg = 20, int_alg = 0, enc_len = 20, int_len = 0;
  if (alg == "gcm256") {
    enc_len = 36;
  } else if (alg == "cbc128-sha1") {
    enc_alg = 12, enc_len = 16, int_alg = 2, int_len = 20;
  } else if (alg == "cbc256-sha256") {
    enc_alg = 12, enc_len = 32, int_alg = 12, int_len = 32;
  } else if (alg == "cbc256-sha512") {
    enc_alg = 12, enc_len = 32, int_alg = 14, int_len = 64;
  } else if (alg != "gcm128") {
    std::fprintf(stderr, "dp_sactl: unknown --alg %s\n", alg.c_str());
    return 2;
  }
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    std::perror("dp_sactl: connect");
    return 1;
  }
  std::vector<uint8_t> buf(CG_DP_MAX_MSG);
  uint32_t req = 1;
  cg_dp_hello hello{CG_DP_PROTO_VERSION, static_cast<uint32_t>(getpid())};
  buf.resize(encodeRequest(buf, CG_DP_HELLO, req, bytesOf(hello)));
  if (request(fd, buf, req++, "hello") != 0) {
    return 1;
  }
  cg_dp_ts any{};
  any.from = addr("0.0.0.0", 0);
  any.to = addr("255.255.255.255", 0);
  any.to_port = 65535;
  for (int inbound = 1; inbound >= 0; --inbound) {
    cg_dp_add_sa a{};
    a.id.src = inbound ? addr(remote, remote_port) : addr(local, local_port);
    a.id.dst = inbound ? addr(local, local_port) : addr(remote, remote_port);
    const uint32_t spi = inbound ? spi_in : spi_out;
    a.id.spi = htonl(spi);
    a.id.proto = 50;
    a.id.if_id = if_id;
    a.lifetime.time_soft_s = soft_s;
    a.lifetime.time_hard_s = hard_s;
    a.lifetime.bytes_soft = soft_bytes;
    a.lifetime.bytes_hard = hard_bytes;
    a.reqid = if_id;
    a.flags = CG_DP_SA_ENCAP | (inbound ? CG_DP_SA_INBOUND : 0);
    a.enc_alg = enc_alg;
    a.int_alg = int_alg;
    a.enc_key_len = enc_len;
    a.int_key_len = int_len;
    a.replay_window = 1024;
    a.mode = 1;
    a.src_ts_count = 1;
    a.dst_ts_count = 1;
    std::vector<uint8_t> tail = derive(seed, spi, enc_len, 1);
    auto ik = derive(seed, spi, int_len, 2);
    tail.insert(tail.end(), ik.begin(), ik.end());
    auto tsb = bytesOf(any);
    tail.insert(tail.end(), tsb.begin(), tsb.end());
    tail.insert(tail.end(), tsb.begin(), tsb.end());
    buf.assign(CG_DP_MAX_MSG, 0);
    buf.resize(encodeRequest(buf, CG_DP_ADD_SA, req, bytesOf(a), tail));
    if (request(fd, buf, req++, inbound ? "add_sa in" : "add_sa out") != 0) {
      return 1;
    }
    cg_dp_policy p{};
    p.src_ts = any;
    p.dst_ts = any;
    p.if_id = if_id;
    p.reqid = if_id;
    p.dir = inbound ? CG_DP_DIR_IN : CG_DP_DIR_OUT;
    p.priority = 1000;
    buf.assign(CG_DP_MAX_MSG, 0);
    buf.resize(encodeRequest(buf, CG_DP_ADD_POLICY, req, bytesOf(p)));
    if (request(fd, buf, req++, "add_policy") != 0) {
      return 1;
    }
  }
  std::printf("installed spi_in=%08x spi_out=%08x if_id=%u alg=%s\n", spi_in, spi_out, if_id,
              alg.c_str());
  std::fflush(stdout);
  struct sigaction act {};
  act.sa_handler = onSignal;
  sigaction(SIGTERM, &act, nullptr);
  sigaction(SIGINT, &act, nullptr);
  buf.resize(CG_DP_MAX_MSG);
  while (!g_stop) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 500) <= 0) {
      continue;
    }
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) {
      std::printf("dataplane closed the session\n");
      return 3;
    }
    cg_dp_hdr h{};
    std::memcpy(&h, buf.data(), sizeof(h));
    if (h.type == CG_DP_EV_EXPIRE) {
      cg_dp_ev_expire ev{};
      std::memcpy(&ev, buf.data() + sizeof(h), sizeof(ev));
      std::printf("expire spi=%08x %s\n", ntohl(ev.spi), ev.hard ? "hard" : "soft");
    } else if (h.type == CG_DP_EV_MAPPING) {
      cg_dp_ev_mapping ev{};
      std::memcpy(&ev, buf.data() + sizeof(h), sizeof(ev));
      std::printf("mapping spi=%08x port=%u\n", ntohl(ev.spi), ev.new_remote.port);
    } else {
      std::printf("event type=%u len=%u\n", h.type, h.len);
    }
    std::fflush(stdout);
  }
  ::close(fd);
  return 0;
}
