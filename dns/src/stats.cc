#include "crossgate/dns/stats.h"

#include <nlohmann/json.hpp>

namespace crossgate::dns {
namespace {

constexpr std::array<const char*, kRcodeCount> kRcodeNames = {"NOERROR",  "FORMERR", "SERVFAIL",
                                                              "NXDOMAIN", "NOTIMP",  "REFUSED"};

struct Sum {
  uint64_t queries = 0, udp = 0, tcp = 0, dropped = 0, rate_limited = 0, truncated = 0;
  uint64_t local_answers = 0, cache_hits = 0, cache_misses = 0;
  uint64_t upstream_queries = 0, upstream_timeouts = 0, upstream_errors = 0, upstream_tcp = 0;
  std::array<uint64_t, kRcodeCount> rcodes{};
  std::array<uint64_t, kLatencyBucketsUs.size() + 1> buckets{};
  uint64_t latency_sum_us = 0, latency_count = 0;

  void add(const Counters& c) {
    queries += c.queries.get();
    udp += c.udp.get();
    tcp += c.tcp.get();
    dropped += c.dropped.get();
    rate_limited += c.rate_limited.get();
    truncated += c.truncated.get();
    local_answers += c.local_answers.get();
    cache_hits += c.cache_hits.get();
    cache_misses += c.cache_misses.get();
    upstream_queries += c.upstream_queries.get();
    upstream_timeouts += c.upstream_timeouts.get();
    upstream_errors += c.upstream_errors.get();
    upstream_tcp += c.upstream_tcp.get();
    for (size_t i = 0; i < rcodes.size(); ++i) {
      rcodes[i] += c.rcodes[i].get();
    }
    for (size_t i = 0; i < buckets.size(); ++i) {
      buckets[i] += c.latency_buckets[i].get();
    }
    latency_sum_us += c.latency_sum_us.get();
    latency_count += c.latency_count.get();
  }

  nlohmann::json toJson() const {
    nlohmann::json rc = nlohmann::json::object();
    for (size_t i = 0; i < rcodes.size(); ++i) {
      rc[kRcodeNames[i]] = rcodes[i];
    }
    nlohmann::json hist = nlohmann::json::array();
    for (size_t i = 0; i < buckets.size(); ++i) {
      nlohmann::json b;
      if (i < kLatencyBucketsUs.size()) {
        b["le_us"] = kLatencyBucketsUs[i];
      } else {
        b["le_us"] = "+Inf";
      }
      b["count"] = buckets[i];
      hist.push_back(b);
    }
    return {{"queries", queries},
            {"udp", udp},
            {"tcp", tcp},
            {"rcodes", rc},
            {"dropped", dropped},
            {"rate_limited", rate_limited},
            {"truncated", truncated},
            {"local_answers", local_answers},
            {"cache_hits", cache_hits},
            {"cache_misses", cache_misses},
            {"upstream",
             {{"queries", upstream_queries},
              {"timeouts", upstream_timeouts},
              {"errors", upstream_errors},
              {"tcp_retries", upstream_tcp},
              {"latency_mean_us", latency_count == 0 ? 0 : latency_sum_us / latency_count},
              {"latency_count", latency_count},
              {"latency_histogram", hist}}}};
  }
};

}  // namespace

void Counters::recordLatency(uint64_t us) noexcept {
  size_t i = 0;
  while (i < kLatencyBucketsUs.size() && us > kLatencyBucketsUs[i]) {
    ++i;
  }
  latency_buckets[i].inc();
  latency_sum_us.inc(us);
  latency_count.inc();
}

ThreadStats* StatsRegistry::addThread() {
  std::lock_guard<std::mutex> lock(mu_);
  threads_.push_back(std::make_unique<ThreadStats>());
  return threads_.back().get();
}

size_t StatsRegistry::slotFor(const std::string& view_name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < slot_names_.size(); ++i) {
    if (slot_names_[i] == view_name) {
      return i;
    }
  }
  if (slot_names_.size() < kMaxViewSlots - 1) {
    slot_names_.push_back(view_name);
    return slot_names_.size() - 1;
  }
  return kMaxViewSlots - 1;  // shared overflow slot
}

std::string StatsRegistry::toJson(size_t cache_entries) const {
  std::lock_guard<std::mutex> lock(mu_);
  Sum global;
  uint64_t segmented_sends = 0;
  uint64_t segmented_answers = 0;
  for (const auto& t : threads_) {
    global.add(t->global);
    segmented_sends += t->udp_segmented_sends.get();
    segmented_answers += t->udp_segmented_answers.get();
  }
  nlohmann::json views = nlohmann::json::object();
  for (size_t i = 0; i < slot_names_.size(); ++i) {
    Sum v;
    for (const auto& t : threads_) {
      v.add(t->views[i]);
    }
    views[slot_names_[i]] = v.toJson();
  }
  nlohmann::json doc = {
      {"global", global.toJson()},
      {"views", views},
      {"cache_entries", cache_entries},
      {"udp_segmented", {{"sends", segmented_sends}, {"answers", segmented_answers}}},
      {"threads", threads_.size()}};
  return doc.dump();
}

}  // namespace crossgate::dns
