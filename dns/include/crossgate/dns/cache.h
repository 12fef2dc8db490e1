// A bounded response cache (LRU by entries) for forwarded answers. Positive answers live for
// their smallest TTL capped at max_cache_ttl_s; negative answers (NXDOMAIN, NODATA) for
// min(SOA TTL, SOA MINIMUM) per RFC 2308, capped at max_negative_ttl_s; answers without an SOA
// or with TTL 0 are not cached. Forwarded answers are the same for every view, so the key is
// (name, type, class). Time is passed in (milliseconds of a monotonic clock) so tests control it.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "crossgate/dns/tables.h"
#include "crossgate/dns/wire.h"

namespace crossgate::dns {

// Builds the cache key (lower-case wire name, type, class) into buf; returns a view of it.
std::string_view cacheKey(std::string_view lower_name, uint16_t qtype, uint16_t qclass,
                          uint8_t (&buf)[kMaxNameWire + 4]) noexcept;

class Cache {
 public:
  explicit Cache(size_t capacity) : capacity_(capacity) {}

  void setCapacity(size_t capacity);
  size_t size() const;

  // On a hit writes the stored message into out with every TTL reduced by its age and returns
  // its length; if it is longer than `cap` returns the length without writing (the caller
  // truncates). 0 on a miss or an expired entry.
  size_t lookup(std::string_view key, uint64_t now_ms, uint8_t* out, size_t cap);

  // Stores a response (no OPT, ID 0, question in lower case). Returns the TTL it was stored
  // with, 0 if it is not cacheable.
  uint32_t insert(std::string_view key, const uint8_t* wire, size_t len, uint64_t now_ms,
                  uint32_t max_ttl_s, uint32_t max_negative_ttl_s);

 private:
  struct Entry {
    std::string key;
    std::vector<uint8_t> wire;
    std::vector<uint16_t> ttl_offsets;
    std::vector<uint32_t> ttls;
    uint64_t inserted_ms = 0;
    uint64_t expires_ms = 0;
  };
  using List = std::list<Entry>;

  mutable std::mutex mu_;
  size_t capacity_;
  List lru_;  // most recently used first
  NameMap<List::iterator> index_;
};

}  // namespace crossgate::dns
