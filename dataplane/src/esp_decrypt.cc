// ESP decapsulation (RFC 4303 §3.4), tunnel mode, in place.
#include <openssl/crypto.h>

#include <cstring>

#include "crossgate/dataplane/esp.h"
#include "esp_crypto.h"
#include "esp_inner.h"
#include "esp_sa_internal.h"

namespace crossgate::dataplane {
namespace {

using Internals = Sa::Internals;

uint32_t load32(const uint8_t* p) noexcept {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

void store32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Verifies the ICV and decrypts the payload in place.
bool authenticateAndDecrypt(Sa& sa, SaCrypto::Worker& cw, uint8_t* esp, uint32_t payload_len,
                            uint64_t seq) noexcept {
  SaCrypto& crypto = Internals::crypto(sa);
  const uint32_t hdr_len = 8 + crypto.ivLen();
  uint8_t* payload = esp + hdr_len;
  const uint8_t* icv = payload + payload_len;
  uint8_t hi[4];
  store32(hi, static_cast<uint32_t>(seq >> 32));
  const bool esn = sa.config().esn;
  if (crypto.gcm()) {
    uint8_t aad[12];
    std::memcpy(aad, esp, 4);
    uint32_t aad_len = 8;
    if (esn) {
      std::memcpy(aad + 4, hi, 4);
      std::memcpy(aad + 8, esp + 4, 4);
      aad_len = 12;
    } else {
      std::memcpy(aad + 4, esp + 4, 4);
    }
    return crypto.gcmOpen(cw, esp + 8, aad, aad_len, payload, payload_len, icv);
  }
  uint8_t expected[kMaxIcvLen];
  if (!crypto.hmac(cw, esp, hdr_len + payload_len, hi, esn ? 4 : 0, expected) ||
      CRYPTO_memcmp(expected, icv, crypto.icvLen()) != 0) {
    return false;
  }
  return crypto.cbcDecrypt(cw, esp + 8, payload, payload_len);
}

// Checks the ESP trailer; on success *inner_len is the length before the padding.
EspDrop checkTrailer(const uint8_t* payload, uint32_t payload_len, uint8_t* next_header,
                     uint32_t* inner_len) noexcept {
  const uint32_t pad = payload[payload_len - 2];
  *next_header = payload[payload_len - 1];
  if (pad + 2 > payload_len) {
    return EspDrop::bad_padding;
  }
  const uint8_t* pad_bytes = payload + payload_len - 2 - pad;
  uint32_t bad = 0;
  for (uint32_t i = 0; i < pad; ++i) {
    bad |= pad_bytes[i] ^ static_cast<uint8_t>(i + 1);
  }
  if (bad != 0) {
    return EspDrop::bad_padding;
  }
  if (*next_header == 59) {
    return EspDrop::dummy_packet;
  }
  if (*next_header != 4 && *next_header != 41) {
    return EspDrop::bad_next_header;
  }
  *inner_len = payload_len - 2 - pad;
  return EspDrop::kNone;
}

EspDrop decryptOne(Sa& sa, PacketBuf& pkt, EspWorker& worker) noexcept {
  if (sa.hardExpired()) {
    return EspDrop::sa_expired;
  }
  SaCrypto& crypto = Internals::crypto(sa);
  if (worker.index() >= crypto.numWorkers()) {
    return EspDrop::bad_worker;
  }
  const uint32_t hdr_len = 8 + crypto.ivLen();
  const uint32_t icv_len = crypto.icvLen();
  if (pkt.length < hdr_len + icv_len + crypto.align()) {
    return EspDrop::malformed;
  }
  const uint32_t payload_len = pkt.length - hdr_len - icv_len;
  if (payload_len % crypto.align() != 0) {
    return EspDrop::malformed;
  }
  uint8_t* esp = pkt.data();
  uint64_t seq;
  {
    Internals::ReplayLock lock(sa);
    ReplayWindow& window = Internals::replay(sa);
    seq = window.inferSeq(load32(esp + 4));
    if (EspDrop d = window.check(seq); d != EspDrop::kNone) {
      return d;
    }
  }
  if (!authenticateAndDecrypt(sa, crypto.worker(worker.index()), esp, payload_len, seq)) {
    return EspDrop::bad_icv;
  }
  {
    // Another worker may have accepted the same number meanwhile: check again, then advance.
    Internals::ReplayLock lock(sa);
    if (EspDrop d = Internals::replay(sa).checkAndAdvance(seq); d != EspDrop::kNone) {
      return d;
    }
  }
  const uint8_t* payload = esp + hdr_len;
  uint8_t next_header = 0;
  uint32_t inner_len = 0;
  if (EspDrop d = checkTrailer(payload, payload_len, &next_header, &inner_len);
      d != EspDrop::kNone) {
    return d;
  }
  uint32_t ip_len = 0;
  if (EspDrop d = parseInner(payload, inner_len, next_header, &ip_len); d != EspDrop::kNone) {
    return d;
  }
  if (EspDrop d = checkSelectors(payload, ip_len, sa.config().src_ts, sa.config().dst_ts);
      d != EspDrop::kNone) {
    return d;
  }
  pkt.pull(hdr_len);
  pkt.trim(ip_len);
  if (Internals::account(sa, ip_len, worker.now())) {
    worker.noteExpireEdge();
  }
  return EspDrop::kNone;
}

}  // namespace

EspDrop espDecrypt(const SaSnapshot& snap, PacketBuf& pkt, EspWorker& worker, const SaEntry** entry,
                   const cg_dp_addr* local) noexcept {
  *entry = nullptr;
  EspDrop verdict;
  if (pkt.length < 8) {
    verdict = EspDrop::malformed;
  } else {
    uint32_t spi;
    std::memcpy(&spi, pkt.data(), 4);
    *entry = snap.findInbound(spi, local);
    verdict = *entry == nullptr ? EspDrop::unknown_spi : decryptOne(*(*entry)->sa, pkt, worker);
  }
  if (verdict == EspDrop::kNone) {
    worker.counters().decrypted();
  } else {
    worker.counters().drop(verdict);
  }
  return verdict;
}

void espDecryptBatch(const SaSnapshot& snap, std::span<PacketBuf> pkts,
                     std::span<EspRxResult> results, EspWorker& worker) noexcept {
  const size_t n = pkts.size() < results.size() ? pkts.size() : results.size();
  for (size_t i = 0; i < n; ++i) {
    results[i].drop = espDecrypt(snap, pkts[i], worker, &results[i].entry);
  }
}

}  // namespace crossgate::dataplane
