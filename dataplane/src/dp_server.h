// The plugin protocol server: a SOCK_SEQPACKET listener (mode 0600, parent directory 0755),
// one session per connection, and the control loop that also runs the lifetime timer and sends
// the events the packet path posts (IKE_RX, MAPPING). Runs in its own thread ("dp-control").
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "crossgate/common/result.h"
#include "crossgate/common/unique_fd.h"
#include "crossgate/dataplane/sa.h"
#include "dp_state.h"

namespace crossgate::dataplane {

class DpServer {
 public:
  struct Options {
    std::string socket_path = CG_DP_SOCKET_PATH;
    uint32_t expire_tick_ms = 200;  // how often time limits are checked
    size_t max_posted = 4096;       // queued events beyond this are dropped (and counted)
  };

  static Result<std::unique_ptr<DpServer>> create(const Options& options, SaTable& table,
                                                  IkeSender ike_sender);
  ~DpServer();

  // Runs until stop(). Returns after closing every session (their SAs are dropped).
  void run();
  // Thread- and signal-safe.
  void stop() noexcept;

  // Extra readable fds served by the control loop (e.g. the UDP port 500 sockets).
  Status addReader(int fd, std::function<void()> on_readable);

  // ---- called from packet threads (thread-safe, rare events) ----
  // An IKE datagram for the plugin (payload exactly as received, marker included).
  void postIkeRx(const cg_dp_addr& local, const cg_dp_addr& remote,
                 std::span<const uint8_t> payload);
  // Inbound ESP for an SA arrived from a new address:port.
  void postMapping(uint32_t spi, const cg_dp_addr& dst, const cg_dp_addr& new_remote);
  // A worker crossed a byte/packet/sequence lifetime edge: collect expires now.
  void notifyExpireEdge() noexcept;

  // Counters for stats.
  uint64_t eventsDropped() const { return events_dropped_.load(std::memory_order_relaxed); }
  uint64_t ikeRxSent() const { return ike_rx_sent_.load(std::memory_order_relaxed); }
  uint64_t expiresSent() const { return expires_sent_.load(std::memory_order_relaxed); }
  uint64_t mappingsSent() const { return mappings_sent_.load(std::memory_order_relaxed); }
  const std::string& socketPath() const { return options_.socket_path; }
  DpState& state() { return *state_; }

 private:
  struct Posted {
    ClientId to = 0;  // 0 = the event client
    std::vector<uint8_t> msg;
  };

  DpServer(const Options& options, SaTable& table, IkeSender ike_sender);
  Status listen();
  void acceptClients();
  void serveClient(ClientId id);
  void closeClient(ClientId id);
  bool sendTo(ClientId id, std::span<const uint8_t> msg);
  void collectExpires();
  void drainPosted();
  void post(Posted item);
  static uint64_t nowS();

  Options options_;
  SaTable& table_;
  std::unique_ptr<DpState> state_;
  UniqueFd listen_fd_;
  UniqueFd epoll_fd_;
  UniqueFd wake_fd_;   // eventfd: posted events, expire edges, stop
  UniqueFd timer_fd_;  // timerfd: lifetime checks
  std::map<ClientId, UniqueFd> clients_;
  std::map<int, std::function<void()>> readers_;
  ClientId next_client_ = 1;
  std::vector<uint8_t> rx_buf_;
  std::vector<uint8_t> tx_buf_;
  std::vector<SaExpire> expires_;

  std::mutex posted_mutex_;
  std::deque<Posted> posted_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> expire_edge_{false};
  std::atomic<uint64_t> events_dropped_{0};
  std::atomic<uint64_t> ike_rx_sent_{0};
  std::atomic<uint64_t> expires_sent_{0};
  std::atomic<uint64_t> mappings_sent_{0};
};

}  // namespace crossgate::dataplane
