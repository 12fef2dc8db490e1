#include "dp_state.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "crossgate/common/log.h"

namespace crossgate::dataplane {
namespace {

template <typename T>
std::span<const uint8_t> asBytes(const T& v) {
  return {reinterpret_cast<const uint8_t*>(&v), sizeof(T)};
}

// Selectors compared without their padding bytes (which the wire does not define).
cg_dp_ts normalTs(const cg_dp_ts& in) {
  cg_dp_ts ts{};
  ts.from.family = in.from.family;
  ts.from.port = in.from.port;
  std::memcpy(ts.from.addr, in.from.addr, sizeof(ts.from.addr));
  ts.to.family = in.to.family;
  ts.to.port = in.to.port;
  std::memcpy(ts.to.addr, in.to.addr, sizeof(ts.to.addr));
  ts.from_port = in.from_port;
  ts.to_port = in.to_port;
  ts.protocol = in.protocol;
  return ts;
}

std::string spiText(uint32_t spi_net) { return fmt::format("{:08x}", ntohl(spi_net)); }

}  // namespace

int32_t errnoOf(const Error& error) {
  switch (error.code) {
    case Errc::kInvalidArgument:
    case Errc::kParse:
      return EINVAL;
    case Errc::kNotFound:
      return ENOENT;
    case Errc::kAlreadyExists:
      return EEXIST;
    case Errc::kPermissionDenied:
      return EPERM;
    case Errc::kUnavailable:
      return EAGAIN;
    case Errc::kTimeout:
      return ETIMEDOUT;
    case Errc::kProtocol:
      return EPROTO;
    default:
      return EIO;
  }
}

PolicyKey PolicyKey::of(const cg_dp_policy& p) {
  PolicyKey k;
  k.dir = p.dir;
  k.src_ts = normalTs(p.src_ts);
  k.dst_ts = normalTs(p.dst_ts);
  k.mark = p.mark;
  k.if_id = p.if_id;
  return k;
}

bool PolicyKey::operator<(const PolicyKey& o) const {
  if (dir != o.dir) {
    return dir < o.dir;
  }
  if (if_id != o.if_id) {
    return if_id < o.if_id;
  }
  if (int c = std::memcmp(&src_ts, &o.src_ts, sizeof(src_ts)); c != 0) {
    return c < 0;
  }
  if (int c = std::memcmp(&dst_ts, &o.dst_ts, sizeof(dst_ts)); c != 0) {
    return c < 0;
  }
  return std::memcmp(&mark, &o.mark, sizeof(mark)) < 0;
}

DpState::DpState(SaTable& table, std::function<uint64_t()> now_s, IkeSender ike_sender)
    : table_(table), now_s_(std::move(now_s)), ike_sender_(std::move(ike_sender)) {}

HandleResult DpState::reply(std::span<uint8_t> out, uint32_t req_id, int32_t status,
                            std::span<const uint8_t> body, bool close) {
  return HandleResult{encodeReply(out, req_id, status, body), close};
}

HandleResult DpState::handle(ClientId client, const Request& req, std::span<uint8_t> out) {
  const bool hello_done = sessions_[client];
  if (req.type() == CG_DP_HELLO) {
    return onHello(client, req, out);
  }
  if (!hello_done) {
    log::get("dp")->warn("[client={}] {} before hello: closing", client,
                         msgTypeName(req.hdr.type));
    if (req.type() == CG_DP_IKE_TX) {
      return HandleResult{0, true};
    }
    return reply(out, req.hdr.req_id, EPROTO, {}, true);
  }
  switch (req.type()) {
    case CG_DP_GET_SPI: return onGetSpi(client, req, out);
    case CG_DP_ADD_SA: return onAddSa(client, req, out);
    case CG_DP_UPDATE_SA: return onUpdateSa(req, out);
    case CG_DP_DEL_SA: return onDelSa(req, out);
    case CG_DP_QUERY_SA: return onQuerySa(req, out);
    case CG_DP_ADD_POLICY: return onAddPolicy(client, req, out);
    case CG_DP_DEL_POLICY: return onDelPolicy(req, out);
    case CG_DP_QUERY_POLICY: return onQueryPolicy(req, out);
    case CG_DP_FLUSH: return onFlush(req, out);
    case CG_DP_IKE_TX:
      if (ike_sender_) {
        ike_sender_(req.body.ike, req.payload);
      }
      return HandleResult{};
    default:
      return reply(out, req.hdr.req_id, EOPNOTSUPP);
  }
}

HandleResult DpState::onHello(ClientId client, const Request& req, std::span<uint8_t> out) {
  cg_dp_hello mine{};
  mine.version = CG_DP_PROTO_VERSION;
  mine.pid = static_cast<uint32_t>(getpid());
  if (req.body.hello.version != CG_DP_PROTO_VERSION) {
    log::get("dp")->error("[client={}] protocol version {} (we speak {}): closing", client,
                          req.body.hello.version, CG_DP_PROTO_VERSION);
    return reply(out, req.hdr.req_id, EPROTO, asBytes(mine), true);
  }
  sessions_[client] = true;
  event_client_ = client;
  log::get("dp")->info("[client={}] hello from pid {}", client, req.body.hello.pid);
  return reply(out, req.hdr.req_id, 0, asBytes(mine));
}

HandleResult DpState::onGetSpi(ClientId client, const Request& req, std::span<uint8_t> out) {
  const cg_dp_get_spi& g = req.body.get_spi;
  auto spi = table_.allocateSpi(g.dst);
  if (!spi) {
    log::get("dp")->warn("get_spi: {}", spi.error().message);
    return reply(out, req.hdr.req_id, errnoOf(spi.error()));
  }
  OwnedSa rec{};
  rec.id.src = g.src;
  rec.id.dst = g.dst;
  rec.id.spi = *spi;
  rec.id.proto = g.proto;
  rec.owner = client;
  rec.reservation = true;
  sas_.push_back(rec);
  const uint32_t value = *spi;
  return reply(out, req.hdr.req_id, 0, asBytes(value));
}

int DpState::findSa(const SaKey& key) const {
  for (size_t i = 0; i < sas_.size(); ++i) {
    if (SaKey::of(sas_[i].id) == key) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void DpState::forgetSa(const SaKey& key) {
  int i = findSa(key);
  if (i >= 0) {
    sas_.erase(sas_.begin() + i);
  }
}

ClientId DpState::ownerOf(uint32_t spi, const cg_dp_addr& dst) const {
  int i = findSa(SaKey::of(spi, dst));
  return i >= 0 ? sas_[static_cast<size_t>(i)].owner : 0;
}

HandleResult DpState::onAddSa(ClientId client, const Request& req, std::span<uint8_t> out) {
  const cg_dp_add_sa& a = req.body.add_sa;
  auto config = SaConfig::fromWire(a, req.enc_key, req.int_key, req.src_ts, req.dst_ts);
  const std::string spi = spiText(a.id.spi);
  if (!config) {
    log::get("dp")->warn("[spi={}] add_sa refused: {}", spi, config.error().message);
    return reply(out, req.hdr.req_id, errnoOf(config.error()));
  }
  Status st = table_.install(std::move(*config), now_s_());
  if (!st) {
    log::get("dp")->warn("[spi={}] add_sa failed: {}", spi, st.error().message);
    return reply(out, req.hdr.req_id, errnoOf(st.error()));
  }
  const SaKey key = SaKey::of(a.id);
  int i = findSa(key);
  if (i >= 0) {
    sas_[static_cast<size_t>(i)].reservation = false;
    sas_[static_cast<size_t>(i)].id = a.id;
  } else {
    sas_.push_back(OwnedSa{a.id, client, false});
  }
  log::get("dp")->info("[spi={} if_id={} reqid={}] {} SA installed", spi, a.id.if_id, a.reqid,
                       (a.flags & CG_DP_SA_INBOUND) ? "inbound" : "outbound");
  return reply(out, req.hdr.req_id, 0);
}

HandleResult DpState::onUpdateSa(const Request& req, std::span<uint8_t> out) {
  const cg_dp_update_sa& u = req.body.update_sa;
  Status st = table_.update(u.id, u.new_src, u.new_dst, u.new_reqid);
  if (!st) {
    return reply(out, req.hdr.req_id, errnoOf(st.error()));
  }
  int i = findSa(SaKey::of(u.id));
  if (i >= 0) {
    sas_[static_cast<size_t>(i)].id.src = u.new_src;
    sas_[static_cast<size_t>(i)].id.dst = u.new_dst;
  }
  log::get("dp")->info("[spi={}] SA moved (ports {} -> {})", spiText(u.id.spi), u.new_src.port,
                       u.new_dst.port);
  return reply(out, req.hdr.req_id, 0);
}

HandleResult DpState::onDelSa(const Request& req, std::span<uint8_t> out) {
  const cg_dp_sa_id& id = req.body.del_sa.id;
  Status st = table_.remove(id);
  forgetSa(SaKey::of(id));
  if (!st) {
    return reply(out, req.hdr.req_id, errnoOf(st.error()));
  }
  log::get("dp")->info("[spi={}] SA deleted", spiText(id.spi));
  return reply(out, req.hdr.req_id, 0);
}

HandleResult DpState::onQuerySa(const Request& req, std::span<uint8_t> out) {
  auto stats = table_.query(req.body.query_sa.id);
  if (!stats) {
    return reply(out, req.hdr.req_id, errnoOf(stats.error()));
  }
  cg_dp_sa_stats s{};
  s.bytes = stats->bytes;
  s.packets = stats->packets;
  s.use_time = stats->use_time;
  return reply(out, req.hdr.req_id, 0, asBytes(s));
}

HandleResult DpState::onAddPolicy(ClientId client, const Request& req, std::span<uint8_t> out) {
  const cg_dp_policy& p = req.body.policy;
  auto& uses = policies_[PolicyKey::of(p)];
  PolicyUse use{client, p.priority, p.type, p.reqid, p.spi};
  // Stable: among equal priorities the earlier installation stays active.
  auto at = std::upper_bound(uses.begin(), uses.end(), use, [](const auto& a, const auto& b) {
    return a.priority < b.priority;
  });
  uses.insert(at, use);
  return reply(out, req.hdr.req_id, 0);
}

HandleResult DpState::onDelPolicy(const Request& req, std::span<uint8_t> out) {
  const cg_dp_policy& p = req.body.policy;
  auto it = policies_.find(PolicyKey::of(p));
  if (it == policies_.end()) {
    return reply(out, req.hdr.req_id, ENOENT);
  }
  auto& uses = it->second;
  // The installation with the same priority, type and reqid; else the most recent one.
  auto match = std::find_if(uses.rbegin(), uses.rend(), [&](const PolicyUse& u) {
    return u.priority == p.priority && u.type == p.type && u.reqid == p.reqid;
  });
  if (match == uses.rend()) {
    match = uses.rbegin();
  }
  uses.erase(std::next(match).base());
  if (uses.empty()) {
    policies_.erase(it);
  }
  return reply(out, req.hdr.req_id, 0);
}

uint64_t DpState::policyUseTime(const PolicyKey& key, const PolicyUse& use) const {
  const bool outbound = key.dir == CG_DP_DIR_OUT;
  uint64_t best = 0;
  auto snap = table_.snapshot();
  for (const SaEntry& e : snap->entries()) {
    const Sa& sa = *e.sa;
    if (sa.inbound() == outbound) {
      continue;
    }
    const bool match = (use.spi != 0 && outbound) ? sa.spi() == use.spi
                       : use.reqid != 0           ? sa.reqid() == use.reqid
                                                  : sa.ifId() == key.if_id;
    if (match) {
      best = std::max(best, sa.stats().use_time);
    }
  }
  return best;
}

HandleResult DpState::onQueryPolicy(const Request& req, std::span<uint8_t> out) {
  const PolicyKey key = PolicyKey::of(req.body.policy);
  auto it = policies_.find(key);
  if (it == policies_.end()) {
    return reply(out, req.hdr.req_id, ENOENT);
  }
  cg_dp_policy_stats s{};
  s.use_time = policyUseTime(key, it->second.front());
  return reply(out, req.hdr.req_id, 0, asBytes(s));
}

HandleResult DpState::onFlush(const Request& req, std::span<uint8_t> out) {
  table_.flush();
  sas_.clear();
  policies_.clear();
  log::get("dp")->info("flushed all SAs and policies");
  return reply(out, req.hdr.req_id, 0);
}

void DpState::clientGone(ClientId client) {
  sessions_.erase(client);
  if (event_client_ == client) {
    event_client_ = 0;
  }
  size_t dropped = 0;
  for (auto it = sas_.begin(); it != sas_.end();) {
    if (it->owner == client) {
      (void)table_.remove(it->id);
      it = sas_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  size_t dropped_policies = 0;
  for (auto it = policies_.begin(); it != policies_.end();) {
    auto& uses = it->second;
    const size_t before = uses.size();
    std::erase_if(uses, [client](const PolicyUse& u) { return u.owner == client; });
    dropped_policies += before - uses.size();
    it = uses.empty() ? policies_.erase(it) : std::next(it);
  }
  log::get("dp")->info("[client={}] disconnected: dropped {} SAs/reservations, {} policies",
                       client, dropped, dropped_policies);
}

size_t DpState::policyCount() const {
  size_t n = 0;
  for (const auto& [key, uses] : policies_) {
    n += uses.size();
  }
  return n;
}

const PolicyUse* DpState::activePolicy(const PolicyKey& key) const {
  auto it = policies_.find(key);
  return it == policies_.end() ? nullptr : &it->second.front();
}

}  // namespace crossgate::dataplane
