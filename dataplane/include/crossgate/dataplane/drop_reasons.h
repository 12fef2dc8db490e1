// Why the ESP stages drop a packet: one X-macro list generates the enum, the names and the help
// texts (exported by mgmt as counters). Counters are per worker (single writer, no contention).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

// _(identifier, "help text")
#define CG_FOREACH_ESP_DROP(_)                                                            \
  _(unknown_spi, "inbound ESP packet for an SPI that has no installed SA")                \
  _(no_sa, "outbound packet for an if_id that has no installed outbound SA")              \
  _(replay, "sequence number already received (duplicate or replayed packet)")            \
  _(too_old, "sequence number left of the anti-replay window")                            \
  _(bad_icv, "integrity check value did not verify")                                      \
  _(bad_padding, "ESP padding bytes or pad length invalid after decryption")              \
  _(bad_next_header, "ESP next header is neither IPv4 (4) nor IPv6 (41)")                 \
  _(dummy_packet, "ESP next header 59: TFC dummy packet, discarded as RFC 4303 requires") \
  _(ts_mismatch, "inner packet outside the SA's traffic selectors")                       \
  _(malformed, "ESP or inner IP packet truncated or inconsistent")                        \
  _(seq_overflow, "outbound sequence number space exhausted; the SA needs rekeying")      \
  _(sa_expired, "SA reached its hard lifetime (time, bytes or packets)")                  \
  _(no_room, "packet buffer lacks the headroom or tailroom ESP needs")                    \
  _(too_big, "packet larger than the ESP encoding supports")                              \
  _(crypto_error, "the cipher library reported an error")                                 \
  _(bad_worker, "worker index outside the range the SA table was built for")

namespace crossgate::dataplane {

// kNone = not dropped. The drop reasons follow, in list order.
enum class EspDrop : uint8_t {
  kNone = 0,
#define CG_ESP_DROP_ENUM(name, help) name,
  CG_FOREACH_ESP_DROP(CG_ESP_DROP_ENUM)
#undef CG_ESP_DROP_ENUM
      kCount,
};

inline constexpr size_t kEspDropCount = static_cast<size_t>(EspDrop::kCount);

// "unknown_spi", ...; "none" for kNone, "invalid" out of range.
std::string_view espDropName(EspDrop reason) noexcept;
// One sentence for metrics HELP lines.
std::string_view espDropHelp(EspDrop reason) noexcept;

// Per-worker packet counters. Each worker owns one; only that worker writes (relaxed store of
// load+1, no read-modify-write contention); any thread may read with load().
class EspCounters {
 public:
  void drop(EspDrop reason) noexcept { bump(drops_[static_cast<size_t>(reason)]); }
  void encrypted() noexcept { bump(encrypted_); }
  void decrypted() noexcept { bump(decrypted_); }

  uint64_t drops(EspDrop reason) const noexcept {
    return drops_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
  }
  uint64_t encryptedPackets() const noexcept { return encrypted_.load(std::memory_order_relaxed); }
  uint64_t decryptedPackets() const noexcept { return decrypted_.load(std::memory_order_relaxed); }

 private:
  static void bump(std::atomic<uint64_t>& c) noexcept {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::array<std::atomic<uint64_t>, kEspDropCount> drops_{};
  std::atomic<uint64_t> encrypted_{0};
  std::atomic<uint64_t> decrypted_{0};
};

}  // namespace crossgate::dataplane
