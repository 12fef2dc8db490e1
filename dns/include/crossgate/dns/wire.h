// DNS wire-format primitives for the hot path: a bounded, length-checked parse of a query
// (header, question, OPT) into fixed buffers, a resource-record walker, and writers for
// headers and OPT records. Nothing here allocates or throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace crossgate::dns {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameWire = 255;
inline constexpr size_t kMaxLabels = 128;
inline constexpr uint16_t kAdvertisedUdpSize = 1232;  // also the cap for UDP responses
inline constexpr uint16_t kMinUdpSize = 512;
inline constexpr size_t kMaxMessage = 65535;
inline constexpr size_t kOptRrSize = 11;

namespace rrtype {
inline constexpr uint16_t kA = 1;
inline constexpr uint16_t kNs = 2;
inline constexpr uint16_t kCname = 5;
inline constexpr uint16_t kSoa = 6;
inline constexpr uint16_t kPtr = 12;
inline constexpr uint16_t kHinfo = 13;
inline constexpr uint16_t kTxt = 16;
inline constexpr uint16_t kAaaa = 28;
inline constexpr uint16_t kOpt = 41;
inline constexpr uint16_t kTsig = 250;
inline constexpr uint16_t kIxfr = 251;
inline constexpr uint16_t kAxfr = 252;
inline constexpr uint16_t kAny = 255;
}  // namespace rrtype

inline constexpr uint16_t kClassIn = 1;

enum class Rcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};
inline constexpr int kRcodeCount = 6;

// Header flag bits (second 16-bit word).
namespace flag {
inline constexpr uint16_t kQr = 0x8000;
inline constexpr uint16_t kOpcodeMask = 0x7800;
inline constexpr uint16_t kAa = 0x0400;
inline constexpr uint16_t kTc = 0x0200;
inline constexpr uint16_t kRd = 0x0100;
inline constexpr uint16_t kRa = 0x0080;
inline constexpr uint16_t kAd = 0x0020;
inline constexpr uint16_t kCd = 0x0010;
inline constexpr uint16_t kRcodeMask = 0x000F;
}  // namespace flag

inline uint16_t readU16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t readU32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline void writeU16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void writeU32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// The question of a query, with the name both as received (for echoing) and lower-cased
// (for lookups). Label offsets index into the name.
struct Question {
  uint8_t lower[kMaxNameWire];
  uint16_t name_len = 0;    // wire length including the root label
  uint8_t label_count = 0;  // not counting the root label
  uint8_t label_offsets[kMaxLabels];
  uint16_t qtype = 0;
  uint16_t qclass = 0;

  std::string_view lowerName() const noexcept {
    return {reinterpret_cast<const char*>(lower), name_len};
  }
  // The lower-cased wire name starting at label `index` (0 = the whole name).
  std::string_view suffix(int index) const noexcept {
    const uint8_t off = label_offsets[index];
    return {reinterpret_cast<const char*>(lower) + off, static_cast<size_t>(name_len - off)};
  }
};

struct ParsedQuery {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0;
  Question question;
  size_t question_end = 0;  // offset just past the question (kHeaderSize + name + 4)
  bool has_edns = false;
  uint16_t edns_udp_size = 0;
  uint8_t edns_version = 0;
  bool edns_do = false;

  uint8_t opcode() const noexcept {
    return static_cast<uint8_t>((flags & flag::kOpcodeMask) >> 11);
  }
  // The largest UDP response this client accepts, capped at what this server advertises.
  size_t udpLimit() const noexcept;
};

enum class ParseStatus : uint8_t {
  kOk,
  kDrop,        // not worth an answer: too short for a header, or a response (QR set)
  kFormErr,     // answer FORMERR (header is valid; question echoed only if question_end != 0)
  kNotImp,      // opcode other than QUERY
  kBadVersion,  // EDNS version other than 0
};

// Parses a query: header, exactly one question (no compression in the question name), then walks
// every remaining record to check lengths and pick up the OPT record of the additional section.
ParseStatus parseQuery(const uint8_t* data, size_t len, ParsedQuery* out) noexcept;

// Lower-cases a wire-format name in place (ASCII letters only).
void lowerWireName(uint8_t* name, size_t len) noexcept;

// Skips a possibly compressed name at *off; false if it runs past `len` or is malformed.
bool skipName(const uint8_t* data, size_t len, size_t* off) noexcept;

struct RrRef {
  size_t owner = 0;  // offset of the owner name
  uint16_t type = 0;
  uint16_t rrclass = 0;
  size_t ttl_offset = 0;
  uint32_t ttl = 0;
  uint16_t rdlength = 0;
  size_t rdata = 0;  // offset of the rdata
  size_t end = 0;    // offset just past the record
};

// Reads the record at *off and advances; false on any length error.
bool nextRr(const uint8_t* data, size_t len, size_t* off, RrRef* rr) noexcept;

// Writes an OPT record (root owner, our UDP size, extended rcode, version 0, DO) at out.
void writeOpt(uint8_t* out, uint8_t extended_rcode, bool dnssec_ok) noexcept;

// Rewrites a header in place as a response: QR, RA, the given AA and rcode; RD and CD kept from
// `query_flags`; opcode copied.
uint16_t responseFlags(uint16_t query_flags, bool aa, Rcode rcode) noexcept;

// Builds a response of header + question (+ OPT) only, for errors and truncation. `question_len`
// is 0 when the question could not be parsed. Returns the length (always fits in 12+255+4+11).
size_t writeBareResponse(const uint8_t* query, const ParsedQuery& q, size_t question_len,
                         Rcode rcode, bool truncated, uint8_t* out,
                         uint8_t extended_rcode = 0) noexcept;

// "acct.dfs.core.windows.net" <-> lower-case wire format. Text names must be absolute or
// relative (a trailing dot is optional). Returns false on an invalid name.
bool textToWireName(std::string_view text, uint8_t* out, size_t* out_len) noexcept;
// Writes the dotted text form (no trailing dot, "." for the root).
size_t wireNameToText(const uint8_t* name, size_t len, char* out, size_t cap) noexcept;

}  // namespace crossgate::dns
