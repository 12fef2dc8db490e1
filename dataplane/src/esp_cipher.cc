#include "esp_cipher.h"

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <strings.h>

#include <cstring>
#include <string_view>

namespace crossgate::dataplane {
namespace {

// True if name is one of the colon-separated names of an algorithm (case-insensitive, as
// OpenSSL's own name matching).
bool namesContain(const char* names, std::string_view name) {
  std::string_view rest(names);
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string_view one = rest.substr(0, colon);
    if (one.size() == name.size() && strncasecmp(one.data(), name.data(), name.size()) == 0) {
      return true;
    }
    if (colon == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(colon + 1);
  }
  return false;
}

}  // namespace

Error cryptoSetupError(std::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  char buf[256] = "unknown error";
  if (code != 0) {
    ERR_error_string_n(code, buf, sizeof(buf));
  }
  return makeError(Errc::kInternal, fmt::format("cipher setup: {}: {}", what, buf));
}

void ProviderCipher::reset() noexcept {
  if (ctx_ != nullptr && free_ != nullptr) {
    free_(ctx_);  // the provider cleanses the key schedule
  }
  ctx_ = nullptr;
  EVP_CIPHER_free(cipher_);
  cipher_ = nullptr;
}

Status ProviderCipher::init(const char* name, std::span<const uint8_t> key, bool encrypt) {
  reset();
  cipher_ = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (cipher_ == nullptr) {
    return cryptoSetupError(fmt::format("{}: not available", name));
  }
  OSSL_PROVIDER* prov = const_cast<OSSL_PROVIDER*>(EVP_CIPHER_get0_provider(cipher_));
  int no_cache = 0;
  const OSSL_ALGORITHM* algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_cache);
  const OSSL_DISPATCH* table = nullptr;
  for (const OSSL_ALGORITHM* a = algs; a != nullptr && a->algorithm_names != nullptr; ++a) {
    if (namesContain(a->algorithm_names, name)) {
      table = a->implementation;
      break;
    }
  }
  OSSL_FUNC_cipher_newctx_fn* newctx = nullptr;
  for (const OSSL_DISPATCH* f = table; f != nullptr && f->function_id != 0; ++f) {
    switch (f->function_id) {
      case OSSL_FUNC_CIPHER_NEWCTX:
        newctx = OSSL_FUNC_cipher_newctx(f);
        break;
      case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
        if (encrypt) {
          init_ = OSSL_FUNC_cipher_encrypt_init(f);
        }
        break;
      case OSSL_FUNC_CIPHER_DECRYPT_INIT:
        if (!encrypt) {
          init_ = OSSL_FUNC_cipher_decrypt_init(f);
        }
        break;
      case OSSL_FUNC_CIPHER_UPDATE:
        update_ = OSSL_FUNC_cipher_update(f);
        break;
      case OSSL_FUNC_CIPHER_FINAL:
        final_ = OSSL_FUNC_cipher_final(f);
        break;
      case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
        get_params_ = OSSL_FUNC_cipher_get_ctx_params(f);
        break;
      case OSSL_FUNC_CIPHER_SET_CTX_PARAMS:
        set_params_ = OSSL_FUNC_cipher_set_ctx_params(f);
        break;
      case OSSL_FUNC_CIPHER_FREECTX:
        free_ = OSSL_FUNC_cipher_freectx(f);
        break;
      default:
        break;
    }
  }
  if (algs != nullptr) {
    OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
  }
  if (newctx == nullptr || init_ == nullptr || update_ == nullptr || final_ == nullptr ||
      get_params_ == nullptr || set_params_ == nullptr || free_ == nullptr) {
    return cryptoSetupError(fmt::format("{}: provider lacks a required function", name));
  }
  ctx_ = newctx(OSSL_PROVIDER_get0_provider_ctx(prov));
  if (ctx_ == nullptr) {
    return cryptoSetupError(fmt::format("{}: context", name));
  }
  if (init_(ctx_, key.data(), key.size(), nullptr, 0, nullptr) != 1) {
    return cryptoSetupError(fmt::format("{}: key", name));
  }
  unsigned int pad = 0;  // ignored by stream modes such as GCM
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_uint(OSSL_CIPHER_PARAM_PADDING, &pad),
                               OSSL_PARAM_construct_end()};
  if (set_params_(ctx_, params) != 1) {
    return cryptoSetupError(fmt::format("{}: padding", name));
  }
  return okStatus();
}

bool ProviderCipher::getTag(uint8_t* tag, size_t len) noexcept {
  OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, len),
                         OSSL_PARAM_construct_end()};
  return get_params_(ctx_, params) == 1;
}

bool ProviderCipher::setTag(const uint8_t* tag, size_t len) noexcept {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, const_cast<uint8_t*>(tag), len),
      OSSL_PARAM_construct_end()};
  return set_params_(ctx_, params) == 1;
}

}  // namespace crossgate::dataplane
