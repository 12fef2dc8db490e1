// The outer UDP sockets: UDP 500 (IKE) and 4500 (IKE with the non-ESP marker, NAT keepalives,
// ESP in UDP, RFC 3948) on each WAN address. Batched receive (recvmmsg, UDP_GRO) and send
// (sendmmsg, UDP_SEGMENT), 7 MiB buffers, IP_PKTINFO for the local address. Each offload can be
// turned off at start and is turned off at run time if the kernel refuses it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "crossgate/common/net.h"
#include "crossgate/common/result.h"
#include "crossgate/common/unique_fd.h"
#include "crossgate/dataplane/dp_proto.h"

namespace crossgate::dataplane {

// What one datagram on port 4500 is (RFC 3948 §2.2, strongSwan's receiver rule).
enum class UdpKind : uint8_t { kIke, kKeepalive, kEsp, kRunt };
// port: the local port the datagram arrived on.
UdpKind classifyUdp(uint16_t port, std::span<const uint8_t> payload) noexcept;

struct UdpOptions {
  bool gro = true;
  bool gso = true;
  int buffer_bytes = 7 * 1024 * 1024;
  bool reuse_port = false;  // several sockets on one address:port (one per receiving worker)
};

// Conversions between sockaddr and the protocol's address form.
cg_dp_addr toDpAddr(const sockaddr_storage& sa) noexcept;
socklen_t fromDpAddr(const cg_dp_addr& addr, sockaddr_storage* out) noexcept;
cg_dp_addr dpAddrOf(const IpAddress& ip, uint16_t port) noexcept;
bool sameAddrPort(const cg_dp_addr& a, const cg_dp_addr& b) noexcept;
bool sameAddr(const cg_dp_addr& a, const cg_dp_addr& b) noexcept;

class UdpSocket {
 public:
  static Result<std::unique_ptr<UdpSocket>> open(const IpAddress& ip, uint16_t port,
                                                 const UdpOptions& options);
  int fd() const noexcept { return fd_.get(); }
  uint16_t port() const noexcept { return port_; }
  const cg_dp_addr& local() const noexcept { return local_; }
  bool isWildcard() const noexcept { return wildcard_; }
  bool groEnabled() const noexcept { return gro_; }
  bool gsoEnabled() const noexcept { return gso_.load(std::memory_order_relaxed); }
  // EIO from a segmented send: the egress device cannot do it. Logged once.
  void disableGso() noexcept;

  // One datagram (IKE_TX): from `local` (address may be unset), with DSCP. False on error.
  bool sendOne(const cg_dp_addr& local, const cg_dp_addr& remote, uint8_t dscp,
               std::span<const uint8_t> payload) noexcept;

 private:
  UdpSocket() = default;
  UniqueFd fd_;
  uint16_t port_ = 0;
  cg_dp_addr local_{};
  bool wildcard_ = false;
  bool v6_ = false;
  bool gro_ = false;
  std::atomic<bool> gso_{false};
  uint8_t last_tos_ = 0;
};

// Receive side: a fixed set of buffers filled by one recvmmsg. With GRO one entry holds several
// datagrams of `segment` bytes each (the last may be shorter).
class UdpRxBatch {
 public:
  static constexpr size_t kBufBytes = 65536;
  explicit UdpRxBatch(size_t slots);

  // Returns the number of messages received (0 on EAGAIN or error).
  int receive(UdpSocket& sock) noexcept;

  struct Msg {
    uint8_t* data;
    uint32_t len;
    uint32_t segment;  // datagram size (== len without GRO)
    cg_dp_addr remote;
    cg_dp_addr local;  // from IP_PKTINFO (port = the socket's)
  };
  const Msg& msg(size_t i) const noexcept { return msgs_[i]; }
  size_t slots() const noexcept { return msgs_.size(); }
  // Leading bytes reserved in front of each buffer (for the TUN's virtio header when a packet is
  // decrypted in place and written as is).
  static constexpr size_t kHeadroom = 64;

 private:
  std::vector<uint8_t> storage_;
  std::vector<mmsghdr> hdrs_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_storage> names_;
  std::vector<std::array<uint8_t, 128>> ctrl_;
  std::vector<Msg> msgs_;
};

// Send side: up to `slots` messages, each one datagram or a GSO train of equal-size datagrams
// (the last may be shorter) to one peer.
class UdpTxBatch {
 public:
  explicit UdpTxBatch(size_t slots);
  // Adds a message whose payload stays owned by the caller until flush(). segment = 0: a single
  // datagram. False if the batch is full.
  bool add(const cg_dp_addr& local, const cg_dp_addr& remote, const uint8_t* data, uint32_t len,
           uint16_t segment) noexcept;
  size_t size() const noexcept { return count_; }
  bool full() const noexcept { return count_ == hdrs_.size(); }
  // Sends everything (sendmmsg); splits GSO trains into single datagrams if GSO gets disabled.
  // Returns datagrams that could not be sent.
  uint64_t flush(UdpSocket& sock) noexcept;

 private:
  uint64_t sendSplit(UdpSocket& sock, size_t index) noexcept;
  std::vector<mmsghdr> hdrs_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_storage> names_;
  std::vector<std::array<uint8_t, 64>> ctrl_;
  std::vector<uint16_t> segments_;
  size_t count_ = 0;
};

}  // namespace crossgate::dataplane
