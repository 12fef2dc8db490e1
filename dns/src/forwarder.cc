#include "crossgate/dns/forwarder.h"

#include <openssl/rand.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <optional>

#include "crossgate/common/log.h"
#include "ldns_util.h"
#include "asio_address.h"

namespace crossgate::dns {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxInFlight = 4096;
constexpr auto kMinAttempt = std::chrono::milliseconds(50);

bool isFailureRcode(uint8_t rcode) {
  return rcode == static_cast<uint8_t>(Rcode::kServFail) ||
         rcode == static_cast<uint8_t>(Rcode::kRefused) ||
         rcode == static_cast<uint8_t>(Rcode::kNotImp) ||
         rcode == static_cast<uint8_t>(Rcode::kFormErr);
}

std::vector<uint8_t> buildUpstreamQuery(std::string_view name, uint16_t qtype, uint16_t qclass,
                                        uint16_t id, bool cd) {
  PktPtr pkt(ldns_pkt_new());
  ldns_pkt_set_id(pkt.get(), id);
  ldns_pkt_set_rd(pkt.get(), true);
  ldns_pkt_set_cd(pkt.get(), cd);
  ldns_rr* q = ldns_rr_new();
  ldns_rr_set_owner(q, dnameFromWire(name).release());
  ldns_rr_set_type(q, static_cast<ldns_rr_type>(qtype));
  ldns_rr_set_class(q, static_cast<ldns_rr_class>(qclass));
  ldns_rr_set_question(q, true);
  ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_QUESTION, q);
  ldns_pkt_set_edns_udp_size(pkt.get(), kAdvertisedUdpSize);
  return packetToWire(pkt.get());
}

// The local CNAME chain of `prefix` followed by the upstream's answer for its target.
std::vector<uint8_t> mergeChain(const Template& prefix, const std::vector<uint8_t>& upstream) {
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, prefix.wire.data(), prefix.wire.size()) != LDNS_STATUS_OK) {
    return {};
  }
  PktPtr chain(raw);
  if (ldns_wire2pkt(&raw, upstream.data(), upstream.size()) != LDNS_STATUS_OK) {
    return {};
  }
  PktPtr up(raw);
  PktPtr out(ldns_pkt_new());
  ldns_pkt_set_qr(out.get(), true);
  ldns_pkt_set_rcode(out.get(), ldns_pkt_get_rcode(up.get()));
  ldns_pkt_push_rr(out.get(), LDNS_SECTION_QUESTION,
                   ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(chain.get()), 0)));
  ldns_pkt_push_rr_list(out.get(), LDNS_SECTION_ANSWER,
                        ldns_rr_list_clone(ldns_pkt_answer(chain.get())));
  ldns_pkt_push_rr_list(out.get(), LDNS_SECTION_ANSWER,
                        ldns_rr_list_clone(ldns_pkt_answer(up.get())));
  ldns_pkt_push_rr_list(out.get(), LDNS_SECTION_AUTHORITY,
                        ldns_rr_list_clone(ldns_pkt_authority(up.get())));
  return packetToWire(out.get());
}

}  // namespace

uint16_t IdSource::next() {
  if (pos_ + 2 > buf_.size()) {
    if (RAND_bytes(buf_.data(), static_cast<int>(buf_.size())) != 1) {
      std::abort();  // no CSPRNG: never fall back to predictable IDs
    }
    pos_ = 0;
  }
  const uint16_t v = readU16(buf_.data() + pos_);
  pos_ += 2;
  return v;
}

uint32_t IdSource::next32() { return (uint32_t{next()} << 16) | next(); }

uint64_t monotonicMs() noexcept {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count());
}

bool responseMatches(const uint8_t* data, size_t len, uint16_t id, std::string_view lower_name,
                     uint16_t qtype, uint16_t qclass) noexcept {
  if (len < kHeaderSize || readU16(data) != id || (readU16(data + 2) & flag::kQr) == 0 ||
      readU16(data + 4) != 1) {
    return false;
  }
  const size_t n = lower_name.size();
  if (kHeaderSize + n + 4 > len) {
    return false;
  }
  uint8_t name[kMaxNameWire];
  std::memcpy(name, data + kHeaderSize, n);
  lowerWireName(name, n);
  return std::memcmp(name, lower_name.data(), n) == 0 && readU16(data + kHeaderSize + n) == qtype &&
         readU16(data + kHeaderSize + n + 2) == qclass;
}

bool normalizeResponse(std::vector<uint8_t>* wire) {
  uint8_t* d = wire->data();
  const size_t len = wire->size();
  if (len < kHeaderSize || readU16(d + 4) != 1) {
    return false;
  }
  size_t off = kHeaderSize;
  if (!skipName(d, len, &off) || off + 4 > len) {
    return false;
  }
  lowerWireName(d + kHeaderSize, off - kHeaderSize);
  off += 4;
  const uint32_t an_ns = uint32_t{readU16(d + 6)} + readU16(d + 8);
  const uint16_t ar = readU16(d + 10);
  for (uint32_t i = 0; i < an_ns + ar; ++i) {
    RrRef rr;
    if (!nextRr(d, len, &off, &rr)) {
      return false;
    }
    if (rr.type == rrtype::kOpt && i >= an_ns) {
      writeU16(d + 10, static_cast<uint16_t>(i - an_ns));
      wire->resize(rr.owner);
      break;
    }
  }
  writeU16(wire->data(), 0);
  return true;
}

class Transaction : public std::enable_shared_from_this<Transaction> {
 public:
  Transaction(Forwarder& fwd, std::shared_ptr<const Tables> tables, const ForwardRequest& req,
              Forwarder::ReplyFn reply)
      : fwd_(fwd),
        tables_(std::move(tables)),
        req_(req),
        reply_(std::move(reply)),
        deadline_(fwd.io_),
        attempt_timer_(fwd.io_) {
    if (req_.prefix != nullptr) {
      target_ = req_.prefix->external_target;
    } else {
      target_.assign(req_.query.question.lowerName());
    }
  }

  void start();

 private:
  void attempt();
  void receiveUdp(uint64_t gen);
  void onResponse(uint64_t gen, size_t len, bool via_tcp);
  void retryTcp(uint64_t gen);
  void nextAttempt(bool timed_out);
  void succeed(std::vector<uint8_t> response);
  void fail();
  void respond(std::vector<uint8_t> stored, bool authoritative);
  void closeSockets();

  Counters& view() { return fwd_.stats_->view(req_.view_slot); }

  Forwarder& fwd_;
  std::shared_ptr<const Tables> tables_;
  ForwardRequest req_;
  Forwarder::ReplyFn reply_;
  std::string target_;
  const std::vector<config::DnsEndpoint>* upstreams_ = nullptr;
  asio::steady_timer deadline_;
  asio::steady_timer attempt_timer_;
  std::optional<udp::socket> udp_;
  std::optional<tcp::socket> tcp_;
  std::vector<uint8_t> query_;
  std::vector<uint8_t> rx_;
  uint8_t tcp_len_[2] = {};
  uint16_t id_ = 0;
  size_t attempt_ = 0;
  size_t attempts_ = 1;
  size_t server_index_ = 0;
  uint64_t gen_ = 0;
  Clock::time_point attempt_started_;
  bool done_ = false;
};

void Transaction::start() {
  ++fwd_.in_flight_;
  if (req_.prefix != nullptr && fwd_.cache_ != nullptr) {
    uint8_t keybuf[kMaxNameWire + 4];
    std::vector<uint8_t> cached(kMaxMessage);
    const size_t n = fwd_.cache_->lookup(
        cacheKey(target_, req_.query.question.qtype, req_.query.question.qclass, keybuf),
        monotonicMs(), cached.data(), cached.size());
    if (n != 0) {
      cached.resize(n);
      fwd_.stats_->global.cache_hits.inc();
      view().cache_hits.inc();
      respond(mergeChain(*req_.prefix, cached), false);
      return;
    }
  }
  upstreams_ = &tables_->upstreamsFor(target_);
  if (upstreams_->empty() || fwd_.in_flight_ > kMaxInFlight) {
    fail();
    return;
  }
  attempts_ = tables_->retries + 1;
  // Start at the server that last answered (the first one until it fails), then fail over.
  server_index_ = fwd_.preferred_server_ % upstreams_->size();
  deadline_.expires_after(std::chrono::milliseconds(tables_->timeout_ms));
  deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->done_) {
      self->fwd_.stats_->global.upstream_timeouts.inc();
      self->view().upstream_timeouts.inc();
      self->fail();
    }
  });
  attempt();
}

void Transaction::attempt() {
  const uint64_t gen = ++gen_;
  const config::DnsEndpoint& ep = (*upstreams_)[(server_index_ + attempt_) % upstreams_->size()];
  id_ = fwd_.ids_.next();
  query_ = buildUpstreamQuery(target_, req_.query.question.qtype, req_.query.question.qclass, id_,
                              (req_.query.flags & flag::kCd) != 0);
  const udp::endpoint remote(toAsio(ep.address), ep.port);
  boost::system::error_code ec;
  udp_.emplace(fwd_.io_);
  udp_->open(remote.protocol(), ec);
  if (!ec) {
    udp_->connect(remote, ec);  // ephemeral port chosen by the kernel; only this peer gets in
  }
  if (!ec) {
    udp_->send(asio::buffer(query_), 0, ec);
  }
  fwd_.stats_->global.upstream_queries.inc();
  view().upstream_queries.inc();
  attempt_started_ = Clock::now();
  if (ec) {
    fwd_.stats_->global.upstream_errors.inc();
    nextAttempt(false);
    return;
  }
  const auto remaining = deadline_.expiry() - Clock::now();
  auto share = std::chrono::duration_cast<Clock::duration>(
      std::chrono::milliseconds(tables_->timeout_ms) / attempts_);
  share = std::max<Clock::duration>(share, kMinAttempt);
  attempt_timer_.expires_after(std::min(share, remaining));
  attempt_timer_.async_wait([self = shared_from_this(), gen](const boost::system::error_code& e) {
    if (!e && !self->done_ && gen == self->gen_) {
      self->fwd_.stats_->global.upstream_timeouts.inc();
      self->view().upstream_timeouts.inc();
      self->nextAttempt(true);
    }
  });
  rx_.resize(kMaxMessage);
  receiveUdp(gen);
}

void Transaction::receiveUdp(uint64_t gen) {
  udp_->async_receive(asio::buffer(rx_), [self = shared_from_this(), gen](
                                             const boost::system::error_code& ec, size_t n) {
    if (self->done_ || gen != self->gen_ || ec == asio::error::operation_aborted) {
      return;
    }
    if (ec) {  // e.g. ICMP port unreachable on the connected socket
      self->fwd_.stats_->global.upstream_errors.inc();
      self->nextAttempt(false);
      return;
    }
    self->onResponse(gen, n, false);
  });
}

void Transaction::onResponse(uint64_t gen, size_t len, bool via_tcp) {
  const Question& q = req_.query.question;
  if (!responseMatches(rx_.data(), len, id_, target_, q.qtype, q.qclass)) {
    fwd_.stats_->global.upstream_errors.inc();
    if (via_tcp) {
      nextAttempt(false);
    } else {
      receiveUdp(gen);  // not ours (spoofed or late): keep waiting for the real one
    }
    return;
  }
  const uint16_t flags = readU16(rx_.data() + 2);
  if (!via_tcp && (flags & flag::kTc) != 0) {
    retryTcp(gen);
    return;
  }
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - attempt_started_);
  fwd_.stats_->global.recordLatency(static_cast<uint64_t>(us.count()));
  view().recordLatency(static_cast<uint64_t>(us.count()));
  ldns_pkt* raw = nullptr;
  if (isFailureRcode(flags & flag::kRcodeMask) ||
      ldns_wire2pkt(&raw, rx_.data(), len) != LDNS_STATUS_OK) {
    PktPtr discard(raw);
    fwd_.stats_->global.upstream_errors.inc();
    nextAttempt(false);
    return;
  }
  PktPtr checked(raw);
  rx_.resize(len);
  succeed(std::move(rx_));
}

void Transaction::retryTcp(uint64_t gen) {
  fwd_.stats_->global.upstream_tcp.inc();
  const config::DnsEndpoint& ep = (*upstreams_)[(server_index_ + attempt_) % upstreams_->size()];
  tcp_.emplace(fwd_.io_);
  const tcp::endpoint remote(toAsio(ep.address), ep.port);
  auto self = shared_from_this();
  tcp_->async_connect(remote, [self, gen](const boost::system::error_code& ec) {
    if (self->done_ || gen != self->gen_) {
      return;
    }
    if (ec) {
      self->nextAttempt(false);
      return;
    }
    writeU16(self->tcp_len_, static_cast<uint16_t>(self->query_.size()));
    std::array<asio::const_buffer, 2> out = {asio::buffer(self->tcp_len_),
                                             asio::buffer(self->query_)};
    asio::async_write(*self->tcp_, out, [self, gen](const boost::system::error_code& e, size_t) {
      if (self->done_ || gen != self->gen_) {
        return;
      }
      if (e) {
        self->nextAttempt(false);
        return;
      }
      asio::async_read(*self->tcp_, asio::buffer(self->tcp_len_),
                       [self, gen](const boost::system::error_code& e2, size_t) {
                         if (self->done_ || gen != self->gen_) {
                           return;
                         }
                         const size_t n = readU16(self->tcp_len_);
                         if (e2 || n < kHeaderSize) {
                           self->nextAttempt(false);
                           return;
                         }
                         self->rx_.resize(n);
                         asio::async_read(
                             *self->tcp_, asio::buffer(self->rx_),
                             [self, gen, n](const boost::system::error_code& e3, size_t) {
                               if (self->done_ || gen != self->gen_) {
                                 return;
                               }
                               if (e3) {
                                 self->nextAttempt(false);
                                 return;
                               }
                               self->onResponse(gen, n, true);
                             });
                       });
    });
  });
}

void Transaction::nextAttempt(bool timed_out) {
  {
    // Prefer the next server for new queries while this one is failing.
    const size_t failed = (server_index_ + attempt_) % upstreams_->size();
    if (fwd_.preferred_server_ % upstreams_->size() == failed) {
      fwd_.preferred_server_ = failed + 1;
    }
  }
  closeSockets();
  attempt_timer_.cancel();
  ++gen_;
  if (++attempt_ >= attempts_ || Clock::now() >= deadline_.expiry()) {
    fail();
    return;
  }
  attempt();
}

void Transaction::succeed(std::vector<uint8_t> response) {
  if (!normalizeResponse(&response)) {
    fwd_.stats_->global.upstream_errors.inc();
    nextAttempt(false);
    return;
  }
  if (fwd_.cache_ != nullptr) {
    uint8_t keybuf[kMaxNameWire + 4];
    const Question& q = req_.query.question;
    fwd_.cache_->insert(cacheKey(target_, q.qtype, q.qclass, keybuf), response.data(),
                        response.size(), monotonicMs(), tables_->max_cache_ttl_s,
                        tables_->max_negative_ttl_s);
  }
  if (req_.prefix != nullptr) {
    response = mergeChain(*req_.prefix, response);
  }
  respond(std::move(response), false);
}

void Transaction::fail() {
  if (done_) {
    return;
  }
  done_ = true;
  closeSockets();
  deadline_.cancel();
  attempt_timer_.cancel();
  uint8_t out[kHeaderSize + kMaxNameWire + 4 + kOptRrSize];
  const size_t n = writeBareResponse(nullptr, req_.query, 0, Rcode::kServFail, false, out);
  // writeBareResponse copies the question from the query; put the client's question in place.
  std::memmove(out + kHeaderSize + req_.question_len, out + kHeaderSize, n - kHeaderSize);
  std::memcpy(out + kHeaderSize, req_.question_wire, req_.question_len);
  writeU16(out + 4, 1);
  fwd_.stats_->global.rcodes[static_cast<size_t>(Rcode::kServFail)].inc();
  view().rcodes[static_cast<size_t>(Rcode::kServFail)].inc();
  --fwd_.in_flight_;
  reply_(out, n + req_.question_len);
}

void Transaction::respond(std::vector<uint8_t> stored, bool authoritative) {
  if (done_) {
    return;
  }
  if (stored.size() < kHeaderSize + req_.question_len) {
    fail();
    return;
  }
  done_ = true;
  closeSockets();
  deadline_.cancel();
  attempt_timer_.cancel();
  const auto rcode = static_cast<Rcode>(stored[3] & flag::kRcodeMask);
  const size_t len = stored.size();
  stored.resize(std::max(len + kOptRrSize, kHeaderSize + req_.question_len + kOptRrSize));
  const size_t limit = responseLimit(req_.query, req_.tcp);
  const size_t n = finishFromStored(req_.question_wire, req_.question_len, req_.query, len, limit,
                                    authoritative, rcode, stored.data());
  if ((readU16(stored.data() + 2) & flag::kTc) != 0) {
    fwd_.stats_->global.truncated.inc();
  }
  fwd_.stats_->global.rcodes[static_cast<size_t>(rcode)].inc();
  view().rcodes[static_cast<size_t>(rcode)].inc();
  --fwd_.in_flight_;
  reply_(stored.data(), n);
}

void Transaction::closeSockets() {
  boost::system::error_code ec;
  if (udp_) {
    udp_->close(ec);
  }
  if (tcp_) {
    tcp_->close(ec);
  }
}

void Forwarder::forward(std::shared_ptr<const Tables> tables, const ForwardRequest& request,
                        ReplyFn reply) {
  auto t = std::make_shared<Transaction>(*this, std::move(tables), request, std::move(reply));
  t->start();
}

}  // namespace crossgate::dns
