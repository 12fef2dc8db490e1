// HMAC (RFC 2104) for the ESP integrity transforms, with the inner and outer hash states
// precomputed once per SA: a packet costs two state copies plus the hashing itself.
//
// Why not EVP_MAC: with OpenSSL 3.0 every EVP_MAC_init() (re-init with the same key) and
// EVP_MAC_final() duplicates a digest context on the heap, i.e. allocations per packet, and the
// provider layer adds a few hundred cycles. Why not the stitched AES-CBC-HMAC-SHA1 ciphers: they
// implement TLS's MAC-then-encrypt (the MAC covers the plaintext), while ESP is
// encrypt-then-MAC (the ICV covers SPI | seq | IV | ciphertext), so they cannot produce or check
// an ESP ICV.
//
// The block functions are OpenSSL's (SHA-NI / AVX2 where the CPU has them). The key-derived
// states are read-only after init(), so one EspHmac serves every worker; they are wiped on
// destruction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "crossgate/dataplane/sa.h"

namespace crossgate::dataplane {

class EspHmac {
 public:
  // Bytes of one hash state (the largest, SHA-512's, fits).
  static constexpr size_t kStateBytes = 224;

  EspHmac() = default;
  ~EspHmac();
  EspHmac(const EspHmac&) = delete;
  EspHmac& operator=(const EspHmac&) = delete;

  // Keys the HMAC for `integrity` (false for kNone or a library failure).
  bool init(EspIntegrity integrity, std::span<const uint8_t> key) noexcept;
  // Full-length HMAC over a | b (b may be empty) into out (digestLen() bytes).
  void compute(const uint8_t* a, size_t a_len, const uint8_t* b, size_t b_len,
               uint8_t* out) const noexcept;
  size_t digestLen() const noexcept { return digest_len_; }

 private:
  enum class Kind : uint8_t { kNone, kSha1, kSha256, kSha384, kSha512 };
  Kind kind_ = Kind::kNone;
  size_t digest_len_ = 0;
  alignas(64) std::array<uint8_t, kStateBytes> inner_{};
  alignas(64) std::array<uint8_t, kStateBytes> outer_{};
};

}  // namespace crossgate::dataplane
