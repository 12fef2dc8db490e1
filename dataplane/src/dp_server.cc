#include "dp_server.h"

#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "crossgate/common/log.h"

namespace crossgate::dataplane {
namespace {

constexpr uint64_t kTagListen = 1;
constexpr uint64_t kTagWake = 2;
constexpr uint64_t kTagTimer = 3;
constexpr uint64_t kTagClient = uint64_t{1} << 62;
constexpr uint64_t kTagReader = uint64_t{2} << 62;
constexpr uint64_t kTagMask = uint64_t{3} << 62;

Error sysError(const std::string& what) {
  return makeError(Errc::kIo, fmt::format("{}: {}", what, std::strerror(errno)));
}

Status epollAdd(int epfd, int fd, uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return sysError("epoll_ctl");
  }
  return okStatus();
}

}  // namespace

DpServer::DpServer(const Options& options, SaTable& table, IkeSender ike_sender)
    : options_(options),
      table_(table),
      state_(std::make_unique<DpState>(table, &DpServer::nowS, std::move(ike_sender))),
      rx_buf_(CG_DP_MAX_MSG + 1),
      tx_buf_(CG_DP_MAX_MSG) {}

DpServer::~DpServer() {
  if (listen_fd_) {
    ::unlink(options_.socket_path.c_str());
  }
}

uint64_t DpServer::nowS() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec);
}

Result<std::unique_ptr<DpServer>> DpServer::create(const Options& options, SaTable& table,
                                                   IkeSender ike_sender) {
  std::unique_ptr<DpServer> s(new DpServer(options, table, std::move(ike_sender)));
  s->epoll_fd_.reset(epoll_create1(EPOLL_CLOEXEC));
  s->wake_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  s->timer_fd_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!s->epoll_fd_ || !s->wake_fd_ || !s->timer_fd_) {
    return sysError("epoll/eventfd/timerfd");
  }
  itimerspec its{};
  its.it_interval.tv_sec = options.expire_tick_ms / 1000;
  its.it_interval.tv_nsec = static_cast<long>(options.expire_tick_ms % 1000) * 1000000L;
  its.it_value = its.it_interval;
  if (timerfd_settime(s->timer_fd_.get(), 0, &its, nullptr) != 0) {
    return sysError("timerfd_settime");
  }
  if (Status st = s->listen(); !st) {
    return st.error();
  }
  for (auto [fd, tag] : {std::pair{s->listen_fd_.get(), kTagListen},
                         std::pair{s->wake_fd_.get(), kTagWake},
                         std::pair{s->timer_fd_.get(), kTagTimer}}) {
    if (Status st = epollAdd(s->epoll_fd_.get(), fd, tag); !st) {
      return st.error();
    }
  }
  return s;
}

Status DpServer::listen() {
  const std::filesystem::path path(options_.socket_path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof(addr.sun_path)) {
    return makeError(Errc::kInvalidArgument, "socket path too long: " + path.native());
  }
  std::error_code ec;
  if (path.has_parent_path() && !std::filesystem::exists(path.parent_path(), ec)) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return makeError(Errc::kIo, fmt::format("creating {}: {}", path.parent_path().native(),
                                              ec.message()));
    }
    ::chmod(path.parent_path().c_str(), 0755);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.native().size() + 1);
  listen_fd_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listen_fd_) {
    return sysError("socket(AF_UNIX, SOCK_SEQPACKET)");
  }
  ::unlink(path.c_str());  // a stale socket from a previous run
  const mode_t old_mask = ::umask(0177);
  const int rc = ::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old_mask);
  if (rc != 0) {
    return sysError("bind " + path.native());
  }
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(listen_fd_.get(), 8) != 0) {
    return sysError("chmod/listen " + path.native());
  }
  log::get("dp")->info("plugin socket listening on {}", path.native());
  return okStatus();
}

Status DpServer::addReader(int fd, std::function<void()> on_readable) {
  readers_[fd] = std::move(on_readable);
  return epollAdd(epoll_fd_.get(), fd, kTagReader | static_cast<uint32_t>(fd));
}

void DpServer::stop() noexcept {
  stop_.store(true);
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void DpServer::notifyExpireEdge() noexcept {
  expire_edge_.store(true, std::memory_order_relaxed);
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void DpServer::post(Posted item) {
  {
    std::lock_guard lock(posted_mutex_);
    if (posted_.size() >= options_.max_posted) {
      events_dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    posted_.push_back(std::move(item));
  }
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void DpServer::postIkeRx(const cg_dp_addr& local, const cg_dp_addr& remote,
                         std::span<const uint8_t> payload) {
  Posted p;
  p.msg.resize(sizeof(cg_dp_hdr) + sizeof(cg_dp_ike) + payload.size());
  p.msg.resize(encodeIkeRx(p.msg, local, remote, payload));
  if (!p.msg.empty()) {
    post(std::move(p));
  }
}

void DpServer::postMapping(uint32_t spi, const cg_dp_addr& dst, const cg_dp_addr& new_remote) {
  cg_dp_ev_mapping ev{};
  ev.spi = spi;
  ev.proto = 50;
  ev.dst = dst;
  ev.new_remote = new_remote;
  Posted p;
  p.msg.resize(sizeof(cg_dp_hdr) + sizeof(ev));
  encodeMapping(p.msg, ev);
  p.to = ~ClientId{0};  // marker: route to the SA's owner
  post(std::move(p));
}

void DpServer::run() {
  pthread_setname_np(pthread_self(), "dp-control");
  std::array<epoll_event, 32> events;
  while (!stop_.load()) {
    const int n = epoll_wait(epoll_fd_.get(), events.data(), events.size(), -1);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      log::get("dp")->error("epoll_wait: {}", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[static_cast<size_t>(i)].data.u64;
      if (tag == kTagListen) {
        acceptClients();
      } else if (tag == kTagWake) {
        uint64_t v;
        (void)!::read(wake_fd_.get(), &v, sizeof(v));
        drainPosted();
        if (expire_edge_.exchange(false)) {
          collectExpires();
        }
      } else if (tag == kTagTimer) {
        uint64_t v;
        (void)!::read(timer_fd_.get(), &v, sizeof(v));
        collectExpires();
      } else if ((tag & kTagMask) == kTagClient) {
        serveClient(tag & ~kTagMask);
      } else if ((tag & kTagMask) == kTagReader) {
        auto it = readers_.find(static_cast<int>(tag & 0xffffffffu));
        if (it != readers_.end()) {
          it->second();
        }
      }
    }
  }
  while (!clients_.empty()) {
    closeClient(clients_.begin()->first);
  }
}

void DpServer::acceptClients() {
  for (;;) {
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR) {
        log::get("dp")->warn("accept: {}", std::strerror(errno));
      }
      return;
    }
    const ClientId id = next_client_++;
    const int sndbuf = 4 * 1024 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    clients_.emplace(id, UniqueFd(fd));
    if (Status st = epollAdd(epoll_fd_.get(), fd, kTagClient | id); !st) {
      clients_.erase(id);
      continue;
    }
    log::get("dp")->info("[client={}] connected", id);
  }
}

bool DpServer::sendTo(ClientId id, std::span<const uint8_t> msg) {
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    return false;
  }
  for (int attempt = 0; attempt < 200; ++attempt) {
    ssize_t n = ::send(it->second.get(), msg.data(), msg.size(), MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(msg.size())) {
      return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      ::usleep(10000);  // the client is behind; wait up to 2 s in total
      continue;
    }
    break;
  }
  log::get("dp")->warn("[client={}] send failed ({}): closing", id, std::strerror(errno));
  closeClient(id);
  return false;
}

void DpServer::serveClient(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    return;
  }
  const int fd = it->second.get();
  for (;;) {
    ssize_t n = ::recv(fd, rx_buf_.data(), rx_buf_.size(), MSG_TRUNC);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      return;
    }
    if (n <= 0) {
      closeClient(id);
      return;
    }
    if (static_cast<size_t>(n) > CG_DP_MAX_MSG) {
      log::get("dp")->warn("[client={}] message of {} bytes too large: closing", id, n);
      closeClient(id);
      return;
    }
    Request req;
    std::string error;
    if (!decodeRequest({rx_buf_.data(), static_cast<size_t>(n)}, &req, &error)) {
      log::get("dp")->warn("[client={}] bad message: {}", id, error);
      // A well-formed header gets an EINVAL reply; anything else ends the session.
      if (req.hdr.len == n && req.hdr.req_id != 0 && req.hdr.type < CG_DP_REPLY) {
        size_t len = encodeReply(tx_buf_, req.hdr.req_id, EINVAL);
        if (!sendTo(id, {tx_buf_.data(), len})) {
          return;
        }
        continue;
      }
      closeClient(id);
      return;
    }
    HandleResult r = state_->handle(id, req, tx_buf_);
    if (r.reply_len > 0 && !sendTo(id, {tx_buf_.data(), r.reply_len})) {
      return;
    }
    if (r.close) {
      closeClient(id);
      return;
    }
  }
}

void DpServer::closeClient(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    return;
  }
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, it->second.get(), nullptr);
  clients_.erase(it);
  state_->clientGone(id);
}

void DpServer::collectExpires() {
  expires_.clear();
  table_.collectExpires(nowS(), &expires_);
  for (const SaExpire& e : expires_) {
    cg_dp_ev_expire ev{};
    ev.spi = e.spi;
    ev.proto = 50;
    ev.hard = e.hard ? 1 : 0;
    ev.dst = e.dst;
    ev.reqid = e.reqid;
    ClientId to = state_->ownerOf(e.spi, e.dst);
    if (to == 0) {
      to = state_->eventClient();
    }
    log::get("dp")->info("[spi={:08x} reqid={}] {} {} expire", ntohl(e.spi), e.reqid,
                         e.inbound ? "inbound" : "outbound", e.hard ? "hard" : "soft");
    const size_t len = encodeExpire(tx_buf_, ev);
    if (to != 0 && sendTo(to, {tx_buf_.data(), len})) {
      expires_sent_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void DpServer::drainPosted() {
  std::deque<Posted> items;
  {
    std::lock_guard lock(posted_mutex_);
    items.swap(posted_);
  }
  for (Posted& p : items) {
    ClientId to = p.to;
    const bool mapping = to == ~ClientId{0};
    if (mapping) {
      cg_dp_ev_mapping ev;
      std::memcpy(&ev, p.msg.data() + sizeof(cg_dp_hdr), sizeof(ev));
      to = state_->ownerOf(ev.spi, ev.dst);
    }
    if (to == 0) {
      to = state_->eventClient();
    }
    if (to == 0) {
      events_dropped_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (sendTo(to, p.msg)) {
      (mapping ? mappings_sent_ : ike_rx_sent_).fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace crossgate::dataplane
