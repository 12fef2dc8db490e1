#include "worker.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <deque>

#include "asio_address.h"
#include "crossgate/common/log.h"
#include "crossgate/dns/udp_trains.h"

namespace crossgate::dns {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

constexpr size_t kMaxTcpPerWorker = 256;
constexpr auto kTcpIdle = std::chrono::seconds(10);

IpAddress fromSockaddr(const sockaddr_storage& ss) noexcept {
  if (ss.ss_family == AF_INET) {
    const auto& sin = reinterpret_cast<const sockaddr_in&>(ss);
    return IpAddress::v4(ntohl(sin.sin_addr.s_addr));
  }
  const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(ss);
  std::array<uint8_t, 16> b;
  std::memcpy(b.data(), sin6.sin6_addr.s6_addr, 16);
  // v4-mapped clients of a dual-stack socket match IPv4 views.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b.data(), kMapped, 12) == 0) {
    return IpAddress::v4(readU32(b.data() + 12));
  }
  return IpAddress::v6(b);
}

IpAddress fromAsio(const asio::ip::address& a) {
  if (a.is_v4()) {
    return IpAddress::v4(a.to_v4().to_uint());
  }
  std::array<uint8_t, 16> b;
  const auto bytes = a.to_v6().to_bytes();
  std::memcpy(b.data(), bytes.data(), 16);
  return IpAddress::v6(b);
}

bool sameEndpoint(const sockaddr_storage& a, const sockaddr_storage& b) noexcept {
  if (a.ss_family != b.ss_family) {
    return false;
  }
  if (a.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
  const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
  return x.sin6_port == y.sin6_port &&
         std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof(x.sin6_addr)) == 0 &&
         x.sin6_scope_id == y.sin6_scope_id;
}

template <typename Socket>
void setReusePort(Socket& s, boost::system::error_code& ec) {
  const int one = 1;
  if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    ec.assign(errno, boost::system::system_category());
  }
}

// One client TCP connection: length-prefixed messages, answered in any order (forwarded ones
// complete later), closed after kTcpIdle without a message.
class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(Worker& worker, tcp::socket socket, IpAddress client)
      : worker_(worker),
        socket_(std::move(socket)),
        client_(client),
        idle_(socket_.get_executor()) {
    ++worker_.tcp_connections;
  }
  ~TcpConnection() { --worker_.tcp_connections; }

  void start() { readLength(); }

 private:
  void readLength() {
    idle_.expires_after(kTcpIdle);
    idle_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) {
        self->close();
      }
    });
    asio::async_read(socket_, asio::buffer(len_),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       if (ec) {
                         self->close();
                         return;
                       }
                       self->readBody(readU16(self->len_));
                     });
  }

  void readBody(size_t n) {
    in_.resize(n);
    asio::async_read(socket_, asio::buffer(in_),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       if (ec) {
                         self->close();
                         return;
                       }
                       self->handle();
                     });
  }

  void handle() {
    const auto& tables = worker_.refresh();
    out_.resize(kMaxMessage);
    ForwardRequest req;
    const HandleResult r =
        handleQuery(*tables, &worker_.server().cache(), in_.data(), in_.size(), client_, true,
                    monotonicMs(), out_.data(), &req, worker_.stats());
    if (r.verdict == Verdict::kReply) {
      send(out_.data(), r.length);
    } else if (r.verdict == Verdict::kForward) {
      worker_.forwarder().forward(
          tables, req,
          [self = shared_from_this()](const uint8_t* d, size_t l) { self->send(d, l); });
    } else {
      close();
      return;
    }
    readLength();
  }

  void send(const uint8_t* data, size_t len) {
    if (!socket_.is_open()) {
      return;
    }
    std::vector<uint8_t> msg(len + 2);
    writeU16(msg.data(), static_cast<uint16_t>(len));
    std::memcpy(msg.data() + 2, data, len);
    queue_.push_back(std::move(msg));
    if (queue_.size() == 1) {
      writeNext();
    }
  }

  void writeNext() {
    asio::async_write(socket_, asio::buffer(queue_.front()),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->queue_.pop_front();
                        if (!self->queue_.empty()) {
                          self->writeNext();
                        }
                      });
  }

  void close() {
    boost::system::error_code ec;
    idle_.cancel();
    socket_.close(ec);
  }

  Worker& worker_;
  tcp::socket socket_;
  IpAddress client_;
  asio::steady_timer idle_;
  uint8_t len_[2] = {};
  std::vector<uint8_t> in_;
  std::vector<uint8_t> out_;
  std::deque<std::vector<uint8_t>> queue_;
};

}  // namespace

Worker::Worker(Server& server, ThreadStats* stats, int index, const ServerOptions& options)
    : server_(server),
      stats_(stats),
      index_(index),
      thread_count_(options.threads),
      udp_gso_(options.udp_gso),
      forwarder_(io_, &server.cache(), stats) {
  for (size_t k = 0; k < kBatch; ++k) {
    rx_iov_[k] = {rx_[k].data(), kRxSize};
    tx_iov_[k] = {tx_[k].data(), 0};
  }
}

Worker::~Worker() {
  stop();
  join();
}

Status Worker::bind(const std::vector<IpAddress>& listen, uint16_t port) {
  for (const IpAddress& addr : listen) {
    boost::system::error_code ec;
    const udp::endpoint uep(toAsio(addr), port);
    udp::socket us(io_);
    us.open(uep.protocol(), ec);
    if (!ec && !addr.isV4()) {
      us.set_option(asio::ip::v6_only(true), ec);
    }
    if (!ec) {
      setReusePort(us, ec);
    }
    if (!ec) {
      us.bind(uep, ec);
    }
    if (!ec) {
      us.non_blocking(true, ec);
    }
    if (ec) {
      return makeError(Errc::kIo, fmt::format("dns.listen: cannot bind UDP {}:{}: {}",
                                              addr.toString(), port, ec.message()));
    }
    udp_.push_back(std::move(us));
    gso_.push_back(udp_gso_ ? 1 : 0);
    const tcp::endpoint tep(toAsio(addr), port);
    tcp::acceptor acc(io_);
    acc.open(tep.protocol(), ec);
    if (!ec) {
      acc.set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec && !addr.isV4()) {
      acc.set_option(asio::ip::v6_only(true), ec);
    }
    if (!ec) {
      setReusePort(acc, ec);
    }
    if (!ec) {
      acc.bind(tep, ec);
    }
    if (!ec) {
      acc.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return makeError(Errc::kIo, fmt::format("dns.listen: cannot bind TCP {}:{}: {}",
                                              addr.toString(), port, ec.message()));
    }
    tcp_.push_back(std::move(acc));
  }
  return okStatus();
}

const std::shared_ptr<const Tables>& Worker::refresh() {
  const uint64_t gen = server_.generation();
  if (gen != generation_) {
    tables_ = server_.tables();
    generation_ = gen;
    const uint32_t qps = tables_->rate_limit_qps;
    limiter_.setRate(qps == 0 ? 0
                              : std::max<uint32_t>(1, (qps + thread_count_ - 1) / thread_count_));
  }
  return tables_;
}

void Worker::start() {
  refresh();
  for (size_t i = 0; i < udp_.size(); ++i) {
    armUdp(i);
    accept(i);
  }
  thread_ = std::thread([this] {
    const std::string name = fmt::format("dns-w{}", index_);
    pthread_setname_np(pthread_self(), name.c_str());
    io_.run();
  });
}

void Worker::stop() { io_.stop(); }

void Worker::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Worker::armUdp(size_t i) {
  udp_[i].async_wait(udp::socket::wait_read, [this, i](const boost::system::error_code& ec) {
    if (!ec) {
      serviceUdp(i);
    }
  });
}

void Worker::serviceUdp(size_t i) {
  if (drainUdp(i)) {
    // The round cap was reached with datagrams still queued: let the other handlers run, then
    // continue (an edge-triggered wait would not fire again for datagrams already queued).
    asio::post(io_, [this, i] { serviceUdp(i); });
    return;
  }
  armUdp(i);
}

bool Worker::drainUdp(size_t i) {
  const int fd = udp_[i].native_handle();
  for (int round = 0; round < kMaxRounds; ++round) {
    const int n = receiveBatch(fd);
    if (n <= 0) {
      return false;
    }
    answerBatch(i, static_cast<unsigned>(n));
    if (static_cast<size_t>(n) < kBatch) {
      return false;  // a datagram arriving from now on raises a new edge
    }
  }
  return true;
}

int Worker::receiveBatch(int fd) noexcept {
  for (size_t k = 0; k < kBatch; ++k) {
    rx_msgs_[k].msg_hdr = {};
    rx_msgs_[k].msg_hdr.msg_name = &addrs_[k];
    rx_msgs_[k].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    rx_msgs_[k].msg_hdr.msg_iov = &rx_iov_[k];
    rx_msgs_[k].msg_hdr.msg_iovlen = 1;
  }
  return ::recvmmsg(fd, rx_msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
}

void Worker::answerBatch(size_t i, unsigned n) {
  const int fd = udp_[i].native_handle();
  const auto& tables = refresh();
  const uint64_t now = monotonicMs();
  unsigned out = 0;
  for (unsigned k = 0; k < n; ++k) {
    const msghdr& h = rx_msgs_[k].msg_hdr;
    const IpAddress client = fromSockaddr(addrs_[k]);
    if ((h.msg_flags & MSG_TRUNC) != 0) {
      stats_->global.dropped.inc();
      continue;
    }
    if (!limiter_.allow(client, now)) {
      stats_->global.rate_limited.inc();
      continue;  // dropped: answering would still serve a reflection attack
    }
    const HandleResult r =
        handleQuery(*tables, &server_.cache(), rx_[k].data(), rx_msgs_[k].msg_len, client, false,
                    now, tx_[out].data(), &request_, stats_);
    if (r.verdict == Verdict::kReply) {
      tx_iov_[out].iov_len = r.length;
      tx_to_[out] = static_cast<uint8_t>(k);
      ++out;
    } else if (r.verdict == Verdict::kForward) {
      const sockaddr_storage to = addrs_[k];
      const socklen_t to_len = h.msg_namelen;
      forwarder_.forward(tables, request_, [fd, to, to_len](const uint8_t* d, size_t l) {
        ::sendto(fd, d, l, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to), to_len);
      });
    }
  }
  sendAnswers(i, out);
}

void Worker::sendAnswers(size_t i, unsigned n) noexcept {
  std::array<size_t, kBatch> sizes;
  for (unsigned r = 0; r < n; ++r) {
    sizes[r] = tx_iov_[r].iov_len;
  }
  UdpTrains<kBatch> trains;
  planUdpTrains(
      std::span<const size_t>(sizes.data(), n), kGsoMaxSegment, gso_[i] != 0,
      [this](size_t a, size_t b) { return sameEndpoint(addrs_[tx_to_[a]], addrs_[tx_to_[b]]); },
      &trains);
  size_t pos = 0;
  for (size_t t = 0; t < trains.count; ++t) {
    const unsigned lead = trains.lead[t];
    const unsigned len = trains.length[t];
    for (unsigned k = 0; k < len; ++k) {
      tx_train_iov_[pos + k] = tx_iov_[trains.order[pos + k]];
    }
    msghdr& h = tx_msgs_[t].msg_hdr;
    h = {};
    h.msg_name = &addrs_[tx_to_[lead]];
    h.msg_namelen = rx_msgs_[tx_to_[lead]].msg_hdr.msg_namelen;
    h.msg_iov = &tx_train_iov_[pos];
    h.msg_iovlen = len;
    if (len > 1) {
      h.msg_control = tx_ctrl_[t].bytes;
      h.msg_controllen = sizeof(tx_ctrl_[t].bytes);
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const auto segment = static_cast<uint16_t>(sizes[lead]);
      std::memcpy(CMSG_DATA(c), &segment, sizeof(segment));
    }
    pos += len;
  }
  const int fd = udp_[i].native_handle();
  unsigned sent = 0;
  while (sent < trains.count) {
    const int m = ::sendmmsg(fd, tx_msgs_.data() + sent, static_cast<unsigned>(trains.count - sent),
                             MSG_DONTWAIT);
    if (m > 0) {
      for (size_t t = sent; t < sent + static_cast<unsigned>(m); ++t) {
        if (trains.length[t] > 1) {
          stats_->udp_segmented_sends.inc();
          stats_->udp_segmented_answers.inc(trains.length[t]);
        }
      }
      sent += static_cast<unsigned>(m);
      continue;
    }
    const int err = errno;
    if (m < 0 && trains.length[sent] > 1 && (err == EIO || err == EINVAL || err == EMSGSIZE)) {
      // EIO: the egress device cannot segment UDP (no checksum offload); not worth retrying.
      // EINVAL/EMSGSIZE: this train does not fit the route's MTU; the next ones may.
      if (err == EIO && gso_[i] != 0) {
        gso_[i] = 0;
        log::get("dns")->warn(
            "UDP segmented send refused by the egress device (EIO): answers "
            "on this socket go one datagram per send from now on");
      }
      sendSplit(fd, tx_msgs_[sent]);
      ++sent;
      continue;
    }
    break;  // socket buffer full: the clients retry
  }
}

void Worker::sendSplit(int fd, const mmsghdr& train) noexcept {
  std::array<mmsghdr, kBatch> single{};
  const size_t n = train.msg_hdr.msg_iovlen;
  for (size_t k = 0; k < n; ++k) {
    single[k].msg_hdr = {};
    single[k].msg_hdr.msg_name = train.msg_hdr.msg_name;
    single[k].msg_hdr.msg_namelen = train.msg_hdr.msg_namelen;
    single[k].msg_hdr.msg_iov = &train.msg_hdr.msg_iov[k];
    single[k].msg_hdr.msg_iovlen = 1;
  }
  size_t sent = 0;
  while (sent < n) {
    const int m =
        ::sendmmsg(fd, single.data() + sent, static_cast<unsigned>(n - sent), MSG_DONTWAIT);
    if (m <= 0) {
      return;
    }
    sent += static_cast<size_t>(m);
  }
}

void Worker::accept(size_t i) {
  tcp_[i].async_accept([this, i](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) {
      return;
    }
    if (!ec) {
      boost::system::error_code e;
      const auto remote = socket.remote_endpoint(e);
      if (!e && tcp_connections < kMaxTcpPerWorker) {
        std::make_shared<TcpConnection>(*this, std::move(socket), fromAsio(remote.address()))
            ->start();
      }
    }
    accept(i);
  });
}

}  // namespace crossgate::dns
