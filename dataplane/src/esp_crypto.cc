#include "esp_crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <cstring>

namespace crossgate::dataplane {
namespace {

const char* gcmCipher(size_t key_len) {
  switch (key_len) {
    case 16:
      return "AES-128-GCM";
    case 24:
      return "AES-192-GCM";
    case 32:
      return "AES-256-GCM";
    default:
      return nullptr;
  }
}

const char* cbcCipher(size_t key_len) {
  switch (key_len) {
    case 16:
      return "AES-128-CBC";
    case 24:
      return "AES-192-CBC";
    case 32:
      return "AES-256-CBC";
    default:
      return nullptr;
  }
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

// Keys one worker's context set.
Status SaCrypto::initWorker(Worker& w, const char* cipher, std::span<const uint8_t> key,
                            const uint8_t* iv_key) const {
  if (Status st = w.cipher.init(cipher, key, encrypt_); !st) {
    return st;
  }
  if (iv_key != nullptr) {
    return w.iv_gen.init("AES-128-ECB", {iv_key, 16}, /*encrypt=*/true);
  }
  return okStatus();
}

Result<std::unique_ptr<SaCrypto>> SaCrypto::create(const SaConfig& config, unsigned num_workers) {
  std::unique_ptr<SaCrypto> c(new SaCrypto());
  c->num_workers_ = num_workers;
  c->workers_ = std::make_unique<Worker[]>(num_workers);
  c->encrypt_ = !config.inbound;
  c->gcm_ = config.cipher == EspCipher::kAesGcm16;
  auto key = config.enc_key.bytes();
  const IntegrityInfo info = integrityInfo(config.integrity);

  const char* cipher = nullptr;
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
    return cryptoSetupError("hmac key");
  }
  // CBC outbound: a random per-SA key for IV generation (see esp.h), wiped once the contexts
  // hold its schedule.
  uint8_t iv_key[16];
  const bool need_iv_gen = !c->gcm_ && c->encrypt_;
  if (need_iv_gen && RAND_bytes(iv_key, sizeof(iv_key)) != 1) {
    return cryptoSetupError("random IV key");
  }
  Status st = okStatus();
  for (unsigned i = 0; i < num_workers && st; ++i) {
    st = c->initWorker(c->workers_[i], cipher, key, need_iv_gen ? iv_key : nullptr);
  }
  OPENSSL_cleanse(iv_key, sizeof(iv_key));
  if (!st) {
    return st.error();
  }
  return c;
}

SaCrypto::~SaCrypto() {
  // The workers' cipher contexts cleanse their key schedules when they are freed.
  OPENSSL_cleanse(salt_.data(), salt_.size());
}

bool SaCrypto::gcmSeal(Worker& w, const uint8_t iv[kGcmIvLen], const uint8_t* aad, uint32_t aad_len,
                       uint8_t* data, uint32_t len, uint8_t* tag) const noexcept {
  uint8_t nonce[kGcmSaltLen + kGcmIvLen];
  std::memcpy(nonce, salt_.data(), kGcmSaltLen);
  std::memcpy(nonce + kGcmSaltLen, iv, kGcmIvLen);
  if (!w.cipher.setIv(nonce, sizeof(nonce)) || !w.cipher.update(nullptr, aad, aad_len) ||
      !w.cipher.update(data, data, len) || !w.cipher.finish() ||
      !w.cipher.getTag(tag, kGcmIcvLen)) {
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
  if (!w.cipher.setIv(nonce, sizeof(nonce)) || !w.cipher.update(nullptr, aad, aad_len) ||
      !w.cipher.update(data, data, len) || !w.cipher.setTag(tag, kGcmIcvLen) ||
      !w.cipher.finish()) {
    ERR_clear_error();
    return false;
  }
  return true;
}

bool SaCrypto::cbcEncrypt(Worker& w, const uint8_t iv[kCbcIvLen], uint8_t* data,
                          uint32_t len) const noexcept {
  if (!w.cipher.setIv(iv, kCbcIvLen) || !w.cipher.update(data, data, len)) {
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
  if (!w.iv_gen.update(iv, block, kAesBlock)) {
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
