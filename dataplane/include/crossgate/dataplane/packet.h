// PacketBuf: a view of one packet inside a caller-owned buffer, with headroom in front (so ESP
// and then the outer IP/UDP headers are prepended without copying) and tailroom behind (ESP
// padding, trailer and ICV). The ESP stages never allocate: they move the view's start and end
// inside the buffer the caller provides.
#pragma once

#include <cstddef>
#include <cstdint>

namespace crossgate::dataplane {

// Bytes ESP prepends in front of the inner packet: SPI + sequence (8) + IV (8 GCM, 16 CBC).
inline constexpr uint32_t kEspMaxHeader = 8 + 16;
// Bytes ESP appends: padding (<= 15, CBC block alignment) + pad length + next header + ICV
// (<= 32, HMAC-SHA2-512-256).
inline constexpr uint32_t kEspMaxTrailer = 15 + 2 + 32;
// Outer headers the caller prepends after encryption: IPv6 (40) + UDP (8) + room for a
// virtio-net header (12). Rounded up.
inline constexpr uint32_t kOuterMaxHeader = 64;
// Headroom to reserve in front of every inner packet handed to espEncrypt.
inline constexpr uint32_t kPacketHeadroom = kOuterMaxHeader + kEspMaxHeader + 8;  // 96
// Tailroom to reserve behind it.
inline constexpr uint32_t kPacketTailroom = 64;
// Largest ESP packet (SPI..ICV) the stages accept or produce.
inline constexpr uint32_t kEspMaxPacket = 65535;

struct PacketBuf {
  uint8_t* base = nullptr;  // start of the caller's buffer
  uint32_t capacity = 0;    // bytes at base
  uint32_t offset = 0;      // where the packet starts (= headroom)
  uint32_t length = 0;      // packet bytes

  PacketBuf() = default;
  PacketBuf(uint8_t* buffer, uint32_t buffer_capacity, uint32_t start, uint32_t len) noexcept
      : base(buffer), capacity(buffer_capacity), offset(start), length(len) {}

  uint8_t* data() noexcept { return base + offset; }
  const uint8_t* data() const noexcept { return base + offset; }
  uint8_t* end() noexcept { return base + offset + length; }
  uint32_t headroom() const noexcept { return offset; }
  uint32_t tailroom() const noexcept { return capacity - offset - length; }

  // Grows the packet at the front by n bytes; returns the new start (n <= headroom()).
  uint8_t* push(uint32_t n) noexcept {
    offset -= n;
    length += n;
    return data();
  }
  // Removes n bytes from the front (n <= length).
  void pull(uint32_t n) noexcept {
    offset += n;
    length -= n;
  }
  // Grows the packet at the end by n bytes; returns where they start (n <= tailroom()).
  uint8_t* put(uint32_t n) noexcept {
    uint8_t* at = end();
    length += n;
    return at;
  }
  // Shortens the packet to len bytes (len <= length).
  void trim(uint32_t len) noexcept { length = len; }
};

}  // namespace crossgate::dataplane
