// ESP tunnel mode (RFC 4303) packet path: encapsulation and decapsulation in place.
//
// Wire format handled here starts at the SPI; the caller adds or strips the outer IP/UDP headers
// (RFC 3948 encapsulation) itself, in the headroom PacketBuf leaves in front.
//
//   SPI(4) | seq(4) | IV(8 GCM, 16 CBC) | ciphertext(inner | pad | pad_len | next_hdr) | ICV
//
// Algorithms
//  - AES-GCM-16 (RFC 4106): nonce = salt(4, from the key tail) | IV(8); the IV is the 64-bit
//    sequence number (unique per key by construction); AAD = SPI | seq, or SPI | seq_hi | seq_lo
//    with ESN; 16-byte ICV; padding to 4 bytes.
//  - AES-CBC (RFC 3602) with HMAC-SHA1-96 (RFC 2404) or HMAC-SHA2-256-128/-384-192/-512-256
//    (RFC 4868): ICV = truncated HMAC over SPI | seq | IV | ciphertext [| seq_hi with ESN];
//    padding to 16 bytes. IVs must be unpredictable (RFC 3602 §3): at install each outbound SA
//    draws a random 128-bit IV key; the IV of sequence number s is AES-ECB(iv_key, s as a
//    128-bit big-endian block). Sequence numbers never repeat, so IVs are unique, and without
//    the IV key they are unpredictable (the echainiv/seqiv idea of Linux), with no RAND call per
//    packet.
//  - Padding bytes are 1, 2, 3, ... (RFC 4303 §2.4) and are checked on receive.
//  - ESN (RFC 4303 §2.2.1, Appendix A): only the low 32 bits travel; the receiver infers the high
//    half from its replay window; the high half enters the ICV (CBC) or AAD (GCM).
//
// Receive order: SA lookup by SPI -> hard-lifetime check -> replay check (no state change) ->
// ICV check and decryption -> replay check-and-advance (per-SA spinlock) -> padding and next
// header -> inner IP header (trims TFC padding) -> traffic selectors -> counters.
// Send: outbound sequence numbers start at 1; without ESN the SA refuses to send past 2^32-1
// (seq_overflow, and a hard expire edge); it never wraps.
//
// Every function here is noexcept, allocates nothing, logs nothing, and counts its own drops
// in the worker's EspCounters.
#pragma once

#include <cstdint>
#include <span>

#include "crossgate/dataplane/drop_reasons.h"
#include "crossgate/dataplane/packet.h"
#include "crossgate/dataplane/sa.h"

namespace crossgate::dataplane {

// The per-worker context of the packet path: which cipher contexts to use, the clock for
// last-use times (set once per batch), the drop counters. One per worker thread; not shared.
class EspWorker {
 public:
  explicit EspWorker(unsigned index) noexcept : index_(index) {}

  unsigned index() const noexcept { return index_; }
  // CLOCK_MONOTONIC seconds, recorded as the SAs' last-use time. Set it once per batch.
  void setNow(uint64_t monotonic_s) noexcept { now_s_ = monotonic_s; }
  uint64_t now() const noexcept { return now_s_; }

  EspCounters& counters() noexcept { return counters_; }
  const EspCounters& counters() const noexcept { return counters_; }

  // True if a packet of this worker crossed an SA's soft or hard byte/packet/sequence limit
  // since the last call; the worker then wakes the control thread, which calls
  // SaTable::collectExpires(). Clears the flag.
  bool takeExpireEdge() noexcept {
    bool edge = expire_edge_;
    expire_edge_ = false;
    return edge;
  }
  void noteExpireEdge() noexcept { expire_edge_ = true; }

 private:
  unsigned index_;
  uint64_t now_s_ = 0;
  bool expire_edge_ = false;
  EspCounters counters_;
};

// Encrypts the inner IP packet in `pkt` (IPv4 or IPv6, next header chosen from its version
// nibble) with the outbound SA of `entry`. On success pkt spans the ESP packet (SPI..ICV): the
// header went into the headroom (kEspMaxHeader bytes needed), padding and ICV into the
// tailroom (kEspMaxTrailer). Returns EspDrop::kNone, or a drop reason (pkt is then unchanged
// except possibly its payload bytes).
EspDrop espEncrypt(const SaEntry& entry, PacketBuf& pkt, EspWorker& worker) noexcept;

// Looks up the outbound SA of `if_id` in `snap` and encrypts (no_sa if there is none). *entry
// receives the SA used (for the outer addresses), nullptr on no_sa.
EspDrop espEncrypt(const SaSnapshot& snap, uint32_t if_id, PacketBuf& pkt, EspWorker& worker,
                   const SaEntry** entry) noexcept;

// Decrypts the ESP packet in `pkt` (starting at the SPI). On success pkt spans exactly the
// inner IP packet (TFC padding trimmed) and *entry is the inbound SA (its if_id names the
// tunnel; its src is the peer's address:port for NAT mapping checks). On a drop *entry is the
// SA if one was found (for per-SA diagnostics), else nullptr. local: as in findInbound().
EspDrop espDecrypt(const SaSnapshot& snap, PacketBuf& pkt, EspWorker& worker, const SaEntry** entry,
                   const cg_dp_addr* local = nullptr) noexcept;

// Batch forms: verdicts[i] is the result for pkts[i] (spans of equal size).
void espEncryptBatch(const SaEntry& entry, std::span<PacketBuf> pkts, std::span<EspDrop> verdicts,
                     EspWorker& worker) noexcept;
struct EspRxResult {
  EspDrop drop = EspDrop::kNone;
  const SaEntry* entry = nullptr;
};
void espDecryptBatch(const SaSnapshot& snap, std::span<PacketBuf> pkts,
                     std::span<EspRxResult> results, EspWorker& worker) noexcept;

}  // namespace crossgate::dataplane
