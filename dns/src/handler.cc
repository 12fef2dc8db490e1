#include "crossgate/dns/handler.h"

#include <cstring>

namespace crossgate::dns {
namespace {

inline void countRcode(Counters& global, Counters& view, Rcode rcode) noexcept {
  global.rcodes[static_cast<size_t>(rcode)].inc();
  view.rcodes[static_cast<size_t>(rcode)].inc();
}

// header + question + OPT with TC set: the answer did not fit.
size_t writeTruncated(const uint8_t* question_wire, size_t question_len, const ParsedQuery& q,
                      Rcode rcode, bool aa, uint8_t* out) noexcept {
  writeU16(out, q.id);
  writeU16(out + 2, static_cast<uint16_t>(responseFlags(q.flags, aa, rcode) | flag::kTc));
  writeU16(out + 4, 1);
  writeU16(out + 6, 0);
  writeU16(out + 8, 0);
  writeU16(out + 10, q.has_edns ? 1 : 0);
  std::memcpy(out + kHeaderSize, question_wire, question_len);
  size_t pos = kHeaderSize + question_len;
  if (q.has_edns) {
    writeOpt(out + pos, 0, q.edns_do);
    pos += kOptRrSize;
  }
  return pos;
}

// NXDOMAIN for a name under a private zone: the zone's SOA, its owner a pointer into the
// question at the zone's labels.
size_t writeNxDomain(const uint8_t* query, const ParsedQuery& q, const PrivateZone& zone,
                     int zone_label, uint8_t* out) noexcept {
  const size_t qlen = q.question_end - kHeaderSize;
  writeU16(out, q.id);
  writeU16(out + 2, responseFlags(q.flags, true, Rcode::kNxDomain));
  writeU16(out + 4, 1);
  writeU16(out + 6, 0);
  writeU16(out + 8, 1);
  writeU16(out + 10, q.has_edns ? 1 : 0);
  std::memcpy(out + kHeaderSize, query + kHeaderSize, qlen);
  size_t pos = kHeaderSize + qlen;
  writeU16(out + pos,
           static_cast<uint16_t>(0xC000 | (kHeaderSize + q.question.label_offsets[zone_label])));
  pos += 2;
  std::memcpy(out + pos, zone.soa_tail.data(), zone.soa_tail.size());
  pos += zone.soa_tail.size();
  if (q.has_edns) {
    writeOpt(out + pos, 0, q.edns_do);
    pos += kOptRrSize;
  }
  return pos;
}

// RFC 8482 for ANY on names we do not hold: one synthesized HINFO "RFC8482" "".
size_t writeHinfo(const uint8_t* query, const ParsedQuery& q, uint8_t* out) noexcept {
  static constexpr uint8_t kRdata[] = {7, 'R', 'F', 'C', '8', '4', '8', '2', 0};
  const size_t qlen = q.question_end - kHeaderSize;
  writeU16(out, q.id);
  writeU16(out + 2, responseFlags(q.flags, false, Rcode::kNoError));
  writeU16(out + 4, 1);
  writeU16(out + 6, 1);
  writeU16(out + 8, 0);
  writeU16(out + 10, q.has_edns ? 1 : 0);
  std::memcpy(out + kHeaderSize, query + kHeaderSize, qlen);
  size_t pos = kHeaderSize + qlen;
  writeU16(out + pos, 0xC00C);
  writeU16(out + pos + 2, rrtype::kHinfo);
  writeU16(out + pos + 4, kClassIn);
  writeU32(out + pos + 6, 3600);
  writeU16(out + pos + 10, sizeof(kRdata));
  std::memcpy(out + pos + 12, kRdata, sizeof(kRdata));
  pos += 12 + sizeof(kRdata);
  if (q.has_edns) {
    writeOpt(out + pos, 0, q.edns_do);
    pos += kOptRrSize;
  }
  return pos;
}

HandleResult reply(size_t len) noexcept { return {Verdict::kReply, len}; }

}  // namespace

size_t finishFromStored(const uint8_t* question_wire, size_t question_len, const ParsedQuery& q,
                        size_t len, size_t limit, bool authoritative, Rcode rcode,
                        uint8_t* out) noexcept {
  const size_t total = len + (q.has_edns ? kOptRrSize : 0);
  if (total > limit || len < kHeaderSize + question_len) {
    return writeTruncated(question_wire, question_len, q, rcode, authoritative, out);
  }
  writeU16(out, q.id);
  writeU16(out + 2, responseFlags(q.flags, authoritative, rcode));
  std::memcpy(out + kHeaderSize, question_wire, question_len);
  if (q.has_edns) {
    writeU16(out + 10, static_cast<uint16_t>(readU16(out + 10) + 1));
    writeOpt(out + len, 0, q.edns_do);
  }
  return total;
}

namespace {

// What the steps of one query share.
struct Ctx {
  const uint8_t* query;
  const ParsedQuery& q;
  size_t qlen;
  uint8_t* out;
  Counters& g;
  Counters& v;
};

void countTruncation(Ctx& c) noexcept {
  if ((readU16(c.out + 2) & flag::kTc) != 0) {
    c.g.truncated.inc();
    c.v.truncated.inc();
  }
}

HandleResult answerParseFailure(Ctx& c, ParseStatus status) noexcept {
  switch (status) {
    case ParseStatus::kDrop:
      c.g.dropped.inc();
      return {};
    case ParseStatus::kNotImp:
      countRcode(c.g, c.v, Rcode::kNotImp);
      return reply(writeBareResponse(c.query, c.q, c.qlen, Rcode::kNotImp, false, c.out));
    case ParseStatus::kBadVersion:  // BADVERS = 16: extended rcode 1, header rcode 0
      countRcode(c.g, c.v, Rcode::kNoError);
      return reply(writeBareResponse(c.query, c.q, c.qlen, Rcode::kNoError, false, c.out, 1));
    case ParseStatus::kFormErr:
    case ParseStatus::kOk:
      break;
  }
  countRcode(c.g, c.v, Rcode::kFormErr);
  return reply(writeBareResponse(c.query, c.q, c.qlen, Rcode::kFormErr, false, c.out));
}

HandleResult answerTemplate(Ctx& c, const Template& t, size_t limit) noexcept {
  const size_t tlen = t.wire.size();
  if (tlen + (c.q.has_edns ? kOptRrSize : 0) <= limit) {
    std::memcpy(c.out, t.wire.data(), tlen);
  }
  const size_t n =
      finishFromStored(c.query + kHeaderSize, c.qlen, c.q, tlen, limit, true, t.rcode, c.out);
  countTruncation(c);
  c.g.local_answers.inc();
  c.v.local_answers.inc();
  countRcode(c.g, c.v, t.rcode);
  return reply(n);
}

// A name without local data: NXDOMAIN under a private zone without fallback, HINFO for ANY,
// else nothing (the caller forwards).
bool answerUnknownName(Ctx& c, const View& view, HandleResult* result) noexcept {
  const Question& question = c.q.question;
  for (int i = 1; i < question.label_count; ++i) {
    auto zone = view.zones.find(question.suffix(i));
    if (zone == view.zones.end()) {
      continue;
    }
    if (!zone->second.fallback) {
      c.g.local_answers.inc();
      c.v.local_answers.inc();
      countRcode(c.g, c.v, Rcode::kNxDomain);
      *result = reply(writeNxDomain(c.query, c.q, zone->second, i, c.out));
      return true;
    }
    break;
  }
  if (question.qtype == rrtype::kAny) {
    countRcode(c.g, c.v, Rcode::kNoError);
    *result = reply(writeHinfo(c.query, c.q, c.out));
    return true;
  }
  return false;
}

bool answerFromCache(Ctx& c, Cache* cache, size_t limit, uint64_t now_ms,
                     HandleResult* result) noexcept {
  const Question& question = c.q.question;
  uint8_t keybuf[kMaxNameWire + 4];
  const std::string_view key =
      cacheKey(question.lowerName(), question.qtype, question.qclass, keybuf);
  const size_t clen = cache->lookup(key, now_ms, c.out, limit);
  if (clen == 0) {
    c.g.cache_misses.inc();
    c.v.cache_misses.inc();
    return false;
  }
  const auto rcode = static_cast<Rcode>(clen <= limit ? (c.out[3] & flag::kRcodeMask) : 0);
  const size_t n =
      finishFromStored(c.query + kHeaderSize, c.qlen, c.q, clen, limit, false, rcode, c.out);
  c.g.cache_hits.inc();
  c.v.cache_hits.inc();
  countTruncation(c);
  countRcode(c.g, c.v, static_cast<Rcode>(readU16(c.out + 2) & flag::kRcodeMask));
  *result = reply(n);
  return true;
}

}  // namespace

HandleResult handleQuery(const Tables& tables, Cache* cache, const uint8_t* query, size_t len,
                         const IpAddress& client, bool tcp, uint64_t now_ms, uint8_t* out,
                         ForwardRequest* forward, ThreadStats* stats) noexcept {
  Counters& g = stats->global;
  g.queries.inc();
  (tcp ? g.tcp : g.udp).inc();
  ParsedQuery q;
  const ParseStatus status = parseQuery(query, len, &q);
  const size_t qlen = q.question_end == 0 ? 0 : q.question_end - kHeaderSize;
  Ctx unknown{query, q, qlen, out, g, stats->view(kMaxViewSlots - 1)};
  if (status != ParseStatus::kOk) {
    return answerParseFailure(unknown, status);
  }
  const View* view = tables.selectView(client);
  if (view == nullptr) {
    countRcode(g, unknown.v, Rcode::kRefused);
    return reply(writeBareResponse(query, q, qlen, Rcode::kRefused, false, out));
  }
  Ctx c{query, q, qlen, out, g, stats->view(view->stats_slot)};
  c.v.queries.inc();
  (tcp ? c.v.tcp : c.v.udp).inc();
  const Question& question = q.question;
  if (question.qclass != kClassIn || question.qtype == rrtype::kAxfr ||
      question.qtype == rrtype::kIxfr || question.qtype == rrtype::kOpt) {
    const Rcode rc = question.qtype == rrtype::kOpt ? Rcode::kFormErr : Rcode::kRefused;
    countRcode(g, c.v, rc);
    return reply(writeBareResponse(query, q, qlen, rc, false, out));
  }
  const size_t limit = responseLimit(q, tcp);
  HandleResult result;
  forward->prefix = nullptr;
  auto node = view->nodes.find(question.lowerName());
  if (node != view->nodes.end()) {
    const Template& t = node->second.forType(question.qtype);
    if (!t.external) {
      return answerTemplate(c, t, limit);
    }
    forward->prefix = &t;  // a local CNAME chain leaving local data
  } else if (answerUnknownName(c, *view, &result) ||
             (cache != nullptr && answerFromCache(c, cache, limit, now_ms, &result))) {
    return result;
  }
  forward->query = q;
  std::memcpy(forward->question_wire, query + kHeaderSize, qlen);
  forward->question_len = qlen;
  forward->tcp = tcp;
  forward->view_slot = view->stats_slot;
  return {Verdict::kForward, 0};
}

}  // namespace crossgate::dns
