// Per-client token buckets (one table per worker thread, no locks, no allocation after
// construction). Clients hash into a fixed table; a client taking over a slot starts with a
// full bucket, so a collision can only make the limit laxer, never block an innocent client.
#pragma once

#include <cstdint>
#include <vector>

#include "crossgate/common/net.h"

namespace crossgate::dns {

class RateLimiter {
 public:
  explicit RateLimiter(size_t slots = 8192) : slots_(slots) {}

  // qps: allowed queries per second per client for this table; 0 disables the limiter.
  void setRate(uint32_t qps) noexcept { qps_ = qps; }
  uint32_t rate() const noexcept { return qps_; }

  bool allow(const IpAddress& client, uint64_t now_ms) noexcept {
    if (qps_ == 0) {
      return true;
    }
    const auto& b = client.bytes();
    uint64_t h = 1469598103934665603ull;
    const int n = client.isV4() ? 4 : 16;
    for (int i = 0; i < n; ++i) {
      h = (h ^ b[i]) * 1099511628211ull;
    }
    Slot& s = slots_[h % slots_.size()];
    const double burst = static_cast<double>(qps_);
    if (!s.used || s.addr != b) {
      s.used = true;
      s.addr = b;
      s.tokens = burst;
      s.last_ms = now_ms;
    }
    s.tokens = std::min(burst, s.tokens + static_cast<double>(now_ms - s.last_ms) * qps_ / 1000.0);
    s.last_ms = now_ms;
    if (s.tokens < 1.0) {
      return false;
    }
    s.tokens -= 1.0;
    return true;
  }

 private:
  struct Slot {
    std::array<uint8_t, 16> addr{};
    bool used = false;
    double tokens = 0;
    uint64_t last_ms = 0;
  };
  std::vector<Slot> slots_;
  uint32_t qps_ = 0;
};

}  // namespace crossgate::dns
