// The SHA1/SHA256/SHA512 block interfaces are deprecated in OpenSSL 3.0 in favour of EVP, but
// they are the only way to copy a keyed hash state without a heap allocation (see esp_hmac.h).
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "esp_hmac.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstring>

namespace crossgate::dataplane {
namespace {

struct Sha1 {
  using Ctx = SHA_CTX;
  static constexpr size_t kBlock = SHA_CBLOCK;
  static constexpr size_t kOut = SHA_DIGEST_LENGTH;
  static int init(Ctx* c) { return SHA1_Init(c); }
  static int update(Ctx* c, const void* p, size_t n) { return SHA1_Update(c, p, n); }
  static int final(uint8_t* out, Ctx* c) { return SHA1_Final(out, c); }
};
struct Sha256 {
  using Ctx = SHA256_CTX;
  static constexpr size_t kBlock = SHA256_CBLOCK;
  static constexpr size_t kOut = SHA256_DIGEST_LENGTH;
  static int init(Ctx* c) { return SHA256_Init(c); }
  static int update(Ctx* c, const void* p, size_t n) { return SHA256_Update(c, p, n); }
  static int final(uint8_t* out, Ctx* c) { return SHA256_Final(out, c); }
};
struct Sha384 {
  using Ctx = SHA512_CTX;
  static constexpr size_t kBlock = SHA512_CBLOCK;
  static constexpr size_t kOut = SHA384_DIGEST_LENGTH;
  static int init(Ctx* c) { return SHA384_Init(c); }
  static int update(Ctx* c, const void* p, size_t n) { return SHA384_Update(c, p, n); }
  static int final(uint8_t* out, Ctx* c) { return SHA384_Final(out, c); }
};
struct Sha512 {
  using Ctx = SHA512_CTX;
  static constexpr size_t kBlock = SHA512_CBLOCK;
  static constexpr size_t kOut = SHA512_DIGEST_LENGTH;
  static int init(Ctx* c) { return SHA512_Init(c); }
  static int update(Ctx* c, const void* p, size_t n) { return SHA512_Update(c, p, n); }
  static int final(uint8_t* out, Ctx* c) { return SHA512_Final(out, c); }
};

// Absorbs (key ^ ipad) and (key ^ opad) into the two stored states (RFC 2104 §2).
template <typename H>
bool precompute(std::span<const uint8_t> key, uint8_t* inner, uint8_t* outer) noexcept {
  static_assert(sizeof(typename H::Ctx) <= EspHmac::kStateBytes);
  uint8_t k[H::kBlock] = {};
  typename H::Ctx c;
  bool ok = true;
  if (key.size() > H::kBlock) {
    ok = H::init(&c) == 1 && H::update(&c, key.data(), key.size()) == 1 && H::final(k, &c) == 1;
  } else if (!key.empty()) {
    std::memcpy(k, key.data(), key.size());
  }
  uint8_t pad[H::kBlock];
  for (size_t i = 0; i < H::kBlock; ++i) {
    pad[i] = static_cast<uint8_t>(k[i] ^ 0x36);
  }
  ok = ok && H::init(&c) == 1 && H::update(&c, pad, H::kBlock) == 1;
  std::memcpy(inner, &c, sizeof(c));
  for (size_t i = 0; i < H::kBlock; ++i) {
    pad[i] = static_cast<uint8_t>(k[i] ^ 0x5c);
  }
  ok = ok && H::init(&c) == 1 && H::update(&c, pad, H::kBlock) == 1;
  std::memcpy(outer, &c, sizeof(c));
  OPENSSL_cleanse(k, sizeof(k));
  OPENSSL_cleanse(pad, sizeof(pad));
  OPENSSL_cleanse(&c, sizeof(c));
  return ok;
}

template <typename H>
void mac(const uint8_t* inner, const uint8_t* outer, const uint8_t* a, size_t a_len,
         const uint8_t* b, size_t b_len, uint8_t* out) noexcept {
  typename H::Ctx c;
  uint8_t digest[H::kOut];
  std::memcpy(&c, inner, sizeof(c));
  H::update(&c, a, a_len);
  if (b_len != 0) {
    H::update(&c, b, b_len);
  }
  H::final(digest, &c);
  std::memcpy(&c, outer, sizeof(c));
  H::update(&c, digest, H::kOut);
  H::final(out, &c);
  // The copied states are key-equivalent: do not leave them on the stack.
  OPENSSL_cleanse(&c, sizeof(c));
}

}  // namespace

EspHmac::~EspHmac() {
  OPENSSL_cleanse(inner_.data(), inner_.size());
  OPENSSL_cleanse(outer_.data(), outer_.size());
}

bool EspHmac::init(EspIntegrity integrity, std::span<const uint8_t> key) noexcept {
  switch (integrity) {
    case EspIntegrity::kHmacSha1_96:
      kind_ = Kind::kSha1;
      digest_len_ = Sha1::kOut;
      return precompute<Sha1>(key, inner_.data(), outer_.data());
    case EspIntegrity::kHmacSha256_128:
      kind_ = Kind::kSha256;
      digest_len_ = Sha256::kOut;
      return precompute<Sha256>(key, inner_.data(), outer_.data());
    case EspIntegrity::kHmacSha384_192:
      kind_ = Kind::kSha384;
      digest_len_ = Sha384::kOut;
      return precompute<Sha384>(key, inner_.data(), outer_.data());
    case EspIntegrity::kHmacSha512_256:
      kind_ = Kind::kSha512;
      digest_len_ = Sha512::kOut;
      return precompute<Sha512>(key, inner_.data(), outer_.data());
    case EspIntegrity::kNone:
      break;
  }
  kind_ = Kind::kNone;
  digest_len_ = 0;
  return false;
}

void EspHmac::compute(const uint8_t* a, size_t a_len, const uint8_t* b, size_t b_len,
                      uint8_t* out) const noexcept {
  const uint8_t* in = inner_.data();
  const uint8_t* ou = outer_.data();
  switch (kind_) {
    case Kind::kSha1:
      mac<Sha1>(in, ou, a, a_len, b, b_len, out);
      break;
    case Kind::kSha256:
      mac<Sha256>(in, ou, a, a_len, b, b_len, out);
      break;
    case Kind::kSha384:
      mac<Sha384>(in, ou, a, a_len, b, b_len, out);
      break;
    case Kind::kSha512:
      mac<Sha512>(in, ou, a, a_len, b, b_len, out);
      break;
    case Kind::kNone:
      break;
  }
}

}  // namespace crossgate::dataplane
