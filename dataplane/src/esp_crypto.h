// Per-SA, per-worker cipher contexts for the ESP packet path. Every context is keyed once at
// install time (control plane); the packet path only re-initialises IVs through the provider's
// dispatch table (esp_cipher.h) and copies the precomputed HMAC states (esp_hmac.h), so nothing
// is allocated and no key schedule is recomputed per packet. Worker i touches only worker(i);
// the HMAC states are read-only and shared.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "crossgate/common/result.h"
#include "crossgate/dataplane/sa.h"
#include "esp_cipher.h"
#include "esp_hmac.h"

namespace crossgate::dataplane {

inline constexpr uint32_t kGcmIvLen = 8;
inline constexpr uint32_t kGcmIcvLen = 16;
inline constexpr uint32_t kGcmSaltLen = 4;
inline constexpr uint32_t kCbcIvLen = 16;
inline constexpr uint32_t kAesBlock = 16;
inline constexpr uint32_t kMaxIcvLen = 32;

// Key and ICV sizes of the transforms.
struct IntegrityInfo {
  uint32_t key_len;    // bytes (RFC 2404 / RFC 4868: the hash output size)
  uint32_t icv_len;    // truncated ICV
  const char* digest;  // OpenSSL digest name
};
IntegrityInfo integrityInfo(EspIntegrity integrity) noexcept;

class SaCrypto {
 public:
  struct alignas(64) Worker {
    ProviderCipher cipher;  // GCM or CBC, keyed, direction of the SA
    ProviderCipher iv_gen;  // CBC outbound: AES-128-ECB under the SA's IV key
  };

  // Builds num_workers keyed context sets for the SA's direction. Errors never contain keys.
  static Result<std::unique_ptr<SaCrypto>> create(const SaConfig& config, unsigned num_workers);
  ~SaCrypto();
  SaCrypto(const SaCrypto&) = delete;
  SaCrypto& operator=(const SaCrypto&) = delete;

  unsigned numWorkers() const noexcept { return num_workers_; }
  Worker& worker(unsigned index) noexcept { return workers_[index]; }

  bool gcm() const noexcept { return gcm_; }
  uint32_t ivLen() const noexcept { return iv_len_; }
  uint32_t icvLen() const noexcept { return icv_len_; }
  uint32_t align() const noexcept { return align_; }  // payload alignment (4 GCM, 16 CBC)

  // ---- packet path (noexcept, no allocation) ----
  // AES-GCM: encrypts data[0..len) in place and writes the 16-byte tag.
  bool gcmSeal(Worker& w, const uint8_t iv[kGcmIvLen], const uint8_t* aad, uint32_t aad_len,
               uint8_t* data, uint32_t len, uint8_t* tag) const noexcept;
  // AES-GCM: verifies the tag and decrypts in place. false = bad ICV (or library error).
  bool gcmOpen(Worker& w, const uint8_t iv[kGcmIvLen], const uint8_t* aad, uint32_t aad_len,
               uint8_t* data, uint32_t len, const uint8_t* tag) const noexcept;
  // AES-CBC over whole blocks, in place.
  bool cbcEncrypt(Worker& w, const uint8_t iv[kCbcIvLen], uint8_t* data,
                  uint32_t len) const noexcept;
  bool cbcDecrypt(Worker& w, const uint8_t iv[kCbcIvLen], uint8_t* data,
                  uint32_t len) const noexcept;
  // The CBC IV of sequence number seq: AES-ECB(iv_key, seq as a 128-bit big-endian block).
  bool cbcIv(Worker& w, uint64_t seq, uint8_t iv[kCbcIvLen]) const noexcept;
  // HMAC over a | b (b may be empty); writes the truncated ICV (icvLen() bytes).
  bool hmac(Worker& w, const uint8_t* a, uint32_t a_len, const uint8_t* b, uint32_t b_len,
            uint8_t* icv) const noexcept;

 private:
  SaCrypto() = default;
  Status initWorker(Worker& w, const char* cipher, std::span<const uint8_t> key,
                    const uint8_t* iv_key) const;

  std::unique_ptr<Worker[]> workers_;
  unsigned num_workers_ = 0;
  bool gcm_ = true;
  bool encrypt_ = true;
  uint32_t iv_len_ = 0;
  uint32_t icv_len_ = 0;
  uint32_t align_ = 4;
  std::array<uint8_t, kGcmSaltLen> salt_{};
  EspHmac hmac_;  // CBC: keyed with the integrity key
};

}  // namespace crossgate::dataplane
