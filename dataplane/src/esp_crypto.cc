#include "esp_crypto.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <cstring>

namespace crossgate::dataplane {
namespace {

const EVP_CIPHER* gcmCipher(size_t key_len) {
  switch (key_len) {
    case 16:
      return EVP_aes_128_gcm();
    case 24:
      return EVP_aes_192_gcm();
    case 32:
      return EVP_aes_256_gcm();
    default:
      return nullptr;
  }
}

const EVP_CIPHER* cbcCipher(size_t key_len) {
  switch (key_len) {
    case 16:
      return EVP_aes_128_cbc();
    case 24:
      return EVP_aes_192_cbc();
    case 32:
      return EVP_aes_256_cbc();
    default:
      return nullptr;
  }
}

// The library's reason for the last failure, without any key material (OpenSSL never puts keys
// into its error queue).
std::string lastSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "unknown error";
  }
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

Error cryptoError(const char* what) {
  return makeError(Errc::kInternal, fmt::format("cipher setup: {}: {}", what, lastSslError()));
}

}  // namespace

IntegrityInfo integrityInfo(EspIntegrity integrity) noexcept {
  switch (integrity) {
    case EspIntegrity::kHmacSha1_96:
      return {20, 12, "SHA1"};
    case EspIntegrity::kHmacSha256_128:
      return {32, 16, "SHA2-256"};
    case EspIntegrity::kHmacSha384_192:
      return {48, 24, "SHA2-384"};
    case EspIntegrity::kHmacSha512_256:
      return {64, 32, "SHA2-512"};
    case EspIntegrity::kNone:
      break;
  }
  return {0, 0, nullptr};
}

// Keys one worker's context set; returns what failed, or nullptr.
const char* SaCrypto::initWorker(Worker& w, const EVP_CIPHER* cipher, std::span<const uint8_t> key,
                                 const uint8_t* iv_key) const {
  const int enc = encrypt_ ? 1 : 0;
  w.cipher = EVP_CIPHER_CTX_new();
  if (!w.cipher || EVP_CipherInit_ex(w.cipher, cipher, nullptr, nullptr, nullptr, enc) != 1) {
    return "cipher context";
  }
  if (gcm_ && EVP_CIPHER_CTX_ctrl(w.cipher, EVP_CTRL_GCM_SET_IVLEN, kGcmSaltLen + kGcmIvLen,
                                  nullptr) != 1) {
    return "gcm iv length";
  }
  if (EVP_CipherInit_ex(w.cipher, nullptr, nullptr, key.data(), nullptr, enc) != 1 ||
      EVP_CIPHER_CTX_set_padding(w.cipher, 0) != 1) {
    return "cipher key";
  }
  if (iv_key != nullptr) {
    w.iv_gen = EVP_CIPHER_CTX_new();
    if (!w.iv_gen ||
        EVP_EncryptInit_ex(w.iv_gen, EVP_aes_128_ecb(), nullptr, iv_key, nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(w.iv_gen, 0) != 1) {
      return "iv generator";
    }
  }
  return nullptr;
}

Result<std::unique_ptr<SaCrypto>> SaCrypto::create(const SaConfig& config, unsigned num_workers) {
  std::unique_ptr<SaCrypto> c(new SaCrypto());
  c->num_workers_ = num_workers;
  c->workers_ = std::make_unique<Worker[]>(num_workers);
  c->encrypt_ = !config.inbound;
  c->gcm_ = config.cipher == EspCipher::kAesGcm16;
  auto key = config.enc_key.bytes();
  const IntegrityInfo info = integrityInfo(config.integrity);

  const EVP_CIPHER* cipher = nullptr;
  if (c->gcm_) {
    if (key.size() <= kGcmSaltLen || !(cipher = gcmCipher(key.size() - kGcmSaltLen))) {
      return makeError(Errc::kInvalidArgument, "aes-gcm key length must be 16, 24 or 32 + 4");
    }
    std::memcpy(c->salt_.data(), key.data() + key.size() - kGcmSaltLen, kGcmSaltLen);
    key = key.first(key.size() - kGcmSaltLen);
    c->iv_len_ = kGcmIvLen;
    c->icv_len_ = kGcmIcvLen;
    c->align_ = 4;
  } else {
    if (!(cipher = cbcCipher(key.size()))) {
      return makeError(Errc::kInvalidArgument, "aes-cbc key length must be 16, 24 or 32");
    }
    if (info.digest == nullptr) {
      return makeError(Errc::kInvalidArgument, "aes-cbc needs an integrity algorithm");
    }
    c->iv_len_ = kCbcIvLen;
    c->icv_len_ = info.icv_len;
    c->align_ = kAesBlock;
  }

  if (!c->gcm_ && !c->hmac_.init(config.integrity, config.int_key.bytes())) {
    return cryptoError("hmac key");
  }
  // CBC outbound: a random per-SA key for IV generation (see esp.h), wiped once the contexts
  // hold its schedule.
  uint8_t iv_key[16];
  const bool need_iv_gen = !c->gcm_ && c->encrypt_;
  if (need_iv_gen && RAND_bytes(iv_key, sizeof(iv_key)) != 1) {
    return cryptoError("random IV key");
  }
  const char* failed = nullptr;
  for (unsigned i = 0; i < num_workers && failed == nullptr; ++i) {
    failed = c->initWorker(c->workers_[i], cipher, key, need_iv_gen ? iv_key : nullptr);
  }
  OPENSSL_cleanse(iv_key, sizeof(iv_key));
  if (failed != nullptr) {
    return cryptoError(failed);
  }
  return c;
}

SaCrypto::~SaCrypto() {
  // EVP_CIPHER_CTX_free and EVP_MAC_CTX_free cleanse the key schedules they hold.
  for (unsigned i = 0; i < num_workers_; ++i) {
    EVP_CIPHER_CTX_free(workers_[i].cipher);
    EVP_CIPHER_CTX_free(workers_[i].iv_gen);
  }
  OPENSSL_cleanse(salt_.data(), salt_.size());
}

bool SaCrypto::gcmSeal(Worker& w, const uint8_t iv[kGcmIvLen], const uint8_t* aad, uint32_t aad_len,
                       uint8_t* data, uint32_t len, uint8_t* tag) const noexcept {
  uint8_t nonce[kGcmSaltLen + kGcmIvLen];
  std::memcpy(nonce, salt_.data(), kGcmSaltLen);
  std::memcpy(nonce + kGcmSaltLen, iv, kGcmIvLen);
  int outl = 0;
  if (EVP_CipherInit_ex(w.cipher, nullptr, nullptr, nullptr, nonce, -1) != 1 ||
      EVP_CipherUpdate(w.cipher, nullptr, &outl, aad, static_cast<int>(aad_len)) != 1 ||
      EVP_CipherUpdate(w.cipher, data, &outl, data, static_cast<int>(len)) != 1 ||
      EVP_CipherFinal_ex(w.cipher, data + outl, &outl) != 1 ||
      EVP_CIPHER_CTX_ctrl(w.cipher, EVP_CTRL_GCM_GET_TAG, kGcmIcvLen, tag) != 1) {
    ERR_clear_error();
    return false;
  }
  return true;
}

bool SaCrypto::gcmOpen(Worker& w, const uint8_t iv[kGcmIvLen], const uint8_t* aad, uint32_t aad_len,
                       uint8_t* data, uint32_t len, const uint8_t* tag) const noexcept {
  uint8_t nonce[kGcmSaltLen + kGcmIvLen];
  std::memcpy(nonce, salt_.data(), kGcmSaltLen);
  std::memcpy(nonce + kGcmSaltLen, iv, kGcmIvLen);
  uint8_t tag_copy[kGcmIcvLen];
  std::memcpy(tag_copy, tag, kGcmIcvLen);
  int outl = 0;
  if (EVP_CipherInit_ex(w.cipher, nullptr, nullptr, nullptr, nonce, -1) != 1 ||
      EVP_CipherUpdate(w.cipher, nullptr, &outl, aad, static_cast<int>(aad_len)) != 1 ||
      EVP_CipherUpdate(w.cipher, data, &outl, data, static_cast<int>(len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(w.cipher, EVP_CTRL_GCM_SET_TAG, kGcmIcvLen, tag_copy) != 1 ||
      EVP_CipherFinal_ex(w.cipher, data + outl, &outl) != 1) {
    ERR_clear_error();
    return false;
  }
  return true;
}

bool SaCrypto::cbcEncrypt(Worker& w, const uint8_t iv[kCbcIvLen], uint8_t* data,
                          uint32_t len) const noexcept {
  int outl = 0;
  if (EVP_CipherInit_ex(w.cipher, nullptr, nullptr, nullptr, iv, -1) != 1 ||
      EVP_CipherUpdate(w.cipher, data, &outl, data, static_cast<int>(len)) != 1 ||
      static_cast<uint32_t>(outl) != len) {
    ERR_clear_error();
    return false;
  }
  return true;
}

bool SaCrypto::cbcDecrypt(Worker& w, const uint8_t iv[kCbcIvLen], uint8_t* data,
                          uint32_t len) const noexcept {
  return cbcEncrypt(w, iv, data, len);  // the context's direction decides
}

bool SaCrypto::cbcIv(Worker& w, uint64_t seq, uint8_t iv[kCbcIvLen]) const noexcept {
  uint8_t block[kAesBlock] = {};
  for (int i = 0; i < 8; ++i) {
    block[15 - i] = static_cast<uint8_t>(seq >> (8 * i));
  }
  int outl = 0;
  if (EVP_EncryptUpdate(w.iv_gen, iv, &outl, block, kAesBlock) != 1 ||
      outl != static_cast<int>(kAesBlock)) {
    ERR_clear_error();
    return false;
  }
  return true;
}

bool SaCrypto::hmac(Worker& /*w*/, const uint8_t* a, uint32_t a_len, const uint8_t* b,
                    uint32_t b_len, uint8_t* icv) const noexcept {
  uint8_t full[EVP_MAX_MD_SIZE];
  if (hmac_.digestLen() < icv_len_) {
    return false;
  }
  hmac_.compute(a, a_len, b, b_len, full);
  std::memcpy(icv, full, icv_len_);
  return true;
}

}  // namespace crossgate::dataplane
