// One worker thread: its own io_context, SO_REUSEPORT UDP sockets (batched with recvmmsg /
// sendmmsg) and TCP acceptors on every listen address, a forwarder and a rate limiter.
#pragma once

#include <sys/socket.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "crossgate/common/result.h"
#include "crossgate/dns/forwarder.h"
#include "crossgate/dns/handler.h"
#include "crossgate/dns/rate_limiter.h"
#include "crossgate/dns/server.h"

namespace crossgate::dns {

class Worker {
 public:
  Worker(Server& server, ThreadStats* stats, int index, const ServerOptions& options);
  ~Worker();

  Status bind(const std::vector<IpAddress>& listen, uint16_t port);
  void start();
  void stop();
  void join();

  // Refreshes the tables when a reload published new ones; returns the current ones.
  const std::shared_ptr<const Tables>& refresh();
  Server& server() noexcept { return server_; }
  Forwarder& forwarder() noexcept { return forwarder_; }
  RateLimiter& limiter() noexcept { return limiter_; }
  ThreadStats* stats() noexcept { return stats_; }
  size_t tcp_connections = 0;

 private:
  static constexpr size_t kBatch = 32;
  static constexpr size_t kRxSize = 4096;
  static constexpr size_t kTxSize = 1536;
  static constexpr int kMaxRounds = 16;  // batches per wakeup before other handlers run
  // Answers up to this size may share a segmented send (an IPv6 minimum-MTU datagram).
  static constexpr size_t kGsoMaxSegment = 1232;

  void armUdp(size_t i);
  void serviceUdp(size_t i);
  // Receives and answers batches until the socket is empty (true: stopped at the round cap).
  bool drainUdp(size_t i);
  int receiveBatch(int fd) noexcept;
  void answerBatch(size_t i, unsigned n);
  // Sends answers 0..n-1 of tx_ (answer r to addrs_[tx_to_[r]]), grouped into segmented trains
  // (udp_trains.h) while the socket allows it.
  void sendAnswers(size_t i, unsigned n) noexcept;
  // One train's datagrams one by one, after its segmented send was refused.
  void sendSplit(int fd, const mmsghdr& train) noexcept;
  void accept(size_t i);

  Server& server_;
  ThreadStats* stats_;
  int index_;
  int thread_count_;
  bool udp_gso_;
  boost::asio::io_context io_;
  std::vector<boost::asio::ip::udp::socket> udp_;
  std::vector<uint8_t> gso_;  // per UDP socket: segmented sends allowed
  std::vector<boost::asio::ip::tcp::acceptor> tcp_;
  Forwarder forwarder_;
  RateLimiter limiter_;
  std::shared_ptr<const Tables> tables_;
  uint64_t generation_ = ~uint64_t{0};
  std::thread thread_;

  std::array<std::array<uint8_t, kRxSize>, kBatch> rx_{};
  std::array<std::array<uint8_t, kTxSize>, kBatch> tx_{};
  std::array<sockaddr_storage, kBatch> addrs_{};
  std::array<mmsghdr, kBatch> rx_msgs_{};
  std::array<mmsghdr, kBatch> tx_msgs_{};
  std::array<iovec, kBatch> rx_iov_{};
  std::array<iovec, kBatch> tx_iov_{};
  std::array<uint8_t, kBatch> tx_to_{};       // answer -> index in addrs_
  std::array<iovec, kBatch> tx_train_iov_{};  // the answers' iovecs, train by train
  struct alignas(cmsghdr) SegmentCmsg {
    uint8_t bytes[CMSG_SPACE(sizeof(uint16_t))];
  };
  std::array<SegmentCmsg, kBatch> tx_ctrl_{};
  ForwardRequest request_;
};

}  // namespace crossgate::dns
