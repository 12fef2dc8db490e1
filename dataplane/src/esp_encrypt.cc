// ESP encapsulation (RFC 4303 §3.3), tunnel mode, in place.
#include <cstring>

#include "crossgate/dataplane/esp.h"
#include "esp_crypto.h"
#include "esp_sa_internal.h"

namespace crossgate::dataplane {
namespace {

using Internals = Sa::Internals;

void store32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Takes the next outbound sequence number; kNone or seq_overflow (then the SA is marked hard
// expired and the worker notes an expire edge).
EspDrop nextSequence(Sa& sa, EspWorker& worker, uint64_t* seq) noexcept {
  *seq = Internals::nextSeq(sa).fetch_add(1, std::memory_order_relaxed);
  const uint64_t limit = sa.config().esn ? UINT64_MAX : UINT32_MAX;
  if (*seq == 0 || *seq > limit || (sa.config().esn && *seq == UINT64_MAX)) {
    if (Internals::markHard(sa)) {
      worker.noteExpireEdge();
    }
    return EspDrop::seq_overflow;
  }
  return EspDrop::kNone;
}

// Writes the IV, encrypts the payload in place and appends the ICV (esp = the SPI).
bool seal(Sa& sa, SaCrypto::Worker& cw, uint8_t* esp, uint32_t payload_len, uint64_t seq) noexcept {
  SaCrypto& crypto = Internals::crypto(sa);
  const uint32_t hdr_len = 8 + crypto.ivLen();
  uint8_t* payload = esp + hdr_len;
  uint8_t* icv = payload + payload_len;
  const uint32_t seq_hi = static_cast<uint32_t>(seq >> 32);
  if (crypto.gcm()) {
    store32(esp + 8, seq_hi);  // IV = the 64-bit sequence number
    store32(esp + 12, static_cast<uint32_t>(seq));
    uint8_t aad[12];
    std::memcpy(aad, esp, 4);
    uint32_t aad_len = 8;
    if (sa.config().esn) {
      store32(aad + 4, seq_hi);
      std::memcpy(aad + 8, esp + 4, 4);
      aad_len = 12;
    } else {
      std::memcpy(aad + 4, esp + 4, 4);
    }
    return crypto.gcmSeal(cw, esp + 8, aad, aad_len, payload, payload_len, icv);
  }
  uint8_t hi[4];
  store32(hi, seq_hi);
  return crypto.cbcIv(cw, seq, esp + 8) && crypto.cbcEncrypt(cw, esp + 8, payload, payload_len) &&
         crypto.hmac(cw, esp, hdr_len + payload_len, hi, sa.config().esn ? 4 : 0, icv);
}

EspDrop encryptOne(Sa& sa, PacketBuf& pkt, EspWorker& worker) noexcept {
  if (sa.hardExpired()) {
    return EspDrop::sa_expired;
  }
  if (worker.index() >= Internals::crypto(sa).numWorkers()) {
    return EspDrop::bad_worker;
  }
  SaCrypto& crypto = Internals::crypto(sa);
  SaCrypto::Worker& cw = crypto.worker(worker.index());
  const uint32_t inner_len = pkt.length;
  if (inner_len == 0) {
    return EspDrop::malformed;
  }
  const uint8_t version = pkt.data()[0] >> 4;
  if (version != 4 && version != 6) {
    return EspDrop::malformed;
  }
  const uint32_t align = crypto.align();
  const uint32_t payload_len = (inner_len + 2 + align - 1) / align * align;
  const uint32_t pad = payload_len - inner_len - 2;
  const uint32_t hdr_len = 8 + crypto.ivLen();
  const uint32_t icv_len = crypto.icvLen();
  if (hdr_len + payload_len + icv_len > kEspMaxPacket) {
    return EspDrop::too_big;
  }
  if (pkt.headroom() < hdr_len || pkt.tailroom() < payload_len - inner_len + icv_len) {
    return EspDrop::no_room;
  }
  uint64_t seq = 0;
  if (EspDrop d = nextSequence(sa, worker, &seq); d != EspDrop::kNone) {
    return d;
  }

  // Trailer: padding 1, 2, 3, ..., pad length, next header.
  uint8_t* trailer = pkt.put(payload_len - inner_len);
  for (uint32_t i = 0; i < pad; ++i) {
    trailer[i] = static_cast<uint8_t>(i + 1);
  }
  trailer[pad] = static_cast<uint8_t>(pad);
  trailer[pad + 1] = version == 4 ? 4 : 41;

  uint8_t* esp = pkt.push(hdr_len);
  std::memcpy(esp, &sa.config().spi, 4);  // already network order
  store32(esp + 4, static_cast<uint32_t>(seq));
  const bool ok = seal(sa, cw, esp, payload_len, seq);
  pkt.put(icv_len);
  if (!ok) {
    pkt.pull(hdr_len);
    pkt.trim(inner_len);
    return EspDrop::crypto_error;
  }
  if (Internals::account(sa, inner_len, worker.now())) {
    worker.noteExpireEdge();
  }
  return EspDrop::kNone;
}

}  // namespace

EspDrop espEncrypt(const SaEntry& entry, PacketBuf& pkt, EspWorker& worker) noexcept {
  EspDrop verdict = encryptOne(*entry.sa, pkt, worker);
  if (verdict == EspDrop::kNone) {
    worker.counters().encrypted();
  } else {
    worker.counters().drop(verdict);
  }
  return verdict;
}

EspDrop espEncrypt(const SaSnapshot& snap, uint32_t if_id, PacketBuf& pkt, EspWorker& worker,
                   const SaEntry** entry) noexcept {
  *entry = snap.findOutbound(if_id);
  if (*entry == nullptr) {
    worker.counters().drop(EspDrop::no_sa);
    return EspDrop::no_sa;
  }
  return espEncrypt(**entry, pkt, worker);
}

void espEncryptBatch(const SaEntry& entry, std::span<PacketBuf> pkts, std::span<EspDrop> verdicts,
                     EspWorker& worker) noexcept {
  const size_t n = pkts.size() < verdicts.size() ? pkts.size() : verdicts.size();
  for (size_t i = 0; i < n; ++i) {
    verdicts[i] = espEncrypt(entry, pkts[i], worker);
  }
}

}  // namespace crossgate::dataplane
