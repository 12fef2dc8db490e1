// One keyed cipher context, called through its OpenSSL provider's dispatch table.
//
// The EVP layer translates every IV re-initialisation and every tag read into an OSSL_PARAM
// round trip (EVP_CIPHER_CTX_get_iv_length, EVP_CIPHER_CTX_ctrl), which costs more per ESP packet
// than GHASH on its AAD. The provider's own functions (provider-cipher(7)), found with
// OSSL_PROVIDER_query_operation(3), take the IV and tag directly. The implementation is still the
// library's, fetched by name like EVP_CIPHER_fetch does, so a FIPS provider configuration applies.
#pragma once

#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "crossgate/common/result.h"

namespace crossgate::dataplane {

// "cipher setup: <what>: <OpenSSL's reason>" from the library's error queue, which it then
// clears. OpenSSL never puts key material into that queue.
Error cryptoSetupError(std::string_view what);

class ProviderCipher {
 public:
  ProviderCipher() = default;
  ~ProviderCipher() { reset(); }
  ProviderCipher(const ProviderCipher&) = delete;
  ProviderCipher& operator=(const ProviderCipher&) = delete;

  // Fetches the cipher by name (e.g. "AES-128-GCM"), creates a context and keys it for one
  // direction, block padding off (ESP pads itself). Errors never contain key material.
  Status init(const char* name, std::span<const uint8_t> key, bool encrypt);
  bool ready() const noexcept { return ctx_ != nullptr; }

  // ---- packet path: no allocation, no locking ----
  // Restarts the context with a new IV (the key schedule is kept).
  bool setIv(const uint8_t* iv, size_t len) noexcept {
    return init_(ctx_, nullptr, 0, iv, len, nullptr) == 1;
  }
  // Processes len bytes; out == nullptr feeds AEAD additional data. Fails unless all len bytes
  // come out at once (a block cipher would hold back a partial block).
  bool update(uint8_t* out, const uint8_t* in, size_t len) noexcept {
    size_t outl = 0;
    return len == 0 ||
           (update_(ctx_, out, &outl, len, in, len) == 1 && (out == nullptr || outl == len));
  }
  // Completes an AEAD operation: computes the tag, or verifies the one set with setTag.
  bool finish() noexcept {
    size_t outl = 0;
    uint8_t none[16];
    return final_(ctx_, none, &outl, sizeof(none)) == 1;
  }
  bool getTag(uint8_t* tag, size_t len) noexcept;
  bool setTag(const uint8_t* tag, size_t len) noexcept;

 private:
  void reset() noexcept;

  EVP_CIPHER* cipher_ = nullptr;  // keeps the provider loaded while ctx_ lives
  void* ctx_ = nullptr;
  OSSL_FUNC_cipher_encrypt_init_fn* init_ = nullptr;  // encrypt_init or decrypt_init
  OSSL_FUNC_cipher_update_fn* update_ = nullptr;
  OSSL_FUNC_cipher_final_fn* final_ = nullptr;
  OSSL_FUNC_cipher_get_ctx_params_fn* get_params_ = nullptr;
  OSSL_FUNC_cipher_set_ctx_params_fn* set_params_ = nullptr;
  OSSL_FUNC_cipher_freectx_fn* free_ = nullptr;
};

}  // namespace crossgate::dataplane
