// Counters of the daemon's I/O stages (UDP, TUN, offloads): one X-macro list generates the
// enum and the names; one IoCounters per worker (single writer, relaxed atomics).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

// _(identifier, is_drop, "help text")
#define CG_FOREACH_IO_COUNTER(_)                                                              \
  _(udp_rx_datagrams, false, "UDP datagrams received on port 4500 (after GRO splitting)")     \
  _(udp_rx_gro_trains, false, "recvmmsg entries that carried more than one datagram (GRO)")   \
  _(udp_tx_datagrams, false, "ESP datagrams handed to sendmmsg")                             \
  _(udp_tx_gso_trains, false, "sendmmsg entries sent as one GSO train")                      \
  _(ike_rx, false, "IKE datagrams relayed to the plugin")                                    \
  _(keepalive_rx, false, "NAT-T keepalives (1 byte 0xFF) received and discarded")            \
  _(tun_rx_frames, false, "frames read from TUN devices")                                    \
  _(tun_rx_tso_frames, false, "TUN frames that were TSO super-packets")                      \
  _(tun_tx_frames, false, "frames written to TUN devices")                                   \
  _(tun_tx_gro_merged, false, "decrypted TCP segments merged into a previous one (GRO)")     \
  _(fragmented, false, "oversized IPv4 packets without DF fragmented before encryption")     \
  _(tso_resegmented, false, "TSO super-packets cut into smaller segments to fit the outer MTU") \
  _(mapping_events, false, "inbound ESP from a new address:port reported (MAPPING)")         \
  _(udp_runt, true, "UDP datagram on port 4500 too short to be IKE or ESP")                  \
  _(udp_send_error, true, "ESP datagrams the kernel refused to send")                        \
  _(no_socket, true, "no UDP socket for the SA's local address")                             \
  _(tun_malformed, true, "TUN frame with an unusable virtio header or IP packet")            \
  _(too_big_df, true, "packet above the tunnel MTU with DF set (ICMP sent back)")           \
  _(too_big, true, "packet above the tunnel MTU that could not be fragmented")               \
  _(tun_write_error, true, "decrypted packets the TUN device refused")                       \
  _(no_tun, true, "decrypted packet for an if_id without a TUN device")                      \
  _(ike_queue_full, true, "IKE datagrams dropped because the plugin is not reading")

namespace crossgate::dataplane {

enum class IoCounter : uint8_t {
#define CG_IO_COUNTER_ENUM(name, drop, help) name,
  CG_FOREACH_IO_COUNTER(CG_IO_COUNTER_ENUM)
#undef CG_IO_COUNTER_ENUM
      kCount,
};
inline constexpr size_t kIoCounterCount = static_cast<size_t>(IoCounter::kCount);

std::string_view ioCounterName(IoCounter c) noexcept;
bool ioCounterIsDrop(IoCounter c) noexcept;

class IoCounters {
 public:
  void add(IoCounter c, uint64_t n = 1) noexcept {
    auto& v = values_[static_cast<size_t>(c)];
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get(IoCounter c) const noexcept {
    return values_[static_cast<size_t>(c)].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, kIoCounterCount> values_{};
};

}  // namespace crossgate::dataplane
