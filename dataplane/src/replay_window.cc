#include "crossgate/dataplane/replay_window.h"

#include <algorithm>
#include <bit>

namespace crossgate::dataplane {

bool ReplayWindow::init(uint32_t window, bool esn) {
  if (window > kMaxWindow) {
    return false;
  }
  window_ = window;
  esn_ = esn;
  top_ = 0;
  inference_window_ = window == 0 ? 64 : window;
  // The block of the top sequence number plus enough whole blocks behind it to cover
  // [top - window + 1, top], rounded up to a power of two (RFC 6479).
  uint32_t needed = std::max<uint32_t>((window == 0 ? 0 : (window - 1) / kBlockBits) + 2, 2);
  blocks_ = std::bit_ceil(needed);
  bitmap_ = std::make_unique<uint64_t[]>(blocks_);  // value-initialised: all zero
  return true;
}

uint64_t ReplayWindow::inferSeq(uint32_t seq_lo) const noexcept {
  if (!esn_) {
    return seq_lo;
  }
  const uint32_t tl = static_cast<uint32_t>(top_);
  const uint64_t th = top_ >> 32;
  const uint32_t w = inference_window_;
  uint64_t sh;
  if (tl >= w - 1) {
    // Case A: the window lies within one 2^32 subspace; a number below it is from the next one.
    sh = seq_lo >= tl - w + 1 ? th : th + 1;
  } else {
    // Case B: the window spans two subspaces; a number at its (wrapped) left end belongs to the
    // previous one. There is none before subspace 0.
    sh = (seq_lo >= static_cast<uint32_t>(tl - w + 1) && th > 0) ? th - 1 : th;
  }
  return (sh << 32) | seq_lo;
}

bool ReplayWindow::seen(uint64_t seq) const noexcept {
  const uint64_t block = (seq / kBlockBits) & (blocks_ - 1);
  return (bitmap_[block] >> (seq % kBlockBits)) & 1u;
}

EspDrop ReplayWindow::check(uint64_t seq) const noexcept {
  if (seq == 0) {
    return EspDrop::replay;  // never sent: the first packet carries 1
  }
  if (window_ == 0 || seq > top_) {
    return EspDrop::kNone;
  }
  if (top_ - seq >= window_) {
    return EspDrop::too_old;
  }
  return seen(seq) ? EspDrop::replay : EspDrop::kNone;
}

EspDrop ReplayWindow::checkAndAdvance(uint64_t seq) noexcept {
  EspDrop verdict = check(seq);
  if (verdict != EspDrop::kNone) {
    return verdict;
  }
  if (seq > top_) {
    if (window_ != 0) {
      // Clear the blocks the window moves over (at most the whole ring).
      const uint64_t cur = top_ / kBlockBits;
      const uint64_t diff = std::min<uint64_t>(seq / kBlockBits - cur, blocks_);
      for (uint64_t i = 1; i <= diff; ++i) {
        bitmap_[(cur + i) & (blocks_ - 1)] = 0;
      }
    }
    top_ = seq;
  }
  if (window_ != 0) {
    bitmap_[(seq / kBlockBits) & (blocks_ - 1)] |= uint64_t{1} << (seq % kBlockBits);
  }
  return EspDrop::kNone;
}

}  // namespace crossgate::dataplane
