// Security associations (ESP, tunnel mode): the immutable configuration charon installs, the
// per-SA mutable state the workers share, and the SA table the control thread publishes as
// immutable snapshots.
//
// Threading model
//  - One or more control threads (the plugin protocol server, the expiry timer) call SaTable's
//    mutators; they serialise on an internal mutex and publish a new immutable SaSnapshot
//    (a shared_ptr swapped under a tiny spinlock, see current_). Workers load the snapshot once
//    per batch and never take the table mutex. An SA removed from the table lives on until the
//    last snapshot that references it is released (possibly by a worker, at the end of its
//    batch); its keys are wiped and its cipher contexts freed in its destructor.
//  - Per-SA mutable state lives in the Sa object, outside the snapshot: the outbound sequence
//    number (atomic fetch_add), the anti-replay window (behind a per-SA spinlock held for a few
//    dozen instructions: the pre-decrypt check and the post-ICV check-and-advance), and the
//    counters (relaxed atomics).
//  - Cipher contexts (EVP_CIPHER_CTX, EVP_MAC_CTX) are not thread-safe, so each SA keeps one
//    pre-keyed set per worker, created at install time; worker i uses only set i.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "crossgate/common/result.h"
#include "crossgate/common/secret.h"
#include "crossgate/dataplane/dp_proto.h"
#include "crossgate/dataplane/replay_window.h"

namespace crossgate::dataplane {

// IKEv2 transform ids (RFC 7296 §3.3.2, IANA) the dataplane implements.
inline constexpr uint16_t kEncrAesCbc = 12;
inline constexpr uint16_t kEncrAesGcm16 = 20;
inline constexpr uint16_t kAuthHmacSha1_96 = 2;
inline constexpr uint16_t kAuthHmacSha256_128 = 12;
inline constexpr uint16_t kAuthHmacSha384_192 = 13;
inline constexpr uint16_t kAuthHmacSha512_256 = 14;

enum class EspCipher : uint8_t { kAesGcm16, kAesCbc };
enum class EspIntegrity : uint8_t {
  kNone,  // AEAD
  kHmacSha1_96,
  kHmacSha256_128,
  kHmacSha384_192,
  kHmacSha512_256,
};

// "aes-gcm-16", "aes-cbc"; "none", "hmac-sha1-96", "hmac-sha2-256-128", ...
std::string_view cipherName(EspCipher cipher) noexcept;
std::string_view integrityName(EspIntegrity integrity) noexcept;

// One traffic selector: an address range, a protocol (0 = any) and a port range (for ICMP and
// ICMPv6 the "port" is type << 8 | code, as strongSwan encodes it).
struct TrafficSelector {
  uint8_t family = 4;  // 4 or 6
  uint8_t protocol = 0;
  uint16_t from_port = 0;
  uint16_t to_port = 65535;
  std::array<uint8_t, 16> from{};  // network order; IPv4 in the first 4 bytes
  std::array<uint8_t, 16> to{};

  static TrafficSelector fromWire(const cg_dp_ts& ts) noexcept;
  bool anyPort() const noexcept { return from_port == 0 && to_port == 65535; }
  // addr: 4 or 16 bytes, network order, of the given family.
  bool containsAddress(uint8_t addr_family, const uint8_t* addr) const noexcept;
};

// What identifies an SA in the table: (SPI, destination address); ports do not count.
struct SaKey {
  uint32_t spi = 0;  // network order
  uint8_t family = 0;
  std::array<uint8_t, 16> dst{};

  static SaKey of(const cg_dp_sa_id& id) noexcept;
  static SaKey of(uint32_t spi, const cg_dp_addr& dst) noexcept;
  bool operator==(const SaKey&) const = default;
};

// An SA as charon installs it (CG_DP_ADD_SA), validated.
struct SaConfig {
  cg_dp_addr src{};  // with the UDP encapsulation port
  cg_dp_addr dst{};
  uint32_t spi = 0;  // network order
  uint32_t if_id = 0;
  uint32_t reqid = 0;
  cg_dp_mark mark{};
  cg_dp_mark set_mark{};
  uint32_t flags = 0;  // enum cg_dp_sa_flags as received
  bool inbound = false;
  bool esn = false;
  EspCipher cipher = EspCipher::kAesGcm16;
  EspIntegrity integrity = EspIntegrity::kNone;
  Secret enc_key;  // as charon hands it: for GCM the 4-byte salt is at the end
  Secret int_key;
  uint32_t replay_window = ReplayWindow::kDefaultWindow;  // packets, 0 = off
  cg_dp_lifetime lifetime{};                              // 0 = no limit
  std::vector<TrafficSelector> src_ts;  // inner source must match one (inbound enforcement)
  std::vector<TrafficSelector> dst_ts;  // inner destination must match one

  // Builds and validates a config from a decoded ADD_SA. The TS spans hold packed cg_dp_ts
  // records (any alignment). Errors name the field (never key bytes): unsupported transform,
  // wrong key length, mode not tunnel, replay window too large, inbound SA without selectors.
  static Result<SaConfig> fromWire(const cg_dp_add_sa& msg, std::span<const uint8_t> enc_key,
                                   std::span<const uint8_t> int_key,
                                   std::span<const uint8_t> src_ts_bytes,
                                   std::span<const uint8_t> dst_ts_bytes);
  Status validate() const;
};

// Cumulative per-SA counters (QUERY_SA). bytes count inner IP packets (what was encrypted, or
// what was delivered after decryption); use_time is CLOCK_MONOTONIC seconds of the last packet.
struct SaStats {
  uint64_t bytes = 0;
  uint64_t packets = 0;
  uint64_t use_time = 0;
};

// A lifetime edge the daemon turns into CG_DP_EV_EXPIRE. Each SA yields at most one soft and
// one hard event (time, bytes, packets or, for outbound SAs, sequence number exhaustion).
struct SaExpire {
  uint32_t spi = 0;  // network order
  cg_dp_addr dst{};
  uint32_t reqid = 0;
  bool inbound = false;
  bool hard = false;
};

class SaCrypto;  // per-worker cipher contexts (esp_crypto.h)

class Sa {
 public:
  ~Sa();
  Sa(const Sa&) = delete;
  Sa& operator=(const Sa&) = delete;

  // Keys inside: never log or print the config as a whole.
  const SaConfig& config() const noexcept { return config_; }
  uint32_t spi() const noexcept { return config_.spi; }
  bool inbound() const noexcept { return config_.inbound; }
  uint32_t ifId() const noexcept { return config_.if_id; }
  // The reqid charon gave (UPDATE_SA may change it).
  uint32_t reqid() const noexcept { return reqid_.load(std::memory_order_relaxed); }
  uint64_t installTime() const noexcept { return install_time_; }
  // ESP header bytes in front of the payload: SPI, sequence number and IV (16 GCM, 24 CBC).
  uint32_t headerLength() const noexcept;
  // Bytes ESP adds to an inner packet of `inner_len` bytes (header, IV, padding, trailer, ICV),
  // for MTU decisions. Outer IP/UDP not included.
  uint32_t overhead(uint32_t inner_len) const noexcept;
  // The largest inner packet whose ESP-in-UDP datagram (RFC 3948: outer IPv4 or IPv6 header by
  // the SA's address family, UDP header, ESP header, IV, padded payload, ICV) is at most
  // outer_mtu bytes; 0 if none fits. With outer_mtu 1500 and a tunnel MTU of 1436 this is what
  // keeps AES-CBC with the longer ICVs off the 1500-byte limit (e.g. 1406 for HMAC-SHA2-512).
  uint32_t maxInnerLength(uint32_t outer_mtu) const noexcept;

  SaStats stats() const noexcept;
  // True once a hard limit was reached: the SA then drops every packet (sa_expired).
  bool hardExpired() const noexcept {
    return (flags_.load(std::memory_order_relaxed) & kHardReached) != 0;
  }
  // Outbound only: the next sequence number that will be sent.
  uint64_t nextSequence() const noexcept { return next_seq_.load(std::memory_order_relaxed); }

  // Packet-path internals (esp_encrypt.cc, esp_decrypt.cc). Not for the daemon.
  struct Internals;

 private:
  friend class SaTable;
  friend struct Internals;
  Sa(SaConfig config, uint64_t now_s);

  static constexpr uint8_t kSoftReached = 1;   // a soft limit was crossed
  static constexpr uint8_t kHardReached = 2;   // a hard limit was crossed (SA refuses)
  static constexpr uint8_t kSoftReported = 4;  // collectExpires() returned the soft event
  static constexpr uint8_t kHardReported = 8;

  // Counts one packet of `bytes`; returns true if this crossed a soft or hard edge.
  bool account(uint64_t bytes, uint64_t now_s) noexcept;

  SaConfig config_;
  uint64_t install_time_ = 0;
  std::atomic<uint32_t> reqid_{0};
  std::unique_ptr<SaCrypto> crypto_;

  alignas(64) std::atomic<uint64_t> next_seq_{1};
  alignas(64) std::atomic_flag replay_lock_ = ATOMIC_FLAG_INIT;
  ReplayWindow replay_;
  alignas(64) std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> packets_{0};
  std::atomic<uint64_t> use_time_{0};
  std::atomic<uint8_t> flags_{0};
};

// One SA as a snapshot shows it: the SA plus its current endpoints (UPDATE_SA moves them
// without touching the SA's sequence or replay state).
struct SaEntry {
  std::shared_ptr<Sa> sa;
  cg_dp_addr src{};  // current source address:port (outbound: ours; inbound: the peer's)
  cg_dp_addr dst{};  // current destination address:port (outbound: the peer's; inbound: ours)
};

// An immutable view of the table. Workers hold one for the duration of a batch.
class SaSnapshot {
 public:
  // Inbound SA by SPI (network order). With `local` set, also requires its address to be the
  // SA's destination. nullptr if none.
  const SaEntry* findInbound(uint32_t spi, const cg_dp_addr* local = nullptr) const noexcept;
  // The outbound SA of an if_id: the most recently installed one still in the table.
  const SaEntry* findOutbound(uint32_t if_id) const noexcept;
  std::span<const SaEntry> entries() const noexcept { return entries_; }
  uint64_t generation() const noexcept { return generation_; }

 private:
  friend class SaTable;
  std::vector<SaEntry> entries_;
  std::vector<std::pair<uint32_t, uint32_t>> inbound_;   // (spi, index), sorted
  std::vector<std::pair<uint32_t, uint32_t>> outbound_;  // (if_id, index of newest), sorted
  uint64_t generation_ = 0;
};

class SaTable {
 public:
  // num_workers: how many workers will run the packet path (worker indexes 0..num_workers-1);
  // every SA gets that many cipher context sets.
  explicit SaTable(unsigned num_workers);
  ~SaTable();
  SaTable(const SaTable&) = delete;
  SaTable& operator=(const SaTable&) = delete;

  unsigned numWorkers() const noexcept { return num_workers_; }

  // ---- control plane (thread-safe; each call publishes a new snapshot when it changes one) ----
  // GET_SPI: a random unused inbound SPI in [0xc0000000, 0xcfffffff], network order, reserved
  // until an ADD_SA with CG_DP_SA_UPDATE installs it or remove() releases it.
  Result<uint32_t> allocateSpi(const cg_dp_addr& dst);
  // ADD_SA. kAlreadyExists if (spi, dst) is installed; kInvalidArgument for a bad config;
  // kInternal if the cipher library refuses the keys. now_s: CLOCK_MONOTONIC seconds.
  Status install(SaConfig config, uint64_t now_s);
  // UPDATE_SA: moves the SA to new endpoints (keeps sequence numbers, replay state, counters).
  Status update(const cg_dp_sa_id& id, const cg_dp_addr& new_src, const cg_dp_addr& new_dst,
                uint32_t new_reqid);
  // DEL_SA (also releases an SPI reservation). kNotFound if neither exists.
  Status remove(const cg_dp_sa_id& id);
  // QUERY_SA.
  Result<SaStats> query(const cg_dp_sa_id& id) const;
  // FLUSH, or the plugin disconnected: drops every SA and reservation.
  void flush();
  // Appends the lifetime edges reached since the last call: time limits against now_s, byte,
  // packet and sequence limits the workers crossed. Each SA yields at most one soft and one hard
  // event; after a hard one the SA refuses all packets until removed. Call it periodically
  // (every 100-500 ms) and when a worker reports EspWorker::takeExpireEdge().
  void collectExpires(uint64_t now_s, std::vector<SaExpire>* out);

  // ---- packet path ----
  // The current snapshot (never null). Load once per batch.
  std::shared_ptr<const SaSnapshot> snapshot() const noexcept;

 private:
  void publishLocked();
  void lockCurrent() const noexcept;
  int findLocked(const SaKey& key) const;

  const unsigned num_workers_;
  mutable std::mutex mutex_;
  std::vector<SaEntry> entries_;  // install order (oldest first)
  std::vector<SaKey> reserved_;
  uint64_t generation_ = 0;
  // The published snapshot. Readers copy the shared_ptr under a pointer-sized spinlock held for
  // one reference-count increment (what std::atomic<std::shared_ptr> does internally, here
  // with release ordering on unlock); the table mutex is never taken on the packet path.
  mutable std::atomic_flag current_lock_ = ATOMIC_FLAG_INIT;
  std::shared_ptr<const SaSnapshot> current_;
};

}  // namespace crossgate::dataplane
