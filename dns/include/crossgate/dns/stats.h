// Counters: each worker thread owns one ThreadStats and is its only writer (relaxed stores, no
// read-modify-write atomics on the hot path); readers sum them into JSON.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crossgate/dns/wire.h"

namespace crossgate::dns {

class Counter {
 public:
  void inc(uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Upper bounds (microseconds) of the upstream latency histogram; the last bucket is "more".
inline constexpr std::array<uint64_t, 11> kLatencyBucketsUs = {
    500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000};

struct Counters {
  Counter queries;
  Counter udp;
  Counter tcp;
  std::array<Counter, kRcodeCount> rcodes;
  Counter dropped;  // malformed beyond an answer, or responses
  Counter rate_limited;
  Counter truncated;
  Counter local_answers;
  Counter cache_hits;
  Counter cache_misses;
  Counter upstream_queries;
  Counter upstream_timeouts;
  Counter upstream_errors;  // network errors, bad rcodes, mismatched responses
  Counter upstream_tcp;
  std::array<Counter, kLatencyBucketsUs.size() + 1> latency_buckets;
  Counter latency_sum_us;
  Counter latency_count;

  void recordLatency(uint64_t us) noexcept;
};

inline constexpr size_t kMaxViewSlots = 64;

struct ThreadStats {
  Counters global;
  // UDP answers sent as segmented trains (UDP_SEGMENT): the sends, and the answers they carried.
  Counter udp_segmented_sends;
  Counter udp_segmented_answers;
  std::array<Counters, kMaxViewSlots> views;
  Counters& view(size_t slot) noexcept {
    return views[slot < kMaxViewSlots ? slot : kMaxViewSlots - 1];
  }
};

// Owns every thread's counters and the view-name -> slot mapping (stable across reloads).
class StatsRegistry {
 public:
  ThreadStats* addThread();
  size_t slotFor(const std::string& view_name);
  // One JSON document: {"global": {...}, "views": {"aws": {...}, ...}, "cache_entries": n}.
  std::string toJson(size_t cache_entries) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<ThreadStats>> threads_;
  std::vector<std::string> slot_names_;
};

}  // namespace crossgate::dns
