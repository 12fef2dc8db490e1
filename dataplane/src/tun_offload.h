// TUN virtio-net header offloads done in userspace (the techniques of wireguard-go's
// tun/tcp_offload_linux.go, written anew):
//  - segmentation: a frame read from the TUN may be a 64 KiB TCP super-packet (TSO) or carry a
//    partial checksum; tsoSplit() turns it into wire-ready IP packets (headers and checksums
//    fixed) before encryption;
//  - coalescing: decrypted TCP segments of one flow are merged into one super-packet with a
//    virtio header (userspace GRO) so the kernel takes them in one write;
//  - ICMP "fragmentation needed" for oversized DF packets.
// Pure functions over caller buffers: no allocation, no system calls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace crossgate::dataplane {

// struct virtio_net_hdr (legacy, native endian as the TUN uses it without TUNSETVNETLE).
struct VnetHdr {
  uint8_t flags = 0;
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};
static_assert(sizeof(VnetHdr) == 10);
inline constexpr uint8_t kVnetNeedsCsum = 1;
inline constexpr uint8_t kVnetGsoNone = 0;
inline constexpr uint8_t kVnetGsoTcpV4 = 1;
inline constexpr uint8_t kVnetGsoUdp = 3;
inline constexpr uint8_t kVnetGsoTcpV6 = 4;
inline constexpr uint8_t kVnetGsoUdpL4 = 5;
inline constexpr uint8_t kVnetGsoEcn = 0x80;

// Internet checksum helpers.
uint32_t csumPartial(const uint8_t* data, size_t len, uint32_t sum) noexcept;
uint16_t csumFold(uint32_t sum) noexcept;
// Non-complemented sum of the pseudo header (v4: 4-byte addresses, v6: 16).
uint32_t pseudoHeaderSum(const uint8_t* src, const uint8_t* dst, size_t addr_len, uint8_t proto,
                         uint32_t l4_len) noexcept;

// Output of tsoSplit: packet i is written at base + i * stride + offset, its length in lens[i].
struct SplitOut {
  uint8_t* base = nullptr;
  size_t stride = 0;
  size_t offset = 0;
  size_t max_packets = 0;
  uint32_t* lens = nullptr;
};

// Turns one TUN frame (virtio header + IP packet) into IP packets with complete checksums.
// Returns the number of packets written, or -1 if the frame is malformed or does not fit.
int tsoSplit(const VnetHdr& hdr, std::span<const uint8_t> frame, const SplitOut& out) noexcept;

// Userspace GRO for decrypted packets going into one TUN. add() takes a complete IP packet;
// packets that cannot be merged are emitted as they are. Emitted frames (virtio header + packet)
// go to the sink. flush() emits everything still held (call at the end of each batch).
class TcpCoalescer {
 public:
  static constexpr size_t kFlows = 8;
  static constexpr size_t kMaxFrame = 65535;
  using Sink = void (*)(void* ctx, const uint8_t* frame, size_t len);

  TcpCoalescer(Sink sink, void* ctx) noexcept : sink_(sink), ctx_(ctx) {}
  void setEnabled(bool on) noexcept { enabled_ = on; }
  void add(const uint8_t* pkt, size_t len) noexcept;
  void flush() noexcept;
  uint64_t merged() const noexcept { return merged_; }

 private:
  struct Flow {
    bool open = false;
    bool closed = false;  // a short or PSH segment ended it
    bool v6 = false;
    uint32_t ip_len = 0;
    uint32_t tcp_len = 0;
    uint32_t gso_size = 0;
    uint32_t segments = 0;
    uint32_t next_seq = 0;
    uint16_t next_id = 0;
    size_t len = 0;  // bytes in buf after the virtio header
    alignas(16) std::array<uint8_t, sizeof(VnetHdr) + kMaxFrame> buf;
  };
  bool tryAppend(Flow& f, const uint8_t* pkt, size_t len, uint32_t ip_len, uint32_t tcp_len,
                 bool v6) noexcept;
  void start(Flow& f, const uint8_t* pkt, size_t len, uint32_t ip_len, uint32_t tcp_len,
             bool v6) noexcept;
  void emit(Flow& f) noexcept;
  void emitRaw(const uint8_t* pkt, size_t len) noexcept;

  Sink sink_;
  void* ctx_;
  bool enabled_ = true;
  size_t next_victim_ = 0;
  uint64_t merged_ = 0;
  std::array<Flow, kFlows> flows_;
  alignas(16) std::array<uint8_t, sizeof(VnetHdr) + kMaxFrame> raw_;
};

// Builds an ICMPv4 "fragmentation needed" (type 3 code 4, RFC 1191) or ICMPv6 "packet too big"
// answer to `pkt` with next-hop MTU `mtu`, from `src` (4 or 16 bytes), into out (>= 1280 bytes).
// Returns its length, or 0 if `pkt` is not an IP packet that may get one.
size_t buildPacketTooBig(std::span<const uint8_t> pkt, uint32_t mtu, const uint8_t* src,
                         std::span<uint8_t> out) noexcept;

// IPv4 with DF set (IPv6 never fragments on the way): an oversized packet gets an ICMP answer.
bool ipDontFragment(std::span<const uint8_t> pkt) noexcept;

// Splits an IPv4 packet without DF into fragments of at most `mtu` bytes (RFC 791), written
// like tsoSplit's output. Returns the count, or -1.
int ipv4Fragment(std::span<const uint8_t> pkt, uint32_t mtu, const SplitOut& out) noexcept;

}  // namespace crossgate::dataplane
