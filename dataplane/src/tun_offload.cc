#include "tun_offload.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace crossgate::dataplane {
namespace {

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoIcmp6 = 58;
constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpRst = 0x04;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpUrg = 0x20;
constexpr uint8_t kTcpCwr = 0x80;

uint16_t rd16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t rd32(const uint8_t* p) noexcept {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void wr16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void wr32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

void ipv4HeaderChecksum(uint8_t* ip, size_t ihl) noexcept {
  wr16(ip + 10, 0);
  // Sums are over native-order words: store with memcpy, not as a big-endian number.
  const auto c = static_cast<uint16_t>(~csumFold(csumPartial(ip, ihl, 0)));
  std::memcpy(ip + 10, &c, 2);
}

// Parses the IP header: returns its length, sets proto and the L4 length; 0 if unusable.
size_t ipHeader(const uint8_t* pkt, size_t len, bool* v6, uint8_t* proto) noexcept {
  if (len < 20) {
    return 0;
  }
  const uint8_t version = pkt[0] >> 4;
  if (version == 4) {
    const size_t ihl = size_t{pkt[0] & 0x0fu} * 4;
    if (ihl < 20 || ihl > len || rd16(pkt + 2) != len) {
      return 0;
    }
    *v6 = false;
    *proto = pkt[9];
    return ihl;
  }
  if (version == 6 && len >= 40 && size_t{rd16(pkt + 4)} + 40 == len) {
    *v6 = true;
    *proto = pkt[6];
    return 40;
  }
  return 0;
}

uint32_t l4PseudoSum(const uint8_t* ip, bool v6, uint8_t proto, uint32_t l4_len) noexcept {
  return v6 ? pseudoHeaderSum(ip + 8, ip + 24, 16, proto, l4_len)
            : pseudoHeaderSum(ip + 12, ip + 16, 4, proto, l4_len);
}

}  // namespace

uint32_t csumPartial(const uint8_t* data, size_t len, uint32_t sum) noexcept {
  uint64_t acc = sum;
  while (len >= 8) {
    uint32_t a;
    uint32_t b;
    std::memcpy(&a, data, 4);
    std::memcpy(&b, data + 4, 4);
    acc += a;
    acc += b;
    data += 8;
    len -= 8;
  }
  if (len >= 4) {
    uint32_t a;
    std::memcpy(&a, data, 4);
    acc += a;
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t a;
    std::memcpy(&a, data, 2);
    acc += a;
    data += 2;
    len -= 2;
  }
  if (len) {
    uint8_t tail[2] = {data[0], 0};
    uint16_t a;
    std::memcpy(&a, tail, 2);
    acc += a;
  }
  // The sum is in native (little-endian) byte order of 16-bit words; fold to 32 bits.
  while (acc >> 32) {
    acc = (acc & 0xffffffffu) + (acc >> 32);
  }
  return static_cast<uint32_t>(acc);
}

uint16_t csumFold(uint32_t sum) noexcept {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint32_t pseudoHeaderSum(const uint8_t* src, const uint8_t* dst, size_t addr_len, uint8_t proto,
                         uint32_t l4_len) noexcept {
  uint32_t sum = csumPartial(src, addr_len, 0);
  sum = csumPartial(dst, addr_len, sum);
  uint8_t tail[8];
  wr32(tail, proto);
  wr32(tail + 4, l4_len);
  return csumPartial(tail, 8, sum);
}

// Checksums are computed in native byte order over memory; storing the folded value with
// memcpy (not wr16) keeps the byte order right.
static void storeCsum(uint8_t* at, uint16_t folded_complemented) noexcept {
  std::memcpy(at, &folded_complemented, 2);
}

static int splitTcp(const VnetHdr& hdr, std::span<const uint8_t> frame,
                    const SplitOut& out) noexcept {
  bool v6 = false;
  uint8_t proto = 0;
  const uint8_t* pkt = frame.data();
  const size_t ihl = ipHeader(pkt, frame.size(), &v6, &proto);
  if (ihl == 0 || proto != kProtoTcp || v6 != (hdr.gso_type == kVnetGsoTcpV6) ||
      frame.size() < ihl + 20) {
    return -1;
  }
  const size_t thl = size_t{pkt[ihl + 12]} / 16 * 4;
  const size_t hlen = ihl + thl;
  if (thl < 20 || hlen > frame.size() || hdr.gso_size == 0) {
    return -1;
  }
  const size_t payload = frame.size() - hlen;
  const size_t mss = hdr.gso_size;
  const size_t count = payload == 0 ? 1 : (payload + mss - 1) / mss;
  if (count > out.max_packets || hlen + mss > out.stride - out.offset) {
    return -1;
  }
  const uint32_t seq0 = rd32(pkt + ihl + 4);
  const uint16_t id0 = rd16(pkt + 4);
  const uint8_t flags0 = pkt[ihl + 13];
  for (size_t i = 0; i < count; ++i) {
    uint8_t* o = out.base + i * out.stride + out.offset;
    const size_t chunk = std::min(mss, payload - i * mss);
    std::memcpy(o, pkt, hlen);
    std::memcpy(o + hlen, pkt + hlen + i * mss, chunk);
    const size_t len = hlen + chunk;
    if (v6) {
      wr16(o + 4, static_cast<uint16_t>(len - 40));
    } else {
      wr16(o + 2, static_cast<uint16_t>(len));
      wr16(o + 4, static_cast<uint16_t>(id0 + i));
      ipv4HeaderChecksum(o, ihl);
    }
    uint8_t* th = o + ihl;
    wr32(th + 4, static_cast<uint32_t>(seq0 + i * mss));
    uint8_t flags = flags0;
    if (i + 1 < count) {
      flags &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
    }
    if (i > 0) {
      flags &= static_cast<uint8_t>(~kTcpCwr);
    }
    th[13] = flags;
    wr16(th + 16, 0);
    const uint32_t l4 = static_cast<uint32_t>(thl + chunk);
    const uint32_t sum = csumPartial(th, l4, l4PseudoSum(o, v6, kProtoTcp, l4));
    storeCsum(th + 16, static_cast<uint16_t>(~csumFold(sum)));
    out.lens[i] = static_cast<uint32_t>(len);
  }
  return static_cast<int>(count);
}

int tsoSplit(const VnetHdr& hdr, std::span<const uint8_t> frame, const SplitOut& out) noexcept {
  const uint8_t gso = hdr.gso_type & static_cast<uint8_t>(~kVnetGsoEcn);
  if (gso == kVnetGsoTcpV4 || gso == kVnetGsoTcpV6) {
    return splitTcp(hdr, frame, out);
  }
  if (gso != kVnetGsoNone || out.max_packets == 0 || frame.size() > out.stride - out.offset ||
      frame.empty()) {
    return -1;
  }
  uint8_t* o = out.base + out.offset;
  std::memcpy(o, frame.data(), frame.size());
  if (hdr.flags & kVnetNeedsCsum) {
    const size_t start = hdr.csum_start;
    const size_t at = start + hdr.csum_offset;
    if (start >= frame.size() || at + 2 > frame.size()) {
      return -1;
    }
    // The field holds the pseudo-header sum; the checksum covers everything from csum_start.
    uint16_t folded = static_cast<uint16_t>(~csumFold(csumPartial(o + start, frame.size() - start, 0)));
    if (folded == 0 && at == start + 6) {
      folded = 0xffff;  // UDP: a computed 0 is sent as all ones
    }
    storeCsum(o + at, folded);
  }
  out.lens[0] = static_cast<uint32_t>(frame.size());
  return 1;
}

// ---- coalescing ----

void TcpCoalescer::emitRaw(const uint8_t* pkt, size_t len) noexcept {
  VnetHdr h{};
  std::memcpy(raw_.data(), &h, sizeof(h));
  std::memcpy(raw_.data() + sizeof(h), pkt, len);
  sink_(ctx_, raw_.data(), sizeof(h) + len);
}

void TcpCoalescer::start(Flow& f, const uint8_t* pkt, size_t len, uint32_t ip_len,
                         uint32_t tcp_len, bool v6) noexcept {
  f.open = true;
  f.v6 = v6;
  f.ip_len = ip_len;
  f.tcp_len = tcp_len;
  f.gso_size = static_cast<uint32_t>(len - ip_len - tcp_len);
  f.segments = 1;
  f.next_seq = rd32(pkt + ip_len + 4) + f.gso_size;
  f.next_id = static_cast<uint16_t>(v6 ? 0 : rd16(pkt + 4) + 1);
  f.closed = (pkt[ip_len + 13] & kTcpPsh) != 0 || f.gso_size == 0;
  f.len = len;
  std::memcpy(f.buf.data() + sizeof(VnetHdr), pkt, len);
}

bool TcpCoalescer::tryAppend(Flow& f, const uint8_t* pkt, size_t len, uint32_t ip_len,
                             uint32_t tcp_len, bool v6) noexcept {
  const uint8_t* h = f.buf.data() + sizeof(VnetHdr);
  const uint32_t payload = static_cast<uint32_t>(len - ip_len - tcp_len);
  if (f.closed || payload == 0 || payload > f.gso_size || f.len + payload > kMaxFrame) {
    return false;
  }
  if (rd32(pkt + ip_len + 4) != f.next_seq || rd32(pkt + ip_len + 8) != rd32(h + ip_len + 8)) {
    return false;
  }
  const uint8_t flags = pkt[ip_len + 13];
  if ((flags & static_cast<uint8_t>(~kTcpPsh)) != (h[ip_len + 13] & static_cast<uint8_t>(~kTcpPsh))) {
    return false;
  }
  // Options must match byte for byte (as the kernel's GRO requires).
  if (std::memcmp(pkt + ip_len + 20, h + ip_len + 20, tcp_len - 20) != 0) {
    return false;
  }
  if (!v6) {
    const bool df = (pkt[6] & 0x40) != 0;
    if (pkt[1] != h[1] || pkt[8] != h[8] || (pkt[6] & 0x40) != (h[6] & 0x40) ||
        (!df && rd16(pkt + 4) != f.next_id)) {
      return false;
    }
    f.next_id = static_cast<uint16_t>(rd16(pkt + 4) + 1);
  } else if (std::memcmp(pkt, h, 4) != 0 || pkt[7] != h[7]) {
    return false;
  }
  std::memcpy(f.buf.data() + sizeof(VnetHdr) + f.len, pkt + ip_len + tcp_len, payload);
  f.len += payload;
  f.segments++;
  f.next_seq += payload;
  uint8_t* wh = f.buf.data() + sizeof(VnetHdr);
  wh[ip_len + 13] |= flags & kTcpPsh;
  std::memcpy(wh + ip_len + 14, pkt + ip_len + 14, 2);  // latest window
  if (payload < f.gso_size || (flags & kTcpPsh)) {
    f.closed = true;
  }
  ++merged_;
  return true;
}

void TcpCoalescer::emit(Flow& f) noexcept {
  uint8_t* pkt = f.buf.data() + sizeof(VnetHdr);
  VnetHdr h{};
  if (f.segments > 1) {
    h.flags = kVnetNeedsCsum;
    h.gso_type = f.v6 ? kVnetGsoTcpV6 : kVnetGsoTcpV4;
    h.hdr_len = static_cast<uint16_t>(f.ip_len + f.tcp_len);
    h.gso_size = static_cast<uint16_t>(f.gso_size);
    h.csum_start = static_cast<uint16_t>(f.ip_len);
    h.csum_offset = 16;
    if (f.v6) {
      wr16(pkt + 4, static_cast<uint16_t>(f.len - 40));
    } else {
      wr16(pkt + 2, static_cast<uint16_t>(f.len));
      ipv4HeaderChecksum(pkt, f.ip_len);
    }
    const uint32_t l4 = static_cast<uint32_t>(f.len - f.ip_len);
    storeCsum(pkt + f.ip_len + 16, csumFold(l4PseudoSum(pkt, f.v6, kProtoTcp, l4)));
  }
  std::memcpy(f.buf.data(), &h, sizeof(h));
  sink_(ctx_, f.buf.data(), sizeof(h) + f.len);
  f.open = false;
}

void TcpCoalescer::add(const uint8_t* pkt, size_t len) noexcept {
  bool v6 = false;
  uint8_t proto = 0;
  const size_t ihl = ipHeader(pkt, len, &v6, &proto);
  if (!enabled_ || ihl == 0 || proto != kProtoTcp || len < ihl + 20 ||
      (!v6 && (ihl != 20 || (rd16(pkt + 6) & 0x3fff) != 0))) {
    emitRaw(pkt, len);
    return;
  }
  const size_t thl = size_t{pkt[ihl + 12]} / 16 * 4;
  const uint8_t flags = pkt[ihl + 13];
  if (thl < 20 || ihl + thl > len ||
      (flags & (kTcpSyn | kTcpFin | kTcpRst | kTcpUrg | kTcpCwr)) != 0 || !(flags & kTcpAck)) {
    emitRaw(pkt, len);
    return;
  }
  // The flow key: addresses and ports.
  const size_t alen = v6 ? 32 : 8;
  const size_t aoff = v6 ? 8 : 12;
  for (Flow& f : flows_) {
    const uint8_t* h = f.buf.data() + sizeof(VnetHdr);
    if (!f.open || f.v6 != v6 || f.ip_len != ihl || f.tcp_len != thl ||
        std::memcmp(h + aoff, pkt + aoff, alen) != 0 || std::memcmp(h + ihl, pkt + ihl, 4) != 0) {
      continue;
    }
    if (tryAppend(f, pkt, len, static_cast<uint32_t>(ihl), static_cast<uint32_t>(thl), v6)) {
      return;
    }
    emit(f);  // same flow, not mergeable: keep order by emitting what was held first
    start(f, pkt, len, static_cast<uint32_t>(ihl), static_cast<uint32_t>(thl), v6);
    return;
  }
  Flow* slot = nullptr;
  for (Flow& f : flows_) {
    if (!f.open) {
      slot = &f;
      break;
    }
  }
  if (slot == nullptr) {
    slot = &flows_[next_victim_];
    next_victim_ = (next_victim_ + 1) % kFlows;
    emit(*slot);
  }
  start(*slot, pkt, len, static_cast<uint32_t>(ihl), static_cast<uint32_t>(thl), v6);
}

void TcpCoalescer::flush() noexcept {
  for (Flow& f : flows_) {
    if (f.open) {
      emit(f);
    }
  }
}

// ---- ICMP and fragmentation ----

bool ipDontFragment(std::span<const uint8_t> pkt) noexcept {
  return pkt.size() >= 20 && (pkt[0] >> 4) == 4 ? (pkt[6] & 0x40) != 0 : true;
}

size_t buildPacketTooBig(std::span<const uint8_t> pkt, uint32_t mtu, const uint8_t* src,
                         std::span<uint8_t> out) noexcept {
  if (pkt.size() < 20 || out.size() < 1280) {
    return 0;
  }
  const uint8_t version = pkt[0] >> 4;
  if (version == 4) {
    const size_t ihl = size_t{pkt[0] & 0x0fu} * 4;
    if (ihl < 20 || pkt.size() < ihl || (pkt[9] == kProtoIcmp && pkt.size() > ihl &&
                                         pkt[ihl] != 8 && pkt[ihl] != 0)) {
      return 0;  // never answer an ICMP error with one
    }
    const size_t quote = std::min(pkt.size(), ihl + 8);
    const size_t len = 20 + 8 + quote;
    uint8_t* o = out.data();
    std::memset(o, 0, 28);
    o[0] = 0x45;
    wr16(o + 2, static_cast<uint16_t>(len));
    o[8] = 64;
    o[9] = kProtoIcmp;
    std::memcpy(o + 12, src, 4);
    std::memcpy(o + 16, pkt.data() + 12, 4);
    ipv4HeaderChecksum(o, 20);
    o[20] = 3;
    o[21] = 4;
    wr16(o + 26, static_cast<uint16_t>(std::min<uint32_t>(mtu, 0xffff)));
    std::memcpy(o + 28, pkt.data(), quote);
    storeCsum(o + 22, static_cast<uint16_t>(~csumFold(csumPartial(o + 20, len - 20, 0))));
    return len;
  }
  if (version == 6 && pkt.size() >= 40) {
    const size_t quote = std::min<size_t>(pkt.size(), 1280 - 48);
    const size_t len = 48 + quote;
    uint8_t* o = out.data();
    std::memset(o, 0, 48);
    o[0] = 0x60;
    wr16(o + 4, static_cast<uint16_t>(len - 40));
    o[6] = kProtoIcmp6;
    o[7] = 64;
    std::memcpy(o + 8, src, 16);
    std::memcpy(o + 24, pkt.data() + 8, 16);
    o[40] = 2;
    wr32(o + 44, mtu);
    std::memcpy(o + 48, pkt.data(), quote);
    const uint32_t l4 = static_cast<uint32_t>(len - 40);
    const uint32_t sum = csumPartial(o + 40, l4, pseudoHeaderSum(o + 8, o + 24, 16, kProtoIcmp6, l4));
    storeCsum(o + 42, static_cast<uint16_t>(~csumFold(sum)));
    return len;
  }
  return 0;
}

int ipv4Fragment(std::span<const uint8_t> pkt, uint32_t mtu, const SplitOut& out) noexcept {
  bool v6 = false;
  uint8_t proto = 0;
  const size_t ihl = ipHeader(pkt.data(), pkt.size(), &v6, &proto);
  if (ihl == 0 || v6 || mtu < ihl + 8) {
    return -1;
  }
  const size_t per = (mtu - ihl) & ~size_t{7};
  const size_t payload = pkt.size() - ihl;
  const size_t count = (payload + per - 1) / per;
  const uint16_t frag0 = rd16(pkt.data() + 6);
  const size_t off0 = size_t{frag0 & 0x1fffu} * 8;
  if (count > out.max_packets || ihl + per > out.stride - out.offset) {
    return -1;
  }
  for (size_t i = 0; i < count; ++i) {
    uint8_t* o = out.base + i * out.stride + out.offset;
    const size_t chunk = std::min(per, payload - i * per);
    std::memcpy(o, pkt.data(), ihl);
    std::memcpy(o + ihl, pkt.data() + ihl + i * per, chunk);
    wr16(o + 2, static_cast<uint16_t>(ihl + chunk));
    const bool more = i + 1 < count || (frag0 & 0x2000);
    wr16(o + 6, static_cast<uint16_t>((more ? 0x2000 : 0) | ((off0 + i * per) / 8)));
    ipv4HeaderChecksum(o, ihl);
    out.lens[i] = static_cast<uint32_t>(ihl + chunk);
  }
  return static_cast<int>(count);
}

}  // namespace crossgate::dataplane
