#include "crossgate/mgmt/prober.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>

#include "crossgate/common/log.h"
#include "crossgate/common/unique_fd.h"

namespace crossgate::routing {
namespace {

uint16_t checksum(const uint8_t* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(data[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

std::optional<uint16_t> parseEchoReply(const uint8_t* data, size_t size, bool with_ip_header,
                                       uint16_t id) {
  size_t off = 0;
  if (with_ip_header) {
    if (size < 20) return std::nullopt;
    if ((data[0] >> 4) != 4) return std::nullopt;
    size_t ihl = static_cast<size_t>(data[0] & 0x0f) * 4;
    if (ihl < 20 || ihl > size) return std::nullopt;
    if (data[9] != IPPROTO_ICMP) return std::nullopt;
    off = ihl;
  }
  if (size - off < 8) return std::nullopt;
  const uint8_t* icmp = data + off;
  if (icmp[0] != ICMP_ECHOREPLY || icmp[1] != 0) return std::nullopt;
  uint16_t reply_id = static_cast<uint16_t>(icmp[4] << 8 | icmp[5]);
  if (with_ip_header && reply_id != id) return std::nullopt;
  return static_cast<uint16_t>(icmp[6] << 8 | icmp[7]);
}

struct IcmpProber::Impl {
  struct Path {
    ProbeTarget target;
    std::unique_ptr<boost::asio::posix::stream_descriptor> socket;
    bool raw = false;
    uint16_t id = 0;
    uint16_t seq = 0;
    bool outstanding = false;
    std::chrono::steady_clock::time_point sent_at;
    std::array<uint8_t, 1500> rx{};
  };

  boost::asio::io_context& io;
  ProbeOptions options;
  ProbeCallback callback;
  std::vector<std::unique_ptr<Path>> paths;
  boost::asio::steady_timer timer;
  bool running = false;

  Impl(boost::asio::io_context& io_ctx, std::vector<ProbeTarget> targets, ProbeOptions opts,
       ProbeCallback cb)
      : io(io_ctx), options(opts), callback(std::move(cb)), timer(io_ctx) {
    uint16_t id = static_cast<uint16_t>(getpid() * 31);
    for (auto& t : targets) {
      auto p = std::make_unique<Path>();
      p->target = std::move(t);
      p->id = id++;
      paths.push_back(std::move(p));
    }
  }

  Result<UniqueFd> openSocket(Path& p) {
    UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP));
    p.raw = false;
    if (!fd) {
      fd.reset(socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP));
      p.raw = true;
    }
    if (!fd) {
      return makeError(Errc::kPermissionDenied,
                       "probe " + p.target.tunnel + ": ICMP socket: " + std::strerror(errno));
    }
    const auto& dev = p.target.interface;
    if (setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(),
                   static_cast<socklen_t>(dev.size())) < 0) {
      return makeError(Errc::kIo, "probe " + p.target.tunnel + ": bind to device " + dev + ": " +
                                      std::strerror(errno));
    }
    return fd;
  }

  void send(Path& p) {
    if (p.outstanding) {
      p.outstanding = false;
      callback(p.target.tunnel, false, std::chrono::microseconds(0));
    }
    uint8_t pkt[16] = {};
    pkt[0] = ICMP_ECHO;
    ++p.seq;
    pkt[4] = static_cast<uint8_t>(p.id >> 8);
    pkt[5] = static_cast<uint8_t>(p.id);
    pkt[6] = static_cast<uint8_t>(p.seq >> 8);
    pkt[7] = static_cast<uint8_t>(p.seq);
    std::memcpy(pkt + 8, "crossgat", 8);
    uint16_t sum = checksum(pkt, sizeof(pkt));
    pkt[2] = static_cast<uint8_t>(sum >> 8);
    pkt[3] = static_cast<uint8_t>(sum);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_addr.s_addr = htonl(p.target.destination.v4HostOrder());
    p.sent_at = std::chrono::steady_clock::now();
    p.outstanding = true;
    if (sendto(p.socket->native_handle(), pkt, sizeof(pkt), 0, reinterpret_cast<sockaddr*>(&dst),
               sizeof(dst)) < 0) {
      log::get("mgmt")->debug("[tunnel={}] probe send: {}", p.target.tunnel, std::strerror(errno));
    }
  }

  void receive(Path& p) {
    p.socket->async_wait(
        boost::asio::posix::stream_descriptor::wait_read,
        [this, &p](const boost::system::error_code& ec) {
          if (ec || !running) return;
          for (;;) {
            ssize_t n = recv(p.socket->native_handle(), p.rx.data(), p.rx.size(), 0);
            if (n < 0) break;
            auto seq = parseEchoReply(p.rx.data(), static_cast<size_t>(n), p.raw, p.id);
            if (seq && *seq == p.seq && p.outstanding) {
              p.outstanding = false;
              auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - p.sent_at);
              callback(p.target.tunnel, true, rtt);
            }
          }
          receive(p);
        });
  }

  void schedule() {
    timer.expires_after(options.interval);
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || !running) return;
      for (auto& p : paths) send(*p);
      schedule();
    });
  }
};

IcmpProber::IcmpProber(boost::asio::io_context& io, std::vector<ProbeTarget> targets,
                       ProbeOptions options, ProbeCallback callback)
    : impl_(std::make_unique<Impl>(io, std::move(targets), options, std::move(callback))) {}

IcmpProber::~IcmpProber() { stop(); }

Status IcmpProber::start() {
  for (auto& p : impl_->paths) {
    if (!p->target.destination.isV4()) {
      return makeError(Errc::kInvalidArgument, "probe " + p->target.tunnel + ": IPv4 only");
    }
    auto fd = impl_->openSocket(*p);
    if (!fd) return std::move(fd).error();
    p->socket = std::make_unique<boost::asio::posix::stream_descriptor>(impl_->io, fd->release());
  }
  impl_->running = true;
  for (auto& p : impl_->paths) {
    impl_->receive(*p);
    impl_->send(*p);
  }
  impl_->schedule();
  return okStatus();
}

void IcmpProber::stop() {
  if (!impl_ || !impl_->running) return;
  impl_->running = false;
  impl_->timer.cancel();
  for (auto& p : impl_->paths) {
    if (p->socket) p->socket->cancel();
  }
}

}  // namespace crossgate::routing
