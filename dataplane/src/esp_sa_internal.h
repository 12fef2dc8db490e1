// Access to an SA's packet-path state for esp_encrypt.cc and esp_decrypt.cc.
#pragma once

#include <atomic>

#include "crossgate/dataplane/sa.h"
#include "esp_crypto.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace crossgate::dataplane {

struct Sa::Internals {
  static SaCrypto& crypto(Sa& sa) noexcept { return *sa.crypto_; }
  static std::atomic<uint64_t>& nextSeq(Sa& sa) noexcept { return sa.next_seq_; }
  static ReplayWindow& replay(Sa& sa) noexcept { return sa.replay_; }
  static bool account(Sa& sa, uint64_t bytes, uint64_t now_s) noexcept {
    return sa.account(bytes, now_s);
  }
  // Marks the SA as past its hard limit (outbound sequence space exhausted). Returns true if
  // this call made the transition.
  static bool markHard(Sa& sa) noexcept {
    return (sa.flags_.fetch_or(kHardReached, std::memory_order_relaxed) & kHardReached) == 0;
  }

  // The per-SA replay spinlock: held for a window check or check-and-advance only.
  class ReplayLock {
   public:
    explicit ReplayLock(Sa& sa) noexcept : flag_(sa.replay_lock_) {
      while (flag_.test_and_set(std::memory_order_acquire)) {
        while (flag_.test(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
          _mm_pause();
#endif
        }
      }
    }
    ~ReplayLock() { flag_.clear(std::memory_order_release); }
    ReplayLock(const ReplayLock&) = delete;
    ReplayLock& operator=(const ReplayLock&) = delete;

   private:
    std::atomic_flag& flag_;
  };
};

}  // namespace crossgate::dataplane
