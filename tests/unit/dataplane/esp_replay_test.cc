// Anti-replay window (RFC 4303 §3.4.3 and Appendix A, RFC 6479 ring).
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "crossgate/dataplane/replay_window.h"

namespace crossgate::dataplane {
namespace {

ReplayWindow make(uint32_t window, bool esn = false) {
  ReplayWindow w;
  EXPECT_TRUE(w.init(window, esn));
  return w;
}

TEST(ReplayWindow, InOrderAcceptedDuplicatesRejected) {
  ReplayWindow w = make(1024);
  for (uint64_t s = 1; s <= 5000; ++s) {
    ASSERT_EQ(w.checkAndAdvance(s), EspDrop::kNone) << s;
  }
  EXPECT_EQ(w.top(), 5000u);
  for (uint64_t s = 5000 - 1023; s <= 5000; ++s) {
    ASSERT_EQ(w.checkAndAdvance(s), EspDrop::replay) << s;
  }
  EXPECT_EQ(w.checkAndAdvance(5000 - 1024), EspDrop::too_old);
}

TEST(ReplayWindow, ZeroIsNeverValid) {
  ReplayWindow w = make(64);
  EXPECT_EQ(w.check(0), EspDrop::replay);
  EXPECT_EQ(w.checkAndAdvance(0), EspDrop::replay);
  EXPECT_EQ(w.top(), 0u);
}

TEST(ReplayWindow, ReorderedWithinWindow) {
  ReplayWindow w = make(1024);
  ASSERT_EQ(w.checkAndAdvance(100), EspDrop::kNone);
  for (uint64_t s : {50u, 99u, 2u, 1u, 77u}) {
    EXPECT_EQ(w.checkAndAdvance(s), EspDrop::kNone) << s;
  }
  for (uint64_t s : {50u, 99u, 2u, 1u, 77u, 100u}) {
    EXPECT_EQ(w.checkAndAdvance(s), EspDrop::replay) << s;
  }
  EXPECT_EQ(w.checkAndAdvance(3), EspDrop::kNone);
  EXPECT_EQ(w.top(), 100u);
}

TEST(ReplayWindow, WindowEdge) {
  ReplayWindow w = make(1024);
  ASSERT_EQ(w.checkAndAdvance(2000), EspDrop::kNone);
  // top - W + 1 = 977 is the oldest acceptable number.
  EXPECT_EQ(w.check(976), EspDrop::too_old);
  EXPECT_EQ(w.check(977), EspDrop::kNone);
  EXPECT_EQ(w.checkAndAdvance(977), EspDrop::kNone);
  EXPECT_EQ(w.checkAndAdvance(977), EspDrop::replay);
  // Moving the top by one pushes 977 out.
  ASSERT_EQ(w.checkAndAdvance(2001), EspDrop::kNone);
  EXPECT_EQ(w.check(977), EspDrop::too_old);
  EXPECT_EQ(w.check(978), EspDrop::kNone);
}

TEST(ReplayWindow, CheckDoesNotChangeState) {
  ReplayWindow w = make(128);
  ASSERT_EQ(w.checkAndAdvance(10), EspDrop::kNone);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(w.check(500), EspDrop::kNone);
    EXPECT_EQ(w.check(9), EspDrop::kNone);
  }
  EXPECT_EQ(w.top(), 10u);
  EXPECT_EQ(w.checkAndAdvance(9), EspDrop::kNone);
}

TEST(ReplayWindow, JumpClearsReusedRingBlocks) {
  ReplayWindow w = make(1024);
  for (uint64_t s = 1; s <= 2048; ++s) {
    ASSERT_EQ(w.checkAndAdvance(s), EspDrop::kNone);
  }
  // Jump exactly one ring's worth and a bit: every number in the new window is fresh.
  const uint64_t top = 2048 + 32 * 64 + 5;
  ASSERT_EQ(w.checkAndAdvance(top), EspDrop::kNone);
  for (uint64_t s = top - 1023; s < top; ++s) {
    ASSERT_EQ(w.check(s), EspDrop::kNone) << s;
  }
  // A huge jump.
  ASSERT_EQ(w.checkAndAdvance(1'000'000'000), EspDrop::kNone);
  for (uint64_t s = 1'000'000'000 - 1023; s < 1'000'000'000; ++s) {
    ASSERT_EQ(w.check(s), EspDrop::kNone) << s;
  }
}

TEST(ReplayWindow, SizesUpToMaximum) {
  for (uint32_t size : {2u, 32u, 64u, 65u, 1024u, 4096u, ReplayWindow::kMaxWindow}) {
    ReplayWindow w = make(size);
    ASSERT_EQ(w.checkAndAdvance(100000), EspDrop::kNone);
    EXPECT_EQ(w.check(100000 - size + 1), EspDrop::kNone) << size;
    EXPECT_EQ(w.check(100000 - size), EspDrop::too_old) << size;
    EXPECT_EQ(w.checkAndAdvance(100000 - size + 1), EspDrop::kNone) << size;
    EXPECT_EQ(w.checkAndAdvance(100000 - size + 1), EspDrop::replay) << size;
  }
  ReplayWindow w;
  EXPECT_FALSE(w.init(ReplayWindow::kMaxWindow + 1, false));
}

TEST(ReplayWindow, DisabledAcceptsEverythingButZero) {
  ReplayWindow w = make(0);
  EXPECT_EQ(w.checkAndAdvance(5), EspDrop::kNone);
  EXPECT_EQ(w.checkAndAdvance(5), EspDrop::kNone);
  EXPECT_EQ(w.checkAndAdvance(1), EspDrop::kNone);
  EXPECT_EQ(w.checkAndAdvance(0), EspDrop::replay);
  EXPECT_EQ(w.top(), 5u);
}

// Compares the ring against a plain set model for random traffic.
TEST(ReplayWindow, MatchesReferenceModel) {
  for (uint32_t size : {64u, 1000u, 1024u, 4096u}) {
    ReplayWindow w = make(size);
    std::set<uint64_t> seen;
    uint64_t top = 0;
    std::mt19937_64 rng(size);
    uint64_t base = 1;
    for (int i = 0; i < 200000; ++i) {
      base += rng() % 3;
      const uint64_t jitter = rng() % (2 * size + 10);
      const uint64_t seq = base > jitter ? base - jitter + (rng() % 20) : 1 + rng() % 20;
      EspDrop expected;
      if (seq > top) {
        expected = EspDrop::kNone;
      } else if (top - seq >= size) {
        expected = EspDrop::too_old;
      } else {
        expected = seen.count(seq) ? EspDrop::replay : EspDrop::kNone;
      }
      ASSERT_EQ(w.checkAndAdvance(seq), expected) << "size " << size << " seq " << seq;
      if (expected == EspDrop::kNone) {
        seen.insert(seq);
        top = std::max(top, seq);
      }
    }
  }
}

// ---- ESN (RFC 4303 Appendix A2) ----

TEST(ReplayWindowEsn, InferWithoutEsnIsIdentity) {
  ReplayWindow w = make(1024, false);
  ASSERT_EQ(w.checkAndAdvance(0xfffffff0u), EspDrop::kNone);
  EXPECT_EQ(w.inferSeq(5), 5u);
}

TEST(ReplayWindowEsn, CaseAWindowInOneSubspace) {
  ReplayWindow w = make(1024, true);
  ASSERT_EQ(w.checkAndAdvance(0x00000003fffffff0ull), EspDrop::kNone);
  // At or above the window bottom: same subspace; below it: the next one.
  EXPECT_EQ(w.inferSeq(0xfffffff0u), 0x00000003fffffff0ull);
  EXPECT_EQ(w.inferSeq(0xfffffff0u - 1023), 0x00000003fffffff0ull - 1023);
  EXPECT_EQ(w.inferSeq(0xfffffff0u - 1024), 0x00000004fffffff0ull - 1024);
  EXPECT_EQ(w.inferSeq(5), 0x0000000400000005ull);
}

TEST(ReplayWindowEsn, CaseBWindowSpansTwoSubspaces) {
  ReplayWindow w = make(1024, true);
  ASSERT_EQ(w.checkAndAdvance(0x0000000400000005ull), EspDrop::kNone);
  // Tl = 5 < W - 1: numbers at the wrapped left end belong to subspace 3.
  EXPECT_EQ(w.inferSeq(0xfffffff8u), 0x00000003fffffff8ull);
  EXPECT_EQ(w.inferSeq(0xfffffc06u), 0x00000003fffffc06ull);  // Tl - W + 1 mod 2^32
  EXPECT_EQ(w.inferSeq(6), 0x0000000400000006ull);
  EXPECT_EQ(w.inferSeq(0x80000000u), 0x0000000480000000ull);
}

TEST(ReplayWindowEsn, FirstSubspaceHasNoPredecessor) {
  ReplayWindow w = make(1024, true);
  ASSERT_EQ(w.checkAndAdvance(3), EspDrop::kNone);
  EXPECT_EQ(w.inferSeq(0xfffffff0u), 0xfffffff0ull);
}

TEST(ReplayWindowEsn, WrapAcross2To32) {
  ReplayWindow w = make(1024, true);
  const uint64_t start = (uint64_t{1} << 32) - 600;
  ASSERT_EQ(w.checkAndAdvance(start - 1), EspDrop::kNone);
  // In order across the boundary, low halves only, as on the wire.
  for (uint64_t s = start; s < start + 1200; ++s) {
    const uint64_t inferred = w.inferSeq(static_cast<uint32_t>(s));
    ASSERT_EQ(inferred, s);
    ASSERT_EQ(w.checkAndAdvance(inferred), EspDrop::kNone);
  }
  EXPECT_EQ(w.top() >> 32, 1u);
  // Late packets from below the boundary still map to subspace 0 and are recognised.
  const uint64_t late = (uint64_t{1} << 32) - 2;  // already received
  EXPECT_EQ(w.inferSeq(static_cast<uint32_t>(late)), late);
  EXPECT_EQ(w.checkAndAdvance(late), EspDrop::replay);
  // Duplicates just after the boundary are rejected.
  EXPECT_EQ(w.checkAndAdvance(w.inferSeq(3)), EspDrop::replay);
}

TEST(ReplayWindowEsn, ReorderedAcrossBoundary) {
  ReplayWindow w = make(1024, true);
  const uint64_t base = (uint64_t{1} << 32);
  ASSERT_EQ(w.checkAndAdvance(base - 10), EspDrop::kNone);
  ASSERT_EQ(w.checkAndAdvance(w.inferSeq(4)), EspDrop::kNone);  // 2^32 + 4
  EXPECT_EQ(w.top(), base + 4);
  // Numbers just below the boundary arrive late.
  for (uint32_t lo : {0xfffffffeu, 0xfffffff7u, 0xffffffffu}) {
    const uint64_t s = w.inferSeq(lo);
    EXPECT_EQ(s, static_cast<uint64_t>(lo));
    EXPECT_EQ(w.checkAndAdvance(s), EspDrop::kNone);
  }
  EXPECT_EQ(w.checkAndAdvance(w.inferSeq(0xfffffff6u)), EspDrop::replay);
  EXPECT_EQ(w.top(), base + 4);
}

}  // namespace
}  // namespace crossgate::dataplane
