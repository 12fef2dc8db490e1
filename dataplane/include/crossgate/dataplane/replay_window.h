// Anti-replay window (RFC 4303 §3.4.3, Appendix A) as an RFC 6479 bitmap ring: blocks of 64 bits,
// no bit shifting; advancing the window clears the blocks it moves over. The ring has one block
// more than the window needs (RFC 6479's "redundant bits"), so a window of W packets uses
// 2^k >= W/64 + 1 blocks.
//
// Sequence numbers are 64-bit. Without ESN the high half is always 0. With ESN
// (RFC 4303 §2.2.1) only the low 32 bits travel; inferSeq() reconstructs the high half from the
// window position as in RFC 4303 Appendix A2.
//
// Not thread-safe by itself: the SA guards it with a per-SA spinlock (see sa.h). check() does not
// change state; checkAndAdvance() is the only mutator and must run only after the ICV verified.
// The bitmap is allocated once in init() (control plane); the packet path never allocates.
#pragma once

#include <cstdint>
#include <memory>

#include "crossgate/dataplane/drop_reasons.h"

namespace crossgate::dataplane {

class ReplayWindow {
 public:
  static constexpr uint32_t kMaxWindow = 32768;
  static constexpr uint32_t kDefaultWindow = 1024;

  ReplayWindow() = default;
  // window: packets, 1..kMaxWindow; 0 turns replay checking off (check() and
  // checkAndAdvance() then only reject sequence number 0 and track the highest number for ESN
  // inference). Returns false if window > kMaxWindow.
  bool init(uint32_t window, bool esn);

  uint32_t window() const noexcept { return window_; }
  bool esn() const noexcept { return esn_; }
  // Highest sequence number accepted so far (0 = none yet).
  uint64_t top() const noexcept { return top_; }

  // ESN: the full 64-bit sequence number a received low half stands for (RFC 4303 A2.2).
  // Without ESN: seq_lo itself.
  uint64_t inferSeq(uint32_t seq_lo) const noexcept;

  // Would seq be accepted? kNone, replay (already seen) or too_old (left of the window). Also
  // rejects sequence number 0 (never sent) as replay. No state change.
  EspDrop check(uint64_t seq) const noexcept;

  // check(), then, if acceptable, marks seq as received and moves the window right if seq is
  // beyond the top. Call only for packets whose ICV verified.
  EspDrop checkAndAdvance(uint64_t seq) noexcept;

 private:
  static constexpr uint32_t kBlockBits = 64;
  bool seen(uint64_t seq) const noexcept;

  std::unique_ptr<uint64_t[]> bitmap_;
  uint32_t blocks_ = 0;  // power of two
  uint32_t window_ = 0;
  uint32_t inference_window_ = 64;  // W of Appendix A2 (window_, or 64 when checking is off)
  bool esn_ = false;
  uint64_t top_ = 0;
};

}  // namespace crossgate::dataplane
