#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "crossgate/dataplane/sa.h"
#include "esp_crypto.h"

namespace crossgate::dataplane {
namespace {

size_t addrLen(uint8_t family) { return family == 6 ? 16 : 4; }

bool sameAddr(const cg_dp_addr& a, uint8_t family, const std::array<uint8_t, 16>& bytes) {
  return a.family == family && std::memcmp(a.addr, bytes.data(), addrLen(family)) == 0;
}

bool crossed(uint64_t before, uint64_t added, uint64_t limit) {
  return limit != 0 && before < limit && before + added >= limit;
}

Status validateTs(const TrafficSelector& ts, const char* list, size_t index) {
  const size_t n = addrLen(ts.family);
  if ((ts.family != 4 && ts.family != 6) || std::memcmp(ts.from.data(), ts.to.data(), n) > 0 ||
      ts.from_port > ts.to_port) {
    return makeError(Errc::kInvalidArgument,
                     fmt::format("{}[{}]: invalid traffic selector (family {}, empty address or "
                                 "port range)",
                                 list, index, ts.family));
  }
  return okStatus();
}

Status parseTsList(std::span<const uint8_t> bytes, const char* list,
                   std::vector<TrafficSelector>* out) {
  if (bytes.size() % sizeof(cg_dp_ts) != 0) {
    return makeError(
        Errc::kInvalidArgument,
        fmt::format("{}: {} bytes is not a whole number of selectors", list, bytes.size()));
  }
  for (size_t i = 0; i < bytes.size() / sizeof(cg_dp_ts); ++i) {
    cg_dp_ts wire;
    std::memcpy(&wire, bytes.data() + i * sizeof(cg_dp_ts), sizeof(wire));
    if (wire.from.family != wire.to.family) {
      return makeError(Errc::kInvalidArgument,
                       fmt::format("{}[{}]: from/to address families differ", list, i));
    }
    out->push_back(TrafficSelector::fromWire(wire));
  }
  return okStatus();
}

// Maps the IKEv2 transform ids of an ADD_SA onto the algorithms the dataplane implements.
Status parseTransforms(const cg_dp_add_sa& msg, SaConfig* c) {
  switch (msg.enc_alg) {
    case kEncrAesGcm16:
      c->cipher = EspCipher::kAesGcm16;
      break;
    case kEncrAesCbc:
      c->cipher = EspCipher::kAesCbc;
      break;
    default:
      return makeError(Errc::kInvalidArgument,
                       fmt::format("add_sa: encryption transform {} unsupported (12 = AES-CBC, "
                                   "20 = AES-GCM-16)",
                                   msg.enc_alg));
  }
  switch (msg.int_alg) {
    case 0:
      c->integrity = EspIntegrity::kNone;
      break;
    case kAuthHmacSha1_96:
      c->integrity = EspIntegrity::kHmacSha1_96;
      break;
    case kAuthHmacSha256_128:
      c->integrity = EspIntegrity::kHmacSha256_128;
      break;
    case kAuthHmacSha384_192:
      c->integrity = EspIntegrity::kHmacSha384_192;
      break;
    case kAuthHmacSha512_256:
      c->integrity = EspIntegrity::kHmacSha512_256;
      break;
    default:
      return makeError(Errc::kInvalidArgument,
                       fmt::format("add_sa: integrity transform {} unsupported", msg.int_alg));
  }
  return okStatus();
}

// Key lengths for the SA's algorithms (never the key bytes themselves in errors).
Status validateKeys(const SaConfig& c) {
  const size_t key_len = c.enc_key.size();
  if (c.cipher == EspCipher::kAesGcm16) {
    if (key_len != 20 && key_len != 28 && key_len != 36) {
      return makeError(Errc::kInvalidArgument,
                       fmt::format("sa: aes-gcm-16 key is {} bytes, expected 20, 28 or 36 "
                                   "(key + 4-byte salt)",
                                   key_len));
    }
    if (c.integrity != EspIntegrity::kNone || !c.int_key.empty()) {
      return makeError(Errc::kInvalidArgument, "sa: aes-gcm-16 takes no integrity algorithm");
    }
  } else {
    if (key_len != 16 && key_len != 24 && key_len != 32) {
      return makeError(Errc::kInvalidArgument,
                       fmt::format("sa: aes-cbc key is {} bytes, expected 16, 24 or 32", key_len));
    }
    IntegrityInfo info = integrityInfo(c.integrity);
    if (info.digest == nullptr) {
      return makeError(Errc::kInvalidArgument, "sa: aes-cbc needs an integrity algorithm");
    }
    if (c.int_key.size() != info.key_len) {
      return makeError(Errc::kInvalidArgument,
                       fmt::format("sa: {} key is {} bytes, expected {}",
                                   integrityName(c.integrity), c.int_key.size(), info.key_len));
    }
  }
  return okStatus();
}

}  // namespace

std::string_view cipherName(EspCipher cipher) noexcept {
  return cipher == EspCipher::kAesGcm16 ? "aes-gcm-16" : "aes-cbc";
}

std::string_view integrityName(EspIntegrity integrity) noexcept {
  switch (integrity) {
    case EspIntegrity::kNone:
      return "none";
    case EspIntegrity::kHmacSha1_96:
      return "hmac-sha1-96";
    case EspIntegrity::kHmacSha256_128:
      return "hmac-sha2-256-128";
    case EspIntegrity::kHmacSha384_192:
      return "hmac-sha2-384-192";
    case EspIntegrity::kHmacSha512_256:
      return "hmac-sha2-512-256";
  }
  return "invalid";
}

// ---- TrafficSelector, SaKey ----

TrafficSelector TrafficSelector::fromWire(const cg_dp_ts& ts) noexcept {
  TrafficSelector out;
  out.family = ts.from.family;
  out.protocol = ts.protocol;
  out.from_port = ts.from_port;
  out.to_port = ts.to_port;
  std::memcpy(out.from.data(), ts.from.addr, addrLen(out.family));
  std::memcpy(out.to.data(), ts.to.addr, addrLen(out.family));
  return out;
}

bool TrafficSelector::containsAddress(uint8_t addr_family, const uint8_t* addr) const noexcept {
  if (addr_family != family) {
    return false;
  }
  const size_t n = addrLen(family);
  return std::memcmp(addr, from.data(), n) >= 0 && std::memcmp(addr, to.data(), n) <= 0;
}

SaKey SaKey::of(uint32_t spi, const cg_dp_addr& dst) noexcept {
  SaKey key;
  key.spi = spi;
  key.family = dst.family;
  std::memcpy(key.dst.data(), dst.addr, addrLen(dst.family));
  return key;
}

SaKey SaKey::of(const cg_dp_sa_id& id) noexcept { return of(id.spi, id.dst); }

// ---- SaConfig ----

Result<SaConfig> SaConfig::fromWire(const cg_dp_add_sa& msg, std::span<const uint8_t> enc_key,
                                    std::span<const uint8_t> int_key,
                                    std::span<const uint8_t> src_ts_bytes,
                                    std::span<const uint8_t> dst_ts_bytes) {
  SaConfig c;
  if (msg.id.proto != 50) {
    return makeError(Errc::kInvalidArgument,
                     fmt::format("add_sa: protocol {} is not ESP (50)", msg.id.proto));
  }
  if (msg.mode != 1) {
    return makeError(Errc::kInvalidArgument,
                     fmt::format("add_sa: mode {} unsupported (only tunnel mode, 1)", msg.mode));
  }
  if (Status st = parseTransforms(msg, &c); !st) {
    return std::move(st).error();
  }
  if (enc_key.size() != msg.enc_key_len || int_key.size() != msg.int_key_len) {
    return makeError(Errc::kInvalidArgument, "add_sa: key spans do not match the key lengths");
  }
  c.src = msg.id.src;
  c.dst = msg.id.dst;
  c.spi = msg.id.spi;
  c.if_id = msg.id.if_id;
  c.mark = msg.id.mark;
  c.reqid = msg.reqid;
  c.flags = msg.flags;
  c.inbound = (msg.flags & CG_DP_SA_INBOUND) != 0;
  c.esn = (msg.flags & CG_DP_SA_ESN) != 0;
  c.enc_key = Secret(enc_key);
  c.int_key = Secret(int_key);
  c.replay_window = msg.replay_window;
  c.lifetime = msg.lifetime;
  c.set_mark = msg.set_mark;
  if (Status s = parseTsList(src_ts_bytes, "add_sa: src_ts", &c.src_ts); !s) {
    return std::move(s).error();
  }
  if (Status s = parseTsList(dst_ts_bytes, "add_sa: dst_ts", &c.dst_ts); !s) {
    return std::move(s).error();
  }
  if (Status s = c.validate(); !s) {
    return std::move(s).error();
  }
  return c;
}

Status SaConfig::validate() const {
  if (spi == 0) {
    return makeError(Errc::kInvalidArgument, "sa: spi 0");
  }
  if ((dst.family != 4 && dst.family != 6) || src.family != dst.family) {
    return makeError(Errc::kInvalidArgument, "sa: src/dst address family invalid or different");
  }
  if (Status st = validateKeys(*this); !st) {
    return st;
  }
  if (replay_window > ReplayWindow::kMaxWindow) {
    return makeError(Errc::kInvalidArgument,
                     fmt::format("sa: replay window {} exceeds the maximum {}", replay_window,
                                 ReplayWindow::kMaxWindow));
  }
  if (inbound && (src_ts.empty() || dst_ts.empty())) {
    return makeError(Errc::kInvalidArgument,
                     "sa: an inbound SA needs source and destination traffic selectors");
  }
  for (size_t i = 0; i < src_ts.size(); ++i) {
    if (Status s = validateTs(src_ts[i], "sa: src_ts", i); !s) {
      return s;
    }
  }
  for (size_t i = 0; i < dst_ts.size(); ++i) {
    if (Status s = validateTs(dst_ts[i], "sa: dst_ts", i); !s) {
      return s;
    }
  }
  return okStatus();
}

// ---- Sa ----

Sa::Sa(SaConfig config, uint64_t now_s) : config_(std::move(config)), install_time_(now_s) {
  reqid_.store(config_.reqid, std::memory_order_relaxed);
}

Sa::~Sa() = default;  // config_'s Secrets wipe themselves; SaCrypto frees (and cleanses) contexts

uint32_t Sa::headerLength() const noexcept { return 8 + crypto_->ivLen(); }

uint32_t Sa::overhead(uint32_t inner_len) const noexcept {
  const uint32_t align = crypto_->align();
  const uint32_t padded = (inner_len + 2 + align - 1) / align * align;
  return 8 + crypto_->ivLen() + (padded - inner_len) + crypto_->icvLen();
}

uint32_t Sa::maxInnerLength(uint32_t outer_mtu) const noexcept {
  const uint32_t outer_headers = (config_.dst.family == 6 ? 40 : 20) + 8;
  const uint32_t fixed = outer_headers + 8 + crypto_->ivLen() + crypto_->icvLen();
  const uint32_t align = crypto_->align();
  if (outer_mtu < fixed + align) {
    return 0;
  }
  // The padded payload is a multiple of the alignment and carries pad length + next header.
  const uint32_t payload = (outer_mtu - fixed) / align * align;
  return payload - 2;
}

SaStats Sa::stats() const noexcept {
  return {bytes_.load(std::memory_order_relaxed), packets_.load(std::memory_order_relaxed),
          use_time_.load(std::memory_order_relaxed)};
}

bool Sa::account(uint64_t bytes, uint64_t now_s) noexcept {
  const uint64_t b0 = bytes_.fetch_add(bytes, std::memory_order_relaxed);
  const uint64_t p0 = packets_.fetch_add(1, std::memory_order_relaxed);
  if (use_time_.load(std::memory_order_relaxed) != now_s) {
    use_time_.store(now_s, std::memory_order_relaxed);
  }
  const cg_dp_lifetime& lt = config_.lifetime;
  uint8_t edge = 0;
  if (crossed(b0, bytes, lt.bytes_soft) || crossed(p0, 1, lt.packets_soft)) {
    edge |= kSoftReached;
  }
  if (crossed(b0, bytes, lt.bytes_hard) || crossed(p0, 1, lt.packets_hard)) {
    edge |= kHardReached;
  }
  if (edge == 0) {
    return false;
  }
  flags_.fetch_or(edge, std::memory_order_relaxed);
  return true;
}

// ---- SaSnapshot ----

const SaEntry* SaSnapshot::findInbound(uint32_t spi, const cg_dp_addr* local) const noexcept {
  auto it = std::lower_bound(inbound_.begin(), inbound_.end(), std::make_pair(spi, 0u));
  if (it == inbound_.end() || it->first != spi) {
    return nullptr;
  }
  const SaEntry& e = entries_[it->second];
  if (local != nullptr && (local->family != e.dst.family ||
                           std::memcmp(local->addr, e.dst.addr, addrLen(local->family)) != 0)) {
    return nullptr;
  }
  return &e;
}

const SaEntry* SaSnapshot::findOutbound(uint32_t if_id) const noexcept {
  auto it = std::lower_bound(outbound_.begin(), outbound_.end(), std::make_pair(if_id, 0u));
  if (it == outbound_.end() || it->first != if_id) {
    return nullptr;
  }
  return &entries_[it->second];
}

// ---- SaTable ----

SaTable::SaTable(unsigned num_workers) : num_workers_(num_workers == 0 ? 1 : num_workers) {
  current_ = std::make_shared<const SaSnapshot>();
}

SaTable::~SaTable() = default;

void SaTable::lockCurrent() const noexcept {
  while (current_lock_.test_and_set(std::memory_order_acquire)) {
    while (current_lock_.test(std::memory_order_relaxed)) {
    }
  }
}

std::shared_ptr<const SaSnapshot> SaTable::snapshot() const noexcept {
  lockCurrent();
  std::shared_ptr<const SaSnapshot> snap = current_;
  current_lock_.clear(std::memory_order_release);
  return snap;
}

int SaTable::findLocked(const SaKey& key) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].sa->spi() == key.spi && sameAddr(entries_[i].dst, key.family, key.dst)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void SaTable::publishLocked() {
  auto snap = std::make_shared<SaSnapshot>();
  snap->entries_ = entries_;
  snap->generation_ = ++generation_;
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    const Sa& sa = *entries_[i].sa;
    if (sa.inbound()) {
      snap->inbound_.emplace_back(sa.spi(), i);
    } else {
      // entries_ is in install order: a later SA of the same if_id replaces an earlier one.
      auto it = std::find_if(snap->outbound_.begin(), snap->outbound_.end(),
                             [&](const auto& p) { return p.first == sa.ifId(); });
      if (it != snap->outbound_.end()) {
        it->second = i;
      } else {
        snap->outbound_.emplace_back(sa.ifId(), i);
      }
    }
  }
  std::sort(snap->inbound_.begin(), snap->inbound_.end());
  std::sort(snap->outbound_.begin(), snap->outbound_.end());
  std::shared_ptr<const SaSnapshot> published(std::move(snap));
  lockCurrent();
  current_.swap(published);
  current_lock_.clear(std::memory_order_release);
  // `published` now holds the previous snapshot; it is released here, outside the spinlock.
}

Result<uint32_t> SaTable::allocateSpi(const cg_dp_addr& dst) {
  std::lock_guard lock(mutex_);
  for (int attempt = 0; attempt < 64; ++attempt) {
    uint32_t r = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof(r)) != 1) {
      return makeError(Errc::kInternal, "get_spi: random generator failed");
    }
    const uint32_t spi = htonl(0xc0000000u | (r & 0x0fffffffu));
    const bool used =
        std::any_of(entries_.begin(), entries_.end(),
                    [&](const SaEntry& e) { return e.sa->inbound() && e.sa->spi() == spi; }) ||
        std::any_of(reserved_.begin(), reserved_.end(),
                    [&](const SaKey& k) { return k.spi == spi; });
    if (!used) {
      reserved_.push_back(SaKey::of(spi, dst));
      return spi;
    }
  }
  return makeError(Errc::kUnavailable, "get_spi: no free SPI found");
}

Status SaTable::install(SaConfig config, uint64_t now_s) {
  if (Status s = config.validate(); !s) {
    return s;
  }
  const SaKey key = SaKey::of(config.spi, config.dst);
  std::lock_guard lock(mutex_);
  if (findLocked(key) >= 0) {
    return makeError(Errc::kAlreadyExists,
                     fmt::format("sa spi 0x{:08x}: already installed", ntohl(config.spi)));
  }
  if (config.inbound && std::any_of(entries_.begin(), entries_.end(), [&](const SaEntry& e) {
        return e.sa->inbound() && e.sa->spi() == config.spi;
      })) {
    return makeError(Errc::kAlreadyExists,
                     fmt::format("sa spi 0x{:08x}: inbound SPI in use", ntohl(config.spi)));
  }
  auto crypto = SaCrypto::create(config, num_workers_);
  if (!crypto) {
    return std::move(crypto).error();
  }
  std::shared_ptr<Sa> sa(new Sa(std::move(config), now_s));
  sa->crypto_ = std::move(crypto).value();
  if (!sa->replay_.init(sa->config_.inbound ? sa->config_.replay_window : 0, sa->config_.esn)) {
    return makeError(Errc::kInvalidArgument, "sa: replay window too large");
  }
  std::erase_if(reserved_, [&](const SaKey& k) { return k == key; });
  SaEntry entry;
  entry.src = sa->config_.src;
  entry.dst = sa->config_.dst;
  entry.sa = std::move(sa);
  entries_.push_back(std::move(entry));
  publishLocked();
  return okStatus();
}

Status SaTable::update(const cg_dp_sa_id& id, const cg_dp_addr& new_src, const cg_dp_addr& new_dst,
                       uint32_t new_reqid) {
  if ((new_dst.family != 4 && new_dst.family != 6) || new_src.family != new_dst.family) {
    return makeError(Errc::kInvalidArgument, "update_sa: new address families invalid");
  }
  std::lock_guard lock(mutex_);
  const int index = findLocked(SaKey::of(id));
  if (index < 0) {
    return makeError(Errc::kNotFound, fmt::format("update_sa: no sa spi 0x{:08x}", ntohl(id.spi)));
  }
  const int other = findLocked(SaKey::of(id.spi, new_dst));
  if (other >= 0 && other != index) {
    return makeError(
        Errc::kAlreadyExists,
        fmt::format("update_sa: spi 0x{:08x} already at the new destination", ntohl(id.spi)));
  }
  SaEntry& e = entries_[static_cast<size_t>(index)];
  e.src = new_src;
  e.dst = new_dst;
  if (new_reqid != 0) {
    e.sa->reqid_.store(new_reqid, std::memory_order_relaxed);
  }
  publishLocked();
  return okStatus();
}

Status SaTable::remove(const cg_dp_sa_id& id) {
  const SaKey key = SaKey::of(id);
  std::lock_guard lock(mutex_);
  const int index = findLocked(key);
  if (index >= 0) {
    entries_.erase(entries_.begin() + index);
    publishLocked();
    return okStatus();
  }
  if (std::erase_if(reserved_, [&](const SaKey& k) { return k == key; }) > 0) {
    return okStatus();
  }
  return makeError(Errc::kNotFound, fmt::format("del_sa: no sa spi 0x{:08x}", ntohl(id.spi)));
}

Result<SaStats> SaTable::query(const cg_dp_sa_id& id) const {
  std::lock_guard lock(mutex_);
  const int index = findLocked(SaKey::of(id));
  if (index < 0) {
    return makeError(Errc::kNotFound, fmt::format("query_sa: no sa spi 0x{:08x}", ntohl(id.spi)));
  }
  return entries_[static_cast<size_t>(index)].sa->stats();
}

void SaTable::flush() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  reserved_.clear();
  publishLocked();
}

void SaTable::collectExpires(uint64_t now_s, std::vector<SaExpire>* out) {
  std::lock_guard lock(mutex_);
  for (const SaEntry& e : entries_) {
    Sa& sa = *e.sa;
    const cg_dp_lifetime& lt = sa.config_.lifetime;
    const uint64_t age = now_s >= sa.install_time_ ? now_s - sa.install_time_ : 0;
    uint8_t reached = 0;
    if (lt.time_soft_s != 0 && age >= lt.time_soft_s) {
      reached |= Sa::kSoftReached;
    }
    if (lt.time_hard_s != 0 && age >= lt.time_hard_s) {
      reached |= Sa::kHardReached;
    }
    const uint8_t flags = sa.flags_.fetch_or(reached, std::memory_order_relaxed) | reached;
    SaExpire ev{sa.spi(), e.dst, sa.reqid(), sa.inbound(), false};
    if ((flags & Sa::kHardReached) && !(flags & Sa::kHardReported)) {
      // A hard expiry supersedes a soft one not yet reported.
      sa.flags_.fetch_or(Sa::kHardReported | Sa::kSoftReported, std::memory_order_relaxed);
      ev.hard = true;
      out->push_back(ev);
    } else if ((flags & Sa::kSoftReached) && !(flags & Sa::kSoftReported)) {
      sa.flags_.fetch_or(Sa::kSoftReported, std::memory_order_relaxed);
      out->push_back(ev);
    }
  }
}

}  // namespace crossgate::dataplane
