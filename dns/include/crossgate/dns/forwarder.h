// Forwarding to upstream servers: per client query one transaction over UDP from a fresh
// ephemeral socket (random source port) with a random ID; a response is accepted only if it
// comes from the upstream's address and port (connected socket), carries the ID and the same
// question. Retries rotate across the upstreams, each attempt getting an equal share of
// `timeout_ms`; a truncated response is retried over TCP to the same server; when the budget is
// spent or every attempt failed the client gets SERVFAIL. Answers are cached (shared by views).
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "crossgate/dns/cache.h"
#include "crossgate/dns/handler.h"
#include "crossgate/dns/stats.h"
#include "crossgate/dns/tables.h"

namespace crossgate::dns {

// Query IDs from OpenSSL's CSPRNG, fetched in blocks.
class IdSource {
 public:
  uint16_t next();
  uint32_t next32();

 private:
  std::array<uint8_t, 512> buf_{};
  size_t pos_ = sizeof(buf_);
};

// Milliseconds of the monotonic clock (the cache's time base).
uint64_t monotonicMs() noexcept;

class Forwarder {
 public:
  using ReplyFn = std::function<void(const uint8_t* data, size_t len)>;

  Forwarder(boost::asio::io_context& io, Cache* cache, ThreadStats* stats)
      : io_(io), cache_(cache), stats_(stats) {}

  // Resolves `request` upstream (or from the cache for a CNAME chain's target) and calls
  // `reply` exactly once with the client's response, on this io_context's thread.
  void forward(std::shared_ptr<const Tables> tables, const ForwardRequest& request, ReplyFn reply);

  size_t inFlight() const noexcept { return in_flight_; }

 private:
  friend class Transaction;
  boost::asio::io_context& io_;
  Cache* cache_;
  ThreadStats* stats_;
  IdSource ids_;
  size_t in_flight_ = 0;
  size_t preferred_server_ = 0;
};

// Turns an upstream response into the cacheable form: ID 0, question in lower case, OPT (and
// anything after it) removed. False if it is not a well-formed response.
bool normalizeResponse(std::vector<uint8_t>* wire);

// Checks a response against what was asked: QR set, ID, one question with the same name (any
// case), type and class.
bool responseMatches(const uint8_t* data, size_t len, uint16_t id, std::string_view lower_name,
                     uint16_t qtype, uint16_t qclass) noexcept;

}  // namespace crossgate::dns
