#include "crossgate/dns/wire.h"

#include <algorithm>
#include <cstring>

namespace crossgate::dns {
namespace {

inline uint8_t lowerByte(uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + ('a' - 'A')) : c;
}

// Parses the uncompressed question name at *off into q; false if malformed.
bool parseQuestionName(const uint8_t* data, size_t len, size_t* off, Question* q) noexcept {
  size_t pos = *off;
  size_t name_len = 0;
  uint8_t labels = 0;
  for (;;) {
    if (pos >= len) {
      return false;
    }
    const uint8_t l = data[pos];
    if (l == 0) {
      q->lower[name_len++] = 0;
      ++pos;
      break;
    }
    if (l > 63 || name_len + 1 + l + 1 > kMaxNameWire || pos + 1 + l > len ||
        labels >= kMaxLabels - 1) {
      return false;  // compression, extended label types, overlong names, truncation
    }
    q->label_offsets[labels++] = static_cast<uint8_t>(name_len);
    q->lower[name_len++] = l;
    for (size_t i = 0; i < l; ++i) {
      q->lower[name_len++] = lowerByte(data[pos + 1 + i]);
    }
    pos += 1 + l;
  }
  q->label_offsets[labels] = static_cast<uint8_t>(name_len - 1);  // the root label
  q->label_count = labels;
  q->name_len = static_cast<uint16_t>(name_len);
  *off = pos;
  return true;
}

ParseStatus parseRecords(const uint8_t* data, size_t len, size_t off, ParsedQuery* out) noexcept {
  const uint16_t an = readU16(data + 6);
  const uint16_t ns = readU16(data + 8);
  const uint16_t ar = readU16(data + 10);
  const uint32_t total = uint32_t{an} + ns + ar;
  for (uint32_t i = 0; i < total; ++i) {
    RrRef rr;
    if (!nextRr(data, len, &off, &rr)) {
      return ParseStatus::kFormErr;
    }
    if (rr.type != rrtype::kOpt) {
      continue;
    }
    if (i < uint32_t{an} + ns || out->has_edns || data[rr.owner] != 0) {
      return ParseStatus::kFormErr;  // OPT outside additional, twice, or not at the root
    }
    out->has_edns = true;
    out->edns_udp_size = rr.rrclass;
    out->edns_version = static_cast<uint8_t>(rr.ttl >> 16);
    out->edns_do = (rr.ttl & 0x8000) != 0;
  }
  if (out->has_edns && out->edns_version != 0) {
    return ParseStatus::kBadVersion;
  }
  return ParseStatus::kOk;
}

}  // namespace

size_t ParsedQuery::udpLimit() const noexcept {
  if (!has_edns) {
    return kMinUdpSize;
  }
  return std::clamp<size_t>(edns_udp_size, kMinUdpSize, kAdvertisedUdpSize);
}

ParseStatus parseQuery(const uint8_t* data, size_t len, ParsedQuery* out) noexcept {
  out->question_end = 0;
  out->has_edns = false;
  if (len < kHeaderSize) {
    return ParseStatus::kDrop;
  }
  out->id = readU16(data);
  out->flags = readU16(data + 2);
  out->qdcount = readU16(data + 4);
  if ((out->flags & flag::kQr) != 0) {
    return ParseStatus::kDrop;
  }
  size_t off = kHeaderSize;
  const bool question_ok =
      out->qdcount == 1 && parseQuestionName(data, len, &off, &out->question) && off + 4 <= len;
  if (question_ok) {
    out->question.qtype = readU16(data + off);
    out->question.qclass = readU16(data + off + 2);
    off += 4;
    out->question_end = off;
  }
  if (out->opcode() != 0) {
    return ParseStatus::kNotImp;
  }
  if (!question_ok) {
    return ParseStatus::kFormErr;
  }
  return parseRecords(data, len, off, out);
}

void lowerWireName(uint8_t* name, size_t len) noexcept {
  size_t pos = 0;
  while (pos < len && name[pos] != 0) {
    const uint8_t l = name[pos];
    for (size_t i = 1; i <= l && pos + i < len; ++i) {
      name[pos + i] = lowerByte(name[pos + i]);
    }
    pos += 1 + l;
  }
}

bool skipName(const uint8_t* data, size_t len, size_t* off) noexcept {
  size_t pos = *off;
  size_t total = 0;
  for (;;) {
    if (pos >= len) {
      return false;
    }
    const uint8_t l = data[pos];
    if (l == 0) {
      *off = pos + 1;
      return true;
    }
    if ((l & 0xC0) == 0xC0) {
      if (pos + 2 > len) {
        return false;
      }
      *off = pos + 2;
      return true;
    }
    if ((l & 0xC0) != 0) {
      return false;
    }
    total += 1 + l;
    if (total > kMaxNameWire) {
      return false;
    }
    pos += 1 + l;
  }
}

bool nextRr(const uint8_t* data, size_t len, size_t* off, RrRef* rr) noexcept {
  size_t pos = *off;
  rr->owner = pos;
  if (!skipName(data, len, &pos) || pos + 10 > len) {
    return false;
  }
  rr->type = readU16(data + pos);
  rr->rrclass = readU16(data + pos + 2);
  rr->ttl_offset = pos + 4;
  rr->ttl = readU32(data + pos + 4);
  rr->rdlength = readU16(data + pos + 8);
  rr->rdata = pos + 10;
  if (rr->rdata + rr->rdlength > len) {
    return false;
  }
  rr->end = rr->rdata + rr->rdlength;
  *off = rr->end;
  return true;
}

void writeOpt(uint8_t* out, uint8_t extended_rcode, bool dnssec_ok) noexcept {
  out[0] = 0;
  writeU16(out + 1, rrtype::kOpt);
  writeU16(out + 3, kAdvertisedUdpSize);
  out[5] = extended_rcode;
  out[6] = 0;  // version
  out[7] = dnssec_ok ? 0x80 : 0;
  out[8] = 0;
  writeU16(out + 9, 0);
}

uint16_t responseFlags(uint16_t query_flags, bool aa, Rcode rcode) noexcept {
  return static_cast<uint16_t>((query_flags & (flag::kOpcodeMask | flag::kRd | flag::kCd)) |
                               flag::kQr | flag::kRa | (aa ? flag::kAa : 0) |
                               static_cast<uint16_t>(rcode));
}

size_t writeBareResponse(const uint8_t* query, const ParsedQuery& q, size_t question_len,
                         Rcode rcode, bool truncated, uint8_t* out,
                         uint8_t extended_rcode) noexcept {
  writeU16(out, q.id);
  writeU16(out + 2, static_cast<uint16_t>(responseFlags(q.flags, false, rcode) |
                                          (truncated ? flag::kTc : 0)));
  writeU16(out + 4, question_len != 0 ? 1 : 0);
  writeU16(out + 6, 0);
  writeU16(out + 8, 0);
  writeU16(out + 10, q.has_edns ? 1 : 0);
  size_t pos = kHeaderSize;
  if (question_len != 0) {
    std::memcpy(out + pos, query + kHeaderSize, question_len);
    pos += question_len;
  }
  if (q.has_edns) {
    writeOpt(out + pos, extended_rcode, q.edns_do);
    pos += kOptRrSize;
  }
  return pos;
}

bool textToWireName(std::string_view text, uint8_t* out, size_t* out_len) noexcept {
  if (!text.empty() && text.back() == '.') {
    text.remove_suffix(1);
  }
  size_t pos = 0;
  while (!text.empty()) {
    const size_t dot = text.find('.');
    const std::string_view label = text.substr(0, dot);
    if (label.empty() || label.size() > 63 || pos + 1 + label.size() + 1 > kMaxNameWire) {
      return false;
    }
    out[pos++] = static_cast<uint8_t>(label.size());
    for (const char c : label) {
      const auto u = static_cast<uint8_t>(c);
      const bool ok = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                      u == '-' || u == '_' || u == '*';
      if (!ok) {
        return false;
      }
      out[pos++] = lowerByte(u);
    }
    text = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    if (dot != std::string_view::npos && text.empty()) {
      return false;  // "a..b" or a double trailing dot
    }
  }
  out[pos++] = 0;
  *out_len = pos;
  return true;
}

size_t wireNameToText(const uint8_t* name, size_t len, char* out, size_t cap) noexcept {
  size_t pos = 0;
  size_t w = 0;
  while (pos < len && name[pos] != 0) {
    const uint8_t l = name[pos];
    if (w != 0 && w < cap) {
      out[w++] = '.';
    }
    for (size_t i = 1; i <= l && pos + i < len && w < cap; ++i) {
      out[w++] = static_cast<char>(name[pos + i]);
    }
    pos += 1 + l;
  }
  if (w == 0 && cap > 0) {
    out[w++] = '.';
  }
  return w;
}

}  // namespace crossgate::dns
