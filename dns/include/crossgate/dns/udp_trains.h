// Groups one batch of UDP answers into trains for segmented sends (UDP_SEGMENT, UDP GSO): one
// send carries several datagrams to one client address and port, all of one size except the
// last, which may be shorter. The kernel then walks its output path once per train, not once per
// answer. Answers larger than the segment limit, or with segmentation off, travel alone.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace crossgate::dns {

template <size_t kMax>
struct UdpTrains {
  size_t count = 0;
  std::array<uint8_t, kMax> order{};   // answer indices, train after train
  std::array<uint8_t, kMax> length{};  // answers in each train
  std::array<uint8_t, kMax> lead{};    // each train's first answer (its size is the segment size)
};

// sizes: the answers' lengths (at most kMax). same_client(a, b): answers a and b go to the same
// address and port. Each answer joins the first train that can still take it, so the order of
// answers to one client is kept.
template <size_t kMax, typename SameClient>
void planUdpTrains(std::span<const size_t> sizes, size_t max_segment, bool segment,
                   SameClient&& same_client, UdpTrains<kMax>* out) noexcept {
  std::array<uint8_t, kMax> train_of{};
  std::array<bool, kMax> closed{};
  size_t n = 0;
  for (size_t r = 0; r < sizes.size() && r < kMax; ++r) {
    size_t t = n;
    if (segment && sizes[r] <= max_segment) {
      for (t = 0; t < n; ++t) {
        const size_t lead_size = sizes[out->lead[t]];
        if (!closed[t] && sizes[r] <= lead_size && lead_size <= max_segment &&
            same_client(out->lead[t], r)) {
          break;
        }
      }
    }
    if (t == n) {
      out->lead[n] = static_cast<uint8_t>(r);
      out->length[n] = 0;
      closed[n] = false;
      ++n;
    }
    train_of[r] = static_cast<uint8_t>(t);
    ++out->length[t];
    closed[t] = sizes[r] < sizes[out->lead[t]];  // a shorter answer ends its train
  }
  out->count = n;
  std::array<uint8_t, kMax> next{};
  size_t pos = 0;
  for (size_t t = 0; t < n; ++t) {
    next[t] = static_cast<uint8_t>(pos);
    pos += out->length[t];
  }
  for (size_t r = 0; r < sizes.size() && r < kMax; ++r) {
    out->order[next[train_of[r]]++] = static_cast<uint8_t>(r);
  }
}

}  // namespace crossgate::dns
