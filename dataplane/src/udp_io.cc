#include "udp_io.h"

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crossgate/common/log.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace crossgate::dataplane {

UdpKind classifyUdp(uint16_t port, std::span<const uint8_t> payload) noexcept {
  if (port == 500) {
    return payload.empty() ? UdpKind::kRunt : UdpKind::kIke;
  }
  if (payload.size() == 1 && payload[0] == 0xff) {
    return UdpKind::kKeepalive;
  }
  if (payload.size() < 4) {
    return UdpKind::kRunt;
  }
  if (payload[0] == 0 && payload[1] == 0 && payload[2] == 0 && payload[3] == 0) {
    return UdpKind::kIke;
  }
  return payload.size() < 8 ? UdpKind::kRunt : UdpKind::kEsp;
}

cg_dp_addr toDpAddr(const sockaddr_storage& sa) noexcept {
  cg_dp_addr a{};
  if (sa.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(sa);
    a.family = 4;
    a.port = ntohs(in.sin_port);
    std::memcpy(a.addr, &in.sin_addr, 4);
  } else if (sa.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(sa);
    a.family = 6;
    a.port = ntohs(in6.sin6_port);
    std::memcpy(a.addr, &in6.sin6_addr, 16);
  }
  return a;
}

socklen_t fromDpAddr(const cg_dp_addr& addr, sockaddr_storage* out) noexcept {
  std::memset(out, 0, sizeof(*out));
  if (addr.family == 4) {
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(addr.port);
    std::memcpy(&in->sin_addr, addr.addr, 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(addr.port);
  std::memcpy(&in6->sin6_addr, addr.addr, 16);
  return sizeof(sockaddr_in6);
}

cg_dp_addr dpAddrOf(const IpAddress& ip, uint16_t port) noexcept {
  cg_dp_addr a{};
  a.family = ip.isV4() ? 4 : 6;
  a.port = port;
  std::memcpy(a.addr, ip.bytes().data(), ip.isV4() ? 4 : 16);
  return a;
}

bool sameAddr(const cg_dp_addr& a, const cg_dp_addr& b) noexcept {
  return a.family == b.family && std::memcmp(a.addr, b.addr, a.family == 4 ? 4 : 16) == 0;
}

bool sameAddrPort(const cg_dp_addr& a, const cg_dp_addr& b) noexcept {
  return a.port == b.port && sameAddr(a, b);
}

Result<std::unique_ptr<UdpSocket>> UdpSocket::open(const IpAddress& ip, uint16_t port,
                                                   const UdpOptions& options) {
  std::unique_ptr<UdpSocket> s(new UdpSocket());
  s->v6_ = !ip.isV4();
  s->port_ = port;
  s->local_ = dpAddrOf(ip, port);
  s->wildcard_ = ip == (s->v6_ ? IpAddress::v6({}) : IpAddress::v4(0));
  const int family = s->v6_ ? AF_INET6 : AF_INET;
  s->fd_.reset(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  const std::string where = fmt::format("{}:{}", ip.toString(), port);
  if (!s->fd_) {
    return makeError(Errc::kIo, fmt::format("socket for {}: {}", where, std::strerror(errno)));
  }
  const int fd = s->fd_.get();
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (options.reuse_port) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  }
  // ESP datagrams larger than the path MTU are fragmented by the kernel rather than refused.
  const int pmtu = IP_PMTUDISC_DONT;
  ::setsockopt(fd, s->v6_ ? IPPROTO_IPV6 : IPPROTO_IP, s->v6_ ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER,
               &pmtu, sizeof(pmtu));
  if (s->v6_) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
  } else {
    ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
  }
  for (int opt : {SO_RCVBUFFORCE, SO_SNDBUFFORCE}) {
    if (::setsockopt(fd, SOL_SOCKET, opt, &options.buffer_bytes, sizeof(int)) != 0) {
      ::setsockopt(fd, SOL_SOCKET, opt == SO_RCVBUFFORCE ? SO_RCVBUF : SO_SNDBUF,
                   &options.buffer_bytes, sizeof(int));
    }
  }
  sockaddr_storage sa{};
  socklen_t len = fromDpAddr(s->local_, &sa);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    return makeError(Errc::kIo, fmt::format("bind {}: {}", where, std::strerror(errno)));
  }
  if (port == 0) {  // tests: an ephemeral port
    sockaddr_storage bound{};
    socklen_t blen = sizeof(bound);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
    s->port_ = toDpAddr(bound).port;
    s->local_.port = s->port_;
  }
  if (options.gro && port != 500) {
    s->gro_ = ::setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
    if (!s->gro_) {
      log::get("dp")->warn("[udp={}] UDP_GRO refused ({}): receiving without it", where,
                           std::strerror(errno));
    }
  }
  s->gso_.store(options.gso && port != 500);
  return s;
}

void UdpSocket::disableGso() noexcept {
  if (gso_.exchange(false)) {
    log::get("dp")->warn("[udp port={}] UDP GSO send failed with EIO: GSO turned off", port_);
  }
}

namespace {

// Writes a source-address cmsg (and optionally a GSO segment size and a TOS) into ctrl.
size_t buildCmsg(uint8_t* ctrl, size_t cap, const cg_dp_addr& local, bool set_src,
                 uint16_t segment, int tos) noexcept {
  msghdr m{};
  m.msg_control = ctrl;
  m.msg_controllen = cap;
  std::memset(ctrl, 0, cap);
  size_t used = 0;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  if (set_src && local.family == 4) {
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    std::memcpy(&pi.ipi_spec_dst, local.addr, 4);
    std::memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    used += CMSG_SPACE(sizeof(in_pktinfo));
    c = reinterpret_cast<cmsghdr*>(ctrl + used);
  } else if (set_src && local.family == 6) {
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo pi{};
    std::memcpy(&pi.ipi6_addr, local.addr, 16);
    std::memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    used += CMSG_SPACE(sizeof(in6_pktinfo));
    c = reinterpret_cast<cmsghdr*>(ctrl + used);
  }
  if (segment != 0) {
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    std::memcpy(CMSG_DATA(c), &segment, sizeof(segment));
    used += CMSG_SPACE(sizeof(uint16_t));
    c = reinterpret_cast<cmsghdr*>(ctrl + used);
  }
  if (tos >= 0) {
    c->cmsg_level = local.family == 6 ? IPPROTO_IPV6 : IPPROTO_IP;
    c->cmsg_type = local.family == 6 ? IPV6_TCLASS : IP_TOS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &tos, sizeof(int));
    used += CMSG_SPACE(sizeof(int));
  }
  return used;
}

}  // namespace

bool UdpSocket::sendOne(const cg_dp_addr& local, const cg_dp_addr& remote, uint8_t dscp,
                        std::span<const uint8_t> payload) noexcept {
  sockaddr_storage to{};
  msghdr m{};
  m.msg_namelen = fromDpAddr(remote, &to);
  m.msg_name = &to;
  iovec iov{const_cast<uint8_t*>(payload.data()), payload.size()};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(cmsghdr) uint8_t ctrl[128];
  const bool set_src = wildcard_ && local.family != 0;
  m.msg_controllen = buildCmsg(ctrl, sizeof(ctrl), local, set_src, 0, dscp << 2);
  m.msg_control = m.msg_controllen ? ctrl : nullptr;
  return ::sendmsg(fd_.get(), &m, MSG_DONTWAIT) == static_cast<ssize_t>(payload.size());
}

UdpRxBatch::UdpRxBatch(size_t slots)
    : storage_(slots * (kBufBytes + kHeadroom)),
      hdrs_(slots),
      iov_(slots),
      names_(slots),
      ctrl_(slots),
      msgs_(slots) {}

int UdpRxBatch::receive(UdpSocket& sock) noexcept {
  const size_t n = hdrs_.size();
  for (size_t i = 0; i < n; ++i) {
    iov_[i].iov_base = storage_.data() + i * (kBufBytes + kHeadroom) + kHeadroom;
    iov_[i].iov_len = kBufBytes;
    msghdr& m = hdrs_[i].msg_hdr;
    m.msg_name = &names_[i];
    m.msg_namelen = sizeof(sockaddr_storage);
    m.msg_iov = &iov_[i];
    m.msg_iovlen = 1;
    m.msg_control = ctrl_[i].data();
    m.msg_controllen = ctrl_[i].size();
    m.msg_flags = 0;
  }
  const int got = ::recvmmsg(sock.fd(), hdrs_.data(), static_cast<unsigned>(n), MSG_DONTWAIT,
                             nullptr);
  if (got <= 0) {
    return 0;
  }
  for (int i = 0; i < got; ++i) {
    const msghdr& m = hdrs_[i].msg_hdr;
    Msg& out = msgs_[i];
    out.data = static_cast<uint8_t*>(iov_[i].iov_base);
    out.len = hdrs_[i].msg_len;
    out.segment = out.len;
    out.remote = toDpAddr(names_[i]);
    out.local = sock.local();
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&m), c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int seg = 0;
        std::memcpy(&seg, CMSG_DATA(c), sizeof(int));
        if (seg > 0) {
          out.segment = static_cast<uint32_t>(seg);
        }
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        std::memcpy(out.local.addr, &pi.ipi_addr, 4);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        std::memcpy(out.local.addr, &pi.ipi6_addr, 16);
      }
    }
  }
  return got;
}

UdpTxBatch::UdpTxBatch(size_t slots)
    : hdrs_(slots), iov_(slots), names_(slots), ctrl_(slots), segments_(slots) {}

bool UdpTxBatch::add(const cg_dp_addr& local, const cg_dp_addr& remote, const uint8_t* data,
                     uint32_t len, uint16_t segment) noexcept {
  if (full()) {
    return false;
  }
  const size_t i = count_++;
  iov_[i] = iovec{const_cast<uint8_t*>(data), len};
  msghdr& m = hdrs_[i].msg_hdr;
  m = msghdr{};
  m.msg_namelen = fromDpAddr(remote, &names_[i]);
  m.msg_name = &names_[i];
  m.msg_iov = &iov_[i];
  m.msg_iovlen = 1;
  segments_[i] = segment != 0 && segment < len ? segment : 0;
  m.msg_controllen = buildCmsg(ctrl_[i].data(), ctrl_[i].size(), local, local.family != 0,
                               segments_[i], -1);
  m.msg_control = m.msg_controllen ? ctrl_[i].data() : nullptr;
  return true;
}

uint64_t UdpTxBatch::sendSplit(UdpSocket& sock, size_t index) noexcept {
  // Sends message `index` as separate datagrams (GSO unavailable).
  const uint16_t seg = segments_[index];
  const auto* base = static_cast<const uint8_t*>(iov_[index].iov_base);
  const size_t len = iov_[index].iov_len;
  uint64_t failed = 0;
  msghdr m = hdrs_[index].msg_hdr;
  alignas(cmsghdr) uint8_t ctrl[64];
  cg_dp_addr local{};
  // Rebuild the control data without the segment size (the source address is kept).
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      local.family = 4;
      std::memcpy(local.addr, &pi.ipi_spec_dst, 4);
    }
  }
  m.msg_controllen = buildCmsg(ctrl, sizeof(ctrl), local, local.family != 0, 0, -1);
  m.msg_control = m.msg_controllen ? ctrl : nullptr;
  for (size_t off = 0; off < len; off += seg) {
    iovec iov{const_cast<uint8_t*>(base + off), std::min<size_t>(seg, len - off)};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (::sendmsg(sock.fd(), &m, 0) < 0) {
      ++failed;
    }
  }
  return failed;
}

uint64_t UdpTxBatch::flush(UdpSocket& sock) noexcept {
  uint64_t failed = 0;
  size_t done = 0;
  if (!sock.gsoEnabled()) {
    for (size_t i = 0; i < count_; ++i) {
      if (segments_[i] != 0) {
        failed += sendSplit(sock, i);
      } else if (::sendmsg(sock.fd(), &hdrs_[i].msg_hdr, 0) < 0) {
        ++failed;
      }
    }
    count_ = 0;
    return failed;
  }
  while (done < count_) {
    int n = ::sendmmsg(sock.fd(), hdrs_.data() + done, static_cast<unsigned>(count_ - done), 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && segments_[done] != 0 && (errno == EIO || errno == EINVAL || errno == EMSGSIZE)) {
      if (errno == EIO) {
        sock.disableGso();  // the egress device cannot segment: stop asking
      }
      failed += sendSplit(sock, done);
      ++done;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
      // Socket buffer full: skip this message (the inner TCP recovers) rather than spin.
    }
    const uint16_t seg = segments_[done];
    failed += seg ? (iov_[done].iov_len + seg - 1) / seg : 1;
    ++done;
  }
  count_ = 0;
  return failed;
}

}  // namespace crossgate::dataplane
