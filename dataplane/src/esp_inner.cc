#include "esp_inner.h"

namespace crossgate::dataplane {
namespace {

uint16_t be16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Upper-layer view of an inner packet, for selectors that restrict protocol or ports.
struct Flow {
  uint8_t family = 4;
  const uint8_t* src = nullptr;
  const uint8_t* dst = nullptr;
  uint8_t protocol = 0;
  bool ports_known = false;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

constexpr uint8_t kIcmp = 1;
constexpr uint8_t kIcmpV6 = 58;

void readPorts(const uint8_t* l4, uint32_t avail, Flow* f) noexcept {
  switch (f->protocol) {
    case 6:    // TCP
    case 17:   // UDP
    case 132:  // SCTP
    case 136:  // UDP-Lite
      if (avail >= 4) {
        f->src_port = be16(l4);
        f->dst_port = be16(l4 + 2);
        f->ports_known = true;
      }
      break;
    case kIcmp:
    case kIcmpV6:
      // strongSwan encodes ICMP type and code as type << 8 | code in the port fields.
      if (avail >= 2) {
        f->src_port = f->dst_port = static_cast<uint16_t>(l4[0] << 8 | l4[1]);
        f->ports_known = true;
      }
      break;
    default:
      break;
  }
}

void flowV4(const uint8_t* p, uint32_t len, Flow* f) noexcept {
  const uint32_t ihl = (p[0] & 0x0fu) * 4;
  f->protocol = p[9];
  if ((be16(p + 6) & 0x1fffu) == 0) {  // first fragment or unfragmented
    readPorts(p + ihl, len - ihl, f);
  }
}

void flowV6(const uint8_t* p, uint32_t len, Flow* f) noexcept {
  uint8_t nh = p[6];
  uint32_t off = 40;
  for (int hops = 0; hops < 8; ++hops) {
    if (nh == 0 || nh == 43 || nh == 60 || nh == 51) {  // hop-by-hop, routing, dst opts, AH
      if (off + 2 > len) {
        break;
      }
      const uint32_t hlen = nh == 51 ? (p[off + 1] + 2u) * 4 : (p[off + 1] + 1u) * 8;
      nh = p[off];
      off += hlen;
    } else if (nh == 44) {  // fragment
      if (off + 8 > len) {
        break;
      }
      const bool first = (be16(p + off + 2) & 0xfff8u) == 0;
      nh = p[off];
      off += 8;
      if (!first) {
        f->protocol = nh;
        return;  // no upper-layer header in a non-first fragment
      }
    } else {
      break;
    }
  }
  f->protocol = nh;
  if (off <= len) {
    readPorts(p + off, len - off, f);
  }
}

bool matches(const TrafficSelector& ts, const Flow& f, const uint8_t* addr,
             uint16_t port) noexcept {
  if (!ts.containsAddress(f.family, addr)) {
    return false;
  }
  if (ts.protocol != 0 && ts.protocol != f.protocol) {
    return false;
  }
  if (ts.anyPort()) {
    return true;
  }
  return f.ports_known && port >= ts.from_port && port <= ts.to_port;
}

bool needsUpperLayer(std::span<const TrafficSelector> list) noexcept {
  for (const TrafficSelector& ts : list) {
    if (ts.protocol != 0 || !ts.anyPort()) {
      return true;
    }
  }
  return false;
}

}  // namespace

EspDrop parseInner(const uint8_t* pkt, uint32_t len, uint8_t next_header,
                   uint32_t* ip_len) noexcept {
  if (next_header == 4) {
    if (len < 20 || (pkt[0] >> 4) != 4) {
      return EspDrop::malformed;
    }
    const uint32_t ihl = (pkt[0] & 0x0fu) * 4;
    const uint32_t total = be16(pkt + 2);
    if (ihl < 20 || total < ihl || total > len) {
      return EspDrop::malformed;
    }
    *ip_len = total;
    return EspDrop::kNone;
  }
  if (len < 40 || (pkt[0] >> 4) != 6) {
    return EspDrop::malformed;
  }
  const uint32_t payload = be16(pkt + 4);
  if (payload == 0 || 40 + payload > len) {  // 0 would be a jumbogram: not carried
    return EspDrop::malformed;
  }
  *ip_len = 40 + payload;
  return EspDrop::kNone;
}

EspDrop checkSelectors(const uint8_t* pkt, uint32_t ip_len, std::span<const TrafficSelector> src_ts,
                       std::span<const TrafficSelector> dst_ts) noexcept {
  Flow f;
  if ((pkt[0] >> 4) == 4) {
    f.family = 4;
    f.src = pkt + 12;
    f.dst = pkt + 16;
  } else {
    f.family = 6;
    f.src = pkt + 8;
    f.dst = pkt + 24;
  }
  if (needsUpperLayer(src_ts) || needsUpperLayer(dst_ts)) {
    if (f.family == 4) {
      flowV4(pkt, ip_len, &f);
    } else {
      flowV6(pkt, ip_len, &f);
    }
  }
  bool src_ok = false;
  for (const TrafficSelector& ts : src_ts) {
    if (matches(ts, f, f.src, f.src_port)) {
      src_ok = true;
      break;
    }
  }
  if (!src_ok) {
    return EspDrop::ts_mismatch;
  }
  for (const TrafficSelector& ts : dst_ts) {
    if (matches(ts, f, f.dst, f.dst_port)) {
      return EspDrop::kNone;
    }
  }
  return EspDrop::ts_mismatch;
}

}  // namespace crossgate::dataplane
