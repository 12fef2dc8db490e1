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

// Interfaces come and go (crossgate-dataplane creates a tunnel's TUN when its SAs are installed):
// a path whose interface is missing, or whose socket lost its device, counts a miss per interval
// and tries to open its socket again on the next one. Presence changes are logged once each.
struct IcmpProber::Impl : std::enable_shared_from_this<IcmpProber::Impl> {
  struct Path {
    ProbeTarget target;
    std::unique_ptr<boost::asio::posix::stream_descriptor> socket;
    bool raw = false;
    uint16_t id = 0;
    uint16_t seq = 0;
    bool outstanding = false;
    bool absent_logged = false;  // "interface missing" was logged; cleared when it works again
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

  // An ICMP socket: a datagram ("ping") socket when net.ipv4.ping_group_range admits our group,
  // else a raw one (CAP_NET_RAW). Fails with kPermissionDenied when neither is allowed.
  static Result<UniqueFd> openIcmpSocket(bool* raw) {
    UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP));
    *raw = false;
    if (!fd) {
      fd.reset(socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP));
      *raw = true;
    }
    if (!fd) {
      const int err = errno;
      const bool perm = err == EPERM || err == EACCES;
      return makeError(perm ? Errc::kPermissionDenied : Errc::kIo,
                       std::string("ICMP probe socket: ") + std::strerror(err) +
                           (perm ? " (crossgated needs CAP_NET_RAW, i.e. run it as root, or "
                                   "net.ipv4.ping_group_range must include its group)"
                                 : ""));
    }
    return fd;
  }

  // Opens and binds the path's socket; false (and a miss to count) if the interface is absent.
  bool open(Path& p) {
    bool raw = false;
    auto fd = openIcmpSocket(&raw);
    if (!fd) {
      logAbsent(p, fd.error().message);
      return false;
    }
    const auto& dev = p.target.interface;
    if (setsockopt(fd->get(), SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(),
                   static_cast<socklen_t>(dev.size())) < 0) {
      logAbsent(p, std::string("bind to ") + dev + ": " + std::strerror(errno));
      return false;
    }
    p.raw = raw;
    p.socket = std::make_unique<boost::asio::posix::stream_descriptor>(io, fd->release());
    p.outstanding = false;
    receive(p);
    return true;
  }

  void logAbsent(Path& p, const std::string& why) {
    if (p.absent_logged) return;
    p.absent_logged = true;
    log::get("mgmt")->info("[tunnel={}] probing paused: {} (retrying every {} ms)", p.target.tunnel,
                           why, options.interval.count());
  }

  void close(Path& p) {
    if (!p.socket) return;
    boost::system::error_code ec;
    p.socket->cancel(ec);
    p.socket.reset();
    p.outstanding = false;
  }

  void send(Path& p) {
    if (p.outstanding) {
      p.outstanding = false;
      callback(p.target.tunnel, false, std::chrono::microseconds(0));
    }
    if (!p.socket && !open(p)) {
      callback(p.target.tunnel, false, std::chrono::microseconds(0));
      return;
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
      const int err = errno;
      if (err == ENODEV || err == ENXIO) {
        // The interface was deleted (maybe re-created under a new index): reopen next time.
        logAbsent(p, p.target.interface + ": " + std::strerror(err));
        close(p);
        callback(p.target.tunnel, false, std::chrono::microseconds(0));
        return;
      }
      log::get("mgmt")->trace("[tunnel={}] probe send: {}", p.target.tunnel, std::strerror(err));
      return;
    }
    if (p.absent_logged) {
      p.absent_logged = false;
      log::get("mgmt")->info("[tunnel={}] probing {} through {}", p.target.tunnel,
                             p.target.destination.toString(), p.target.interface);
    }
  }

  void receive(Path& p) {
    auto* socket = p.socket.get();
    socket->async_wait(
        boost::asio::posix::stream_descriptor::wait_read,
        [self = shared_from_this(), &p, socket](const boost::system::error_code& ec) {
          if (ec || !self->running || p.socket.get() != socket) return;
          for (;;) {
            ssize_t n = recv(socket->native_handle(), p.rx.data(), p.rx.size(), 0);
            if (n < 0) break;
            auto seq = parseEchoReply(p.rx.data(), static_cast<size_t>(n), p.raw, p.id);
            if (seq && *seq == p.seq && p.outstanding) {
              p.outstanding = false;
              auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - p.sent_at);
              self->callback(p.target.tunnel, true, rtt);
            }
          }
          self->receive(p);
        });
  }

  void schedule() {
    timer.expires_after(options.interval);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || !self->running) return;
      for (auto& p : self->paths) self->send(*p);
      if (self->running) self->schedule();
    });
  }
};

IcmpProber::IcmpProber(boost::asio::io_context& io, std::vector<ProbeTarget> targets,
                       ProbeOptions options, ProbeCallback callback)
    : impl_(std::make_shared<Impl>(io, std::move(targets), options, std::move(callback))) {}

IcmpProber::~IcmpProber() { stop(); }

Status IcmpProber::checkPrivileges() {
  bool raw = false;
  auto fd = Impl::openIcmpSocket(&raw);
  if (!fd) {
    return std::move(fd).error();
  }
  return okStatus();
}

Status IcmpProber::start() {
  for (auto& p : impl_->paths) {
    if (!p->target.destination.isV4()) {
      return makeError(Errc::kInvalidArgument, "probe " + p->target.tunnel + ": IPv4 only");
    }
  }
  // Privileges are checked once up front: without them no probe can ever work.
  if (Status s = checkPrivileges(); !s) {
    return s;
  }
  impl_->running = true;
  for (auto& p : impl_->paths) {
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
    impl_->close(*p);
  }
}

}  // namespace crossgate::routing
