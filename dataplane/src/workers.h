// The packet path: worker threads that move packets TUN -> encrypt -> UDP and
// UDP -> decrypt -> TUN in batches. Each worker owns its buffers, its EspWorker (cipher context
// index, drop counters) and its IoCounters; SA state comes from SaTable snapshots loaded once
// per batch. Nothing on the packet path allocates, logs or throws.
//
// Work split with N workers: N == 1 runs both directions in one thread; otherwise the first
// max(1, N/2) workers read the TUN devices (round robin) and the others read the UDP 4500
// sockets (one SO_REUSEPORT socket per receiving worker and address, so several peers spread
// over them).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "crossgate/common/net.h"
#include "crossgate/common/result.h"
#include "crossgate/dataplane/esp.h"
#include "crossgate/dataplane/sa.h"
#include "io_counters.h"
#include "tun_io.h"
#include "udp_io.h"

namespace crossgate::dataplane {

class DpServer;

struct DataplaneOptions {
  unsigned workers = 2;
  bool udp_gso = true;
  bool udp_gro = true;
  bool tun_offload = true;  // TSO super-packets from the TUN
  bool tun_gro = true;      // coalesced writes into the TUN
  size_t batch = 64;
  // The largest outer datagram (IP + UDP + ESP) the path takes unfragmented: 1500 on Azure and
  // AWS (Azure drops IP fragments behind its NAT). Inner packets are held to what fits: larger
  // TSO super-packets are segmented smaller, larger single packets get ICMP "fragmentation
  // needed" (DF, IPv6) or are fragmented before encryption (IPv4 without DF).
  uint32_t outer_mtu = 1500;
};

// The inner MTU of a tunnel while `sa` is its outbound SA: the TUN's MTU, or less if the SA's
// overhead would push a full-size packet's ESP-in-UDP datagram past outer_mtu.
uint32_t tunnelInnerMtu(const Sa& sa, uint32_t tun_mtu, uint32_t outer_mtu) noexcept;

class Worker;

class Dataplane {
 public:
  Dataplane(SaTable& table, const DataplaneOptions& options);
  ~Dataplane();

  // Set before start(): where IKE datagrams, MAPPING and expire edges go.
  void setServer(DpServer* server) { server_ = server; }
  Status addTunnel(const TunnelSpec& spec);
  // Opens UDP 500 and 4500 on `ip` (0.0.0.0 / :: for every address).
  Status listen(const IpAddress& ip);
  Status start();
  void stop();

  // IKE_TX from the plugin (control thread): picks the socket by local address and port.
  bool sendIke(const cg_dp_ike& meta, std::span<const uint8_t> payload);
  // Port 500 sockets: the control loop reads them and relays to the plugin.
  std::vector<UdpSocket*> ikeSockets();
  void readIkeSocket(UdpSocket& sock);

  // For stats: read-only views.
  size_t workerCount() const { return workers_.size(); }
  const EspCounters& espCounters(size_t worker) const;
  const IoCounters& ioCounters(size_t worker) const;
  const DataplaneOptions& options() const { return options_; }
  std::vector<const TunDevice*> tunnels() const;
  bool udpGsoActive() const;

  // ---- used by workers ----
  SaTable& table() { return table_; }
  DpServer* server() { return server_; }
  TunDevice* tunFor(uint32_t if_id) noexcept;
  int tunIndex(uint32_t if_id) const noexcept;
  TunDevice* tun(size_t index) noexcept { return tuns_[index].get(); }
  size_t tunCount() const noexcept { return tuns_.size(); }
  // The socket to send ESP from for the SA's local address:port.
  UdpSocket* espSocketFor(const cg_dp_addr& local) noexcept;

 private:
  SaTable& table_;
  DataplaneOptions options_;
  DpServer* server_ = nullptr;
  std::vector<std::unique_ptr<TunDevice>> tuns_;
  std::vector<std::unique_ptr<UdpSocket>> ike_socks_;   // port 500
  std::vector<std::unique_ptr<UdpSocket>> natt_socks_;  // port 4500 (reuseport groups)
  std::vector<IpAddress> listen_ips_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<uint8_t> ike_buf_;
};

}  // namespace crossgate::dataplane
