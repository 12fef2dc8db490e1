#include "workers.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crossgate/common/log.h"
#include "dp_server.h"
#include "tun_offload.h"

namespace crossgate::dataplane {
namespace {

constexpr size_t kMaxSegments = 64;         // UDP GSO limit per send
constexpr size_t kMaxTrainBytes = 65000;    // UDP payload limit of one GSO train
constexpr size_t kTxArenaBytes = 2 << 20;   // encrypted datagrams waiting for sendmmsg
constexpr size_t kMaxRxPackets = 4096;      // ESP datagrams in one recvmmsg batch (GRO split)
constexpr size_t kFrameBytes = sizeof(VnetHdr) + 65536;
constexpr uint64_t kTagTun = uint64_t{1} << 32;

uint64_t monotonicSeconds() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec);
}

uint32_t espHeaderLen(const Sa& sa) noexcept {
  return 8 + (sa.config().cipher == EspCipher::kAesGcm16 ? 8 : 16);
}

}  // namespace

uint32_t tunnelInnerMtu(const Sa& sa, uint32_t tun_mtu, uint32_t outer_mtu) noexcept {
  const uint32_t fit = sa.maxInnerLength(outer_mtu);
  return fit != 0 && fit < tun_mtu ? fit : tun_mtu;
}

class Worker {
 public:
  Worker(Dataplane& dp, unsigned index)
      : dp_(dp),
        index_(index),
        esp_(index),
        rx_(dp.options().batch),
        tx_(dp.options().batch),
        frame_(kFrameBytes),
        arena_(kTxArenaBytes + 2 * kFrameBytes),
        scratch_(kFrameBytes),
        rx_pkts_(kMaxRxPackets),
        rx_results_(kMaxRxPackets),
        rx_msg_of_(kMaxRxPackets),
        tx_pkts_(256),
        tx_verdicts_(256),
        tx_lens_(256) {}

  void assignTun(size_t tun_index) { tuns_.push_back(tun_index); }
  void assignSocket(UdpSocket* sock) { socks_.push_back(sock); }
  bool idle() const { return tuns_.empty() && socks_.empty(); }

  Status start() {
    epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
    for (size_t t : tuns_) {
      epoll_event ev{EPOLLIN, {.u64 = kTagTun | t}};
      epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, dp_.tun(t)->fd(), &ev);
    }
    for (size_t s = 0; s < socks_.size(); ++s) {
      epoll_event ev{EPOLLIN, {.u64 = s}};
      epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, socks_[s]->fd(), &ev);
    }
    sinks_.reserve(dp_.tunCount());  // the coalescers keep pointers into it
    for (size_t t = 0; t < dp_.tunCount(); ++t) {
      sinks_.push_back(Sink{this, t});
      coalescers_.push_back(std::make_unique<TcpCoalescer>(&Worker::tunSink, &sinks_.back()));
      coalescers_.back()->setEnabled(dp_.options().tun_gro && dp_.tun(t)->offload());
    }
    merged_seen_.assign(dp_.tunCount(), 0);
    thread_ = std::thread([this] { run(); });
    return okStatus();
  }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  const EspCounters& espCounters() const { return esp_.counters(); }
  const IoCounters& io() const { return io_; }

 private:
  struct Sink {
    Worker* worker;
    size_t tun;
  };
  static void tunSink(void* ctx, const uint8_t* frame, size_t len) {
    auto* s = static_cast<Sink*>(ctx);
    s->worker->writeTun(s->tun, frame, len);
  }

  void run();
  void readTun(size_t tun_index);
  void encryptFrame(const SaEntry& entry, TunDevice& tun, uint32_t mtu, const VnetHdr& hdr,
                    std::span<const uint8_t> frame);
  void oversized(const SaEntry& entry, TunDevice& tun, uint32_t mtu, const VnetHdr& hdr,
                 std::span<const uint8_t> pkt);
  void sendSlots(const SaEntry& entry, uint8_t* base, size_t stride, size_t count);
  void queueTrain(const SaEntry& entry, const uint8_t* data, size_t len, size_t segment);
  void flushTx();
  void readUdp(UdpSocket& sock);
  void deliver(const std::shared_ptr<const SaSnapshot>& snap, size_t count);
  void writeTun(size_t tun, const uint8_t* frame, size_t len);

  Dataplane& dp_;
  unsigned index_;
  EspWorker esp_;
  IoCounters io_;
  UdpRxBatch rx_;
  UdpTxBatch tx_;
  UdpSocket* tx_sock_ = nullptr;
  size_t arena_used_ = 0;
  std::vector<uint8_t> frame_;
  std::vector<uint8_t> arena_;
  std::vector<uint8_t> scratch_;
  std::vector<PacketBuf> rx_pkts_;
  std::vector<EspRxResult> rx_results_;
  std::vector<uint16_t> rx_msg_of_;
  std::vector<PacketBuf> tx_pkts_;
  std::vector<EspDrop> tx_verdicts_;
  std::vector<uint32_t> tx_lens_;
  std::vector<size_t> tuns_;
  std::vector<UdpSocket*> socks_;
  std::vector<Sink> sinks_;
  std::vector<std::unique_ptr<TcpCoalescer>> coalescers_;
  std::vector<uint64_t> merged_seen_;
  uint32_t last_mapping_spi_ = 0;
  cg_dp_addr last_mapping_addr_{};
  UniqueFd epoll_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

void Worker::run() {
  char name[16];
  std::snprintf(name, sizeof(name), "dp-worker-%u", index_);
  pthread_setname_np(pthread_self(), name);
  std::array<epoll_event, 16> events;
  while (!stop_.load(std::memory_order_relaxed)) {
    const int n = epoll_wait(epoll_.get(), events.data(), events.size(), 200);
    esp_.setNow(monotonicSeconds());
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[static_cast<size_t>(i)].data.u64;
      if (tag & kTagTun) {
        readTun(static_cast<size_t>(tag & 0xffffffffu));
      } else {
        readUdp(*socks_[static_cast<size_t>(tag)]);
      }
    }
    if (esp_.takeExpireEdge() && dp_.server() != nullptr) {
      dp_.server()->notifyExpireEdge();
    }
  }
}

// ---- TUN -> encrypt -> UDP ----

void Worker::readTun(size_t tun_index) {
  TunDevice& tun = *dp_.tun(tun_index);
  const auto snap = dp_.table().snapshot();
  const SaEntry* entry = snap->findOutbound(tun.spec().if_id);
  const uint32_t mtu = entry == nullptr
                           ? tun.spec().mtu
                           : tunnelInnerMtu(*entry->sa, tun.spec().mtu, dp_.options().outer_mtu);
  for (size_t round = 0; round < dp_.options().batch; ++round) {
    const ssize_t n = ::read(tun.fd(), frame_.data(), frame_.size());
    if (n < static_cast<ssize_t>(sizeof(VnetHdr))) {
      break;
    }
    io_.add(IoCounter::tun_rx_frames);
    VnetHdr hdr;
    std::memcpy(&hdr, frame_.data(), sizeof(hdr));
    std::span<const uint8_t> frame(frame_.data() + sizeof(hdr),
                                   static_cast<size_t>(n) - sizeof(hdr));
    if (entry == nullptr) {
      esp_.counters().drop(EspDrop::no_sa);
      continue;
    }
    encryptFrame(*entry, tun, mtu, hdr, frame);
  }
  flushTx();
}

void Worker::encryptFrame(const SaEntry& entry, TunDevice& tun, uint32_t mtu, const VnetHdr& in_hdr,
                          std::span<const uint8_t> frame) {
  const Sa& sa = *entry.sa;
  VnetHdr hdr = in_hdr;
  const bool gso = (hdr.gso_type & 0x7f) != kVnetGsoNone;
  if (!gso && frame.size() > mtu) {
    oversized(entry, tun, mtu, hdr, frame);
    return;
  }
  size_t full = frame.size();
  size_t count_max = 1;
  if (gso) {
    io_.add(IoCounter::tun_rx_tso_frames);
    const size_t ihl =
        frame.size() >= 20 && (frame[0] >> 4) == 4 ? size_t{frame[0] & 0x0fu} * 4 : 40;
    if (frame.size() < ihl + 20 || hdr.gso_size == 0) {
      io_.add(IoCounter::tun_malformed);
      return;
    }
    const size_t hlen = ihl + size_t{frame[ihl + 12]} / 16 * 4;
    if (hlen > frame.size() || hlen >= mtu) {
      io_.add(IoCounter::tun_malformed);
      return;
    }
    if (hlen + hdr.gso_size > mtu) {
      // Segments would not fit the outer MTU with this SA's overhead: cut them smaller (a TCP
      // receiver takes any segment size) rather than drop the super-packet.
      hdr.gso_size = static_cast<uint16_t>(mtu - hlen);
      io_.add(IoCounter::tso_resegmented);
    }
    full = hlen + hdr.gso_size;
    count_max = std::max<size_t>(1, (frame.size() - hlen + hdr.gso_size - 1) / hdr.gso_size);
  }
  const size_t hdr_len = espHeaderLen(sa);
  const size_t stride = full + sa.overhead(static_cast<uint32_t>(full));
  if (count_max > tx_pkts_.size()) {
    io_.add(IoCounter::tun_malformed);
    return;
  }
  if (arena_used_ + stride * count_max > arena_.size()) {
    flushTx();
  }
  uint8_t* base = arena_.data() + arena_used_;
  SplitOut out{base, stride, hdr_len, count_max, tx_lens_.data()};
  const int count = tsoSplit(hdr, frame, out);
  if (count <= 0) {
    io_.add(IoCounter::tun_malformed);
    return;
  }
  arena_used_ += stride * static_cast<size_t>(count);
  sendSlots(entry, base, stride, static_cast<size_t>(count));
}

void Worker::oversized(const SaEntry& entry, TunDevice& tun, uint32_t mtu, const VnetHdr& hdr,
                       std::span<const uint8_t> pkt) {
  if (ipDontFragment(pkt)) {
    io_.add(IoCounter::too_big_df);
    const size_t len =
        buildPacketTooBig(pkt, mtu, tun.icmpSourceAddr(),
                          {scratch_.data() + sizeof(VnetHdr), scratch_.size() - sizeof(VnetHdr)});
    if (len > 0) {
      std::memset(scratch_.data(), 0, sizeof(VnetHdr));
      if (::write(tun.fd(), scratch_.data(), sizeof(VnetHdr) + len) < 0) {
        io_.add(IoCounter::tun_write_error);
      }
    }
    return;
  }
  const Sa& sa = *entry.sa;
  if (hdr.flags & kVnetNeedsCsum) {
    // Complete the partial checksum before the payload is cut into fragments.
    SplitOut whole{scratch_.data(), scratch_.size(), 0, 1, tx_lens_.data()};
    if (tsoSplit(hdr, pkt, whole) != 1) {
      io_.add(IoCounter::tun_malformed);
      return;
    }
    pkt = {scratch_.data(), tx_lens_[0]};
  }
  const size_t stride = mtu + sa.overhead(mtu);
  flushTx();
  uint8_t* base = arena_.data();
  SplitOut out{base, stride, espHeaderLen(sa), std::min<size_t>(tx_pkts_.size(), 64),
               tx_lens_.data()};
  const int count = ipv4Fragment(pkt, mtu, out);
  if (count <= 0) {
    io_.add(IoCounter::too_big);
    return;
  }
  io_.add(IoCounter::fragmented);
  arena_used_ = stride * static_cast<size_t>(count);
  // Fragments differ in size from the stride: send each as its own datagram.
  for (int i = 0; i < count; ++i) {
    sendSlots(entry, base + static_cast<size_t>(i) * stride, stride, 1);
  }
}

void Worker::sendSlots(const SaEntry& entry, uint8_t* base, size_t stride, size_t count) {
  const size_t hdr_len = espHeaderLen(*entry.sa);
  for (size_t i = 0; i < count; ++i) {
    tx_pkts_[i] = PacketBuf(base + i * stride, static_cast<uint32_t>(stride),
                            static_cast<uint32_t>(hdr_len), tx_lens_[i]);
  }
  espEncryptBatch(entry, {tx_pkts_.data(), count}, {tx_verdicts_.data(), count}, esp_);
  // Consecutive encrypted packets of the stride's size form one GSO train.
  size_t i = 0;
  while (i < count) {
    if (tx_verdicts_[i] != EspDrop::kNone) {
      ++i;
      continue;
    }
    const uint8_t* start = tx_pkts_[i].data();
    size_t len = tx_pkts_[i].length;
    size_t segs = 1;
    size_t j = i + 1;
    bool open = len == stride && dp_.options().udp_gso;
    while (open && j < count && tx_verdicts_[j] == EspDrop::kNone &&
           tx_pkts_[j].data() == start + len && segs < kMaxSegments &&
           len + tx_pkts_[j].length <= kMaxTrainBytes) {
      len += tx_pkts_[j].length;
      open = tx_pkts_[j].length == stride;
      ++segs;
      ++j;
    }
    queueTrain(entry, start, len, segs > 1 ? stride : 0);
    i = j;
  }
}

void Worker::queueTrain(const SaEntry& entry, const uint8_t* data, size_t len, size_t segment) {
  UdpSocket* sock = dp_.espSocketFor(entry.src);
  if (sock == nullptr) {
    io_.add(IoCounter::no_socket);
    return;
  }
  if (sock != tx_sock_ || tx_.full()) {
    if (tx_sock_ != nullptr && tx_.size() > 0) {
      io_.add(IoCounter::udp_send_error, tx_.flush(*tx_sock_));
    }
    tx_sock_ = sock;
  }
  tx_.add(entry.src, entry.dst, data, static_cast<uint32_t>(len), static_cast<uint16_t>(segment));
  const size_t datagrams = segment ? (len + segment - 1) / segment : 1;
  io_.add(IoCounter::udp_tx_datagrams, datagrams);
  if (datagrams > 1) {
    io_.add(IoCounter::udp_tx_gso_trains);
  }
}

void Worker::flushTx() {
  if (tx_sock_ != nullptr && tx_.size() > 0) {
    io_.add(IoCounter::udp_send_error, tx_.flush(*tx_sock_));
  }
  arena_used_ = 0;
}

// ---- UDP -> decrypt -> TUN ----

void Worker::readUdp(UdpSocket& sock) {
  for (size_t round = 0; round < 8; ++round) {
    const int got = rx_.receive(sock);
    if (got <= 0) {
      break;
    }
    size_t count = 0;
    for (int m = 0; m < got; ++m) {
      const UdpRxBatch::Msg& msg = rx_.msg(static_cast<size_t>(m));
      if (msg.segment < msg.len) {
        io_.add(IoCounter::udp_rx_gro_trains);
      }
      for (uint32_t off = 0; off < msg.len; off += msg.segment) {
        const uint32_t len = std::min(msg.segment, msg.len - off);
        std::span<const uint8_t> dgram(msg.data + off, len);
        io_.add(IoCounter::udp_rx_datagrams);
        switch (classifyUdp(sock.port(), dgram)) {
          case UdpKind::kIke:
            io_.add(IoCounter::ike_rx);
            if (dp_.server() != nullptr) {
              dp_.server()->postIkeRx(msg.local, msg.remote, dgram);
            }
            break;
          case UdpKind::kKeepalive:
            io_.add(IoCounter::keepalive_rx);
            break;
          case UdpKind::kRunt:
            io_.add(IoCounter::udp_runt);
            break;
          case UdpKind::kEsp:
            if (count < rx_pkts_.size()) {
              rx_pkts_[count] = PacketBuf(msg.data + off, len, 0, len);
              rx_msg_of_[count] = static_cast<uint16_t>(m);
              ++count;
            }
            break;
        }
      }
    }
    if (count > 0) {
      deliver(dp_.table().snapshot(), count);
    }
  }
}

void Worker::deliver(const std::shared_ptr<const SaSnapshot>& snap, size_t count) {
  espDecryptBatch(*snap, {rx_pkts_.data(), count}, {rx_results_.data(), count}, esp_);
  for (size_t i = 0; i < count; ++i) {
    const EspRxResult& r = rx_results_[i];
    if (r.drop != EspDrop::kNone) {
      continue;
    }
    const SaEntry& e = *r.entry;
    const UdpRxBatch::Msg& msg = rx_.msg(rx_msg_of_[i]);
    if (!sameAddrPort(e.src, msg.remote) &&
        (last_mapping_spi_ != e.sa->spi() || !sameAddrPort(last_mapping_addr_, msg.remote))) {
      last_mapping_spi_ = e.sa->spi();
      last_mapping_addr_ = msg.remote;
      io_.add(IoCounter::mapping_events);
      if (dp_.server() != nullptr) {
        dp_.server()->postMapping(e.sa->spi(), e.dst, msg.remote);
      }
    }
    const int t = dp_.tunIndex(e.sa->ifId());
    if (t < 0) {
      io_.add(IoCounter::no_tun);
      continue;
    }
    coalescers_[static_cast<size_t>(t)]->add(rx_pkts_[i].data(), rx_pkts_[i].length);
  }
  for (size_t t = 0; t < coalescers_.size(); ++t) {
    coalescers_[t]->flush();
    const uint64_t merged = coalescers_[t]->merged();
    io_.add(IoCounter::tun_tx_gro_merged, merged - merged_seen_[t]);
    merged_seen_[t] = merged;
  }
}

void Worker::writeTun(size_t tun, const uint8_t* frame, size_t len) {
  if (::write(dp_.tun(tun)->fd(), frame, len) < 0) {
    io_.add(IoCounter::tun_write_error);
    return;
  }
  io_.add(IoCounter::tun_tx_frames);
}

// ---- Dataplane ----

Dataplane::Dataplane(SaTable& table, const DataplaneOptions& options)
    : table_(table), options_(options), ike_buf_(65536) {
  if (options_.workers == 0) {
    options_.workers = 1;
  }
}

Dataplane::~Dataplane() { stop(); }

Status Dataplane::addTunnel(const TunnelSpec& spec) {
  if (tunIndex(spec.if_id) >= 0) {
    return makeError(Errc::kAlreadyExists, fmt::format("if_id {} configured twice", spec.if_id));
  }
  TunOptions o;
  o.offload = options_.tun_offload;
  auto dev = TunDevice::open(spec, o);
  if (!dev) {
    return dev.error();
  }
  tuns_.push_back(std::move(*dev));
  return okStatus();
}

Status Dataplane::listen(const IpAddress& ip) {
  UdpOptions o;
  o.gro = options_.udp_gro;
  o.gso = options_.udp_gso;
  auto ike = UdpSocket::open(ip, 500, o);
  if (!ike) {
    return ike.error();
  }
  ike_socks_.push_back(std::move(*ike));
  const unsigned rx_workers = options_.workers == 1 ? 1 : options_.workers - std::max(1u, options_.workers / 2);
  o.reuse_port = rx_workers > 1;
  for (unsigned i = 0; i < rx_workers; ++i) {
    auto natt = UdpSocket::open(ip, 4500, o);
    if (!natt) {
      return natt.error();
    }
    natt_socks_.push_back(std::move(*natt));
  }
  listen_ips_.push_back(ip);
  log::get("dp")->info("listening on {} ports 500 and 4500 (udp gso {}, gro {})", ip.toString(),
                       natt_socks_.back()->gsoEnabled() ? "on" : "off",
                       natt_socks_.back()->groEnabled() ? "on" : "off");
  return okStatus();
}

Status Dataplane::start() {
  const unsigned n = options_.workers;
  for (unsigned i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, i));
  }
  const unsigned tx_workers = n == 1 ? 1 : std::max(1u, n / 2);
  for (size_t t = 0; t < tuns_.size(); ++t) {
    workers_[t % tx_workers]->assignTun(t);
  }
  const unsigned rx_first = n == 1 ? 0 : tx_workers;
  const unsigned rx_workers = n - rx_first;
  for (size_t s = 0; s < natt_socks_.size(); ++s) {
    workers_[rx_first + s % rx_workers]->assignSocket(natt_socks_[s].get());
  }
  for (auto& w : workers_) {
    if (Status st = w->start(); !st) {
      return st;
    }
  }
  log::get("dp")->info("{} workers started ({} reading TUN devices)", n, tx_workers);
  return okStatus();
}

void Dataplane::stop() {
  for (auto& w : workers_) {
    w->stop();
  }
}

TunDevice* Dataplane::tunFor(uint32_t if_id) noexcept {
  const int i = tunIndex(if_id);
  return i < 0 ? nullptr : tuns_[static_cast<size_t>(i)].get();
}

int Dataplane::tunIndex(uint32_t if_id) const noexcept {
  for (size_t i = 0; i < tuns_.size(); ++i) {
    if (tuns_[i]->spec().if_id == if_id) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

UdpSocket* Dataplane::espSocketFor(const cg_dp_addr& local) noexcept {
  UdpSocket* wildcard = nullptr;
  for (auto& s : natt_socks_) {
    if (s->local().family != local.family) {
      continue;
    }
    if (s->isWildcard()) {
      wildcard = wildcard ? wildcard : s.get();
    } else if (sameAddr(s->local(), local)) {
      return s.get();
    }
  }
  return wildcard;
}

bool Dataplane::sendIke(const cg_dp_ike& meta, std::span<const uint8_t> payload) {
  auto& socks = meta.local.port == 4500 ? natt_socks_ : ike_socks_;
  UdpSocket* chosen = nullptr;
  for (auto& s : socks) {
    if (s->local().family != meta.remote.family) {
      continue;
    }
    if (meta.local.family != 0 && !s->isWildcard() && !sameAddr(s->local(), meta.local)) {
      continue;
    }
    chosen = s.get();
    break;
  }
  if (chosen == nullptr) {
    log::get("dp")->warn("ike_tx: no socket for local port {}", meta.local.port);
    return false;
  }
  return chosen->sendOne(meta.local, meta.remote, meta.dscp, payload);
}

std::vector<UdpSocket*> Dataplane::ikeSockets() {
  std::vector<UdpSocket*> out;
  for (auto& s : ike_socks_) {
    out.push_back(s.get());
  }
  return out;
}

void Dataplane::readIkeSocket(UdpSocket& sock) {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage from{};
    alignas(cmsghdr) uint8_t ctrl[128];
    iovec iov{ike_buf_.data(), ike_buf_.size()};
    msghdr m{};
    m.msg_name = &from;
    m.msg_namelen = sizeof(from);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctrl;
    m.msg_controllen = sizeof(ctrl);
    const ssize_t n = ::recvmsg(sock.fd(), &m, MSG_DONTWAIT);
    if (n <= 0) {
      return;
    }
    cg_dp_addr local = sock.local();
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        std::memcpy(local.addr, &pi.ipi_addr, 4);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        std::memcpy(local.addr, &pi.ipi6_addr, 16);
      }
    }
    if (server_ != nullptr) {
      server_->postIkeRx(local, toDpAddr(from), {ike_buf_.data(), static_cast<size_t>(n)});
    }
  }
}

const EspCounters& Dataplane::espCounters(size_t worker) const {
  return workers_[worker]->espCounters();
}
const IoCounters& Dataplane::ioCounters(size_t worker) const { return workers_[worker]->io(); }

std::vector<const TunDevice*> Dataplane::tunnels() const {
  std::vector<const TunDevice*> out;
  for (const auto& t : tuns_) {
    out.push_back(t.get());
  }
  return out;
}

bool Dataplane::udpGsoActive() const {
  for (const auto& s : natt_socks_) {
    if (!s->gsoEnabled()) {
      return false;
    }
  }
  return !natt_socks_.empty();
}

}  // namespace crossgate::dataplane
