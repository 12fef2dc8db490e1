// Helpers shared by the ESP unit tests: hex, SA configs, inner packets, and an independent ESP
// encoder built directly on OpenSSL one-shot calls (to cross-check the packet path).
#pragma once

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "crossgate/dataplane/esp.h"
#include "crossgate/dataplane/sa.h"

namespace crossgate::dataplane::test {

using Bytes = std::vector<uint8_t>;

inline Bytes hex(std::string_view text) {
  Bytes out;
  int hi = -1;
  for (char c : text) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;  // spaces, separators
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

inline std::string toHex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}
inline std::string toHex(const Bytes& b) { return toHex(b.data(), b.size()); }

inline cg_dp_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port = 0) {
  cg_dp_addr addr{};
  addr.family = 4;
  addr.port = port;
  addr.addr[0] = a;
  addr.addr[1] = b;
  addr.addr[2] = c;
  addr.addr[3] = d;
  return addr;
}

inline TrafficSelector tsV4(uint32_t from, uint32_t to, uint8_t proto = 0, uint16_t pfrom = 0,
                            uint16_t pto = 65535) {
  TrafficSelector ts;
  ts.family = 4;
  ts.protocol = proto;
  ts.from_port = pfrom;
  ts.to_port = pto;
  const uint32_t f = htonl(from);
  const uint32_t t = htonl(to);
  std::memcpy(ts.from.data(), &f, 4);
  std::memcpy(ts.to.data(), &t, 4);
  return ts;
}

inline TrafficSelector tsV6Any() {
  TrafficSelector ts;
  ts.family = 6;
  ts.to.fill(0xff);
  return ts;
}

struct Algo {
  const char* name;
  EspCipher cipher;
  EspIntegrity integrity;
  size_t enc_key_len;  // with the GCM salt
  size_t int_key_len;
};

inline const std::vector<Algo>& allAlgos() {
  static const std::vector<Algo> algos = {
      {"aes128gcm16", EspCipher::kAesGcm16, EspIntegrity::kNone, 20, 0},
      {"aes256gcm16", EspCipher::kAesGcm16, EspIntegrity::kNone, 36, 0},
      {"aes128_sha1", EspCipher::kAesCbc, EspIntegrity::kHmacSha1_96, 16, 20},
      {"aes256_sha1", EspCipher::kAesCbc, EspIntegrity::kHmacSha1_96, 32, 20},
      {"aes128_sha256", EspCipher::kAesCbc, EspIntegrity::kHmacSha256_128, 16, 32},
      {"aes256_sha256", EspCipher::kAesCbc, EspIntegrity::kHmacSha256_128, 32, 32},
      {"aes128_sha384", EspCipher::kAesCbc, EspIntegrity::kHmacSha384_192, 16, 48},
      {"aes256_sha384", EspCipher::kAesCbc, EspIntegrity::kHmacSha384_192, 32, 48},
      {"aes128_sha512", EspCipher::kAesCbc, EspIntegrity::kHmacSha512_256, 16, 64},
      {"aes256_sha512", EspCipher::kAesCbc, EspIntegrity::kHmacSha512_256, 32, 64},
  };
  return algos;
}

inline Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) {
    b[i] = static_cast<uint8_t>(seed + i * 13);
  }
  return b;
}

// An SA between 192.0.2.1 (us) and 198.51.100.1 (peer); the outbound and inbound configs of
// the same SPI share keys, so a packet encrypted with one decrypts with the other.
inline SaConfig makeConfig(const Algo& algo, bool inbound, bool esn, uint32_t spi_host,
                           uint32_t if_id = 7) {
  SaConfig c;
  c.src = inbound ? v4(198, 51, 100, 1, 4500) : v4(192, 0, 2, 1, 4500);
  c.dst = inbound ? v4(192, 0, 2, 1, 4500) : v4(198, 51, 100, 1, 4500);
  c.spi = htonl(spi_host);
  c.if_id = if_id;
  c.reqid = 1;
  c.inbound = inbound;
  c.esn = esn;
  c.flags = (inbound ? CG_DP_SA_INBOUND : 0) | CG_DP_SA_ENCAP | (esn ? CG_DP_SA_ESN : 0);
  c.cipher = algo.cipher;
  c.integrity = algo.integrity;
  c.enc_key = Secret(pattern(algo.enc_key_len, 0x11));
  c.int_key = Secret(pattern(algo.int_key_len, 0x5a));
  c.replay_window = 1024;
  c.src_ts = {tsV4(0, 0xffffffff), tsV6Any()};
  c.dst_ts = {tsV4(0, 0xffffffff), tsV6Any()};
  return c;
}

// An IPv4/UDP packet of `total` bytes (>= 20; the ports need >= 24) from src to dst.
inline Bytes ipv4Udp(size_t total, uint32_t src = 0x0a010001, uint32_t dst = 0x0a020001,
                     uint16_t sport = 1234, uint16_t dport = 5678) {
  Bytes p = pattern(total, 0x33);
  p[0] = 0x45;
  p[1] = 0;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[6] = 0;
  p[7] = 0;
  p[8] = 64;
  p[9] = 17;
  const uint32_t s = htonl(src);
  const uint32_t d = htonl(dst);
  std::memcpy(p.data() + 12, &s, 4);
  std::memcpy(p.data() + 16, &d, 4);
  if (total < 24) {
    return p;
  }
  p[20] = static_cast<uint8_t>(sport >> 8);
  p[21] = static_cast<uint8_t>(sport);
  p[22] = static_cast<uint8_t>(dport >> 8);
  p[23] = static_cast<uint8_t>(dport);
  return p;
}

// An IPv6/UDP packet of `total` bytes (>= 48).
inline Bytes ipv6Udp(size_t total) {
  Bytes p = pattern(total, 0x44);
  p[0] = 0x60;
  p[4] = static_cast<uint8_t>((total - 40) >> 8);
  p[5] = static_cast<uint8_t>(total - 40);
  p[6] = 17;
  return p;
}

// A buffer with headroom and tailroom around a packet.
struct Frame {
  std::vector<uint8_t> storage;
  PacketBuf pkt;

  explicit Frame(const Bytes& payload, uint32_t headroom = kPacketHeadroom,
                 uint32_t tailroom = kPacketTailroom)
      : storage(headroom + payload.size() + tailroom) {
    if (!payload.empty()) {
      std::memcpy(storage.data() + headroom, payload.data(), payload.size());
    }
    pkt = PacketBuf(storage.data(), static_cast<uint32_t>(storage.size()), headroom,
                    static_cast<uint32_t>(payload.size()));
  }
  Bytes bytes() const { return Bytes(pkt.data(), pkt.data() + pkt.length); }
};

// Independent ESP encoders (OpenSSL one-shot and EVP calls, no crossgate code).
// plaintext = inner | padding | pad length | next header, already aligned.
inline Bytes rawGcmEsp(const Bytes& key_and_salt, uint32_t spi, uint64_t seq, bool esn,
                       const Bytes& iv8, const Bytes& plaintext) {
  const size_t klen = key_and_salt.size() - 4;
  const EVP_CIPHER* cipher = klen == 16   ? EVP_aes_128_gcm()
                             : klen == 24 ? EVP_aes_192_gcm()
                                          : EVP_aes_256_gcm();
  Bytes nonce(key_and_salt.end() - 4, key_and_salt.end());
  nonce.insert(nonce.end(), iv8.begin(), iv8.end());
  Bytes out(8);
  const uint32_t spi_n = htonl(spi);
  const uint32_t lo_n = htonl(static_cast<uint32_t>(seq));
  const uint32_t hi_n = htonl(static_cast<uint32_t>(seq >> 32));
  std::memcpy(out.data(), &spi_n, 4);
  std::memcpy(out.data() + 4, &lo_n, 4);
  out.insert(out.end(), iv8.begin(), iv8.end());
  Bytes aad(out.begin(), out.begin() + 4);
  if (esn) {
    aad.insert(aad.end(), reinterpret_cast<const uint8_t*>(&hi_n),
               reinterpret_cast<const uint8_t*>(&hi_n) + 4);
  }
  aad.insert(aad.end(), out.begin() + 4, out.begin() + 8);
  Bytes ct(plaintext.size() + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(ctx, cipher, nullptr, key_and_salt.data(), nonce.data());
  EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size()));
  EVP_EncryptUpdate(ctx, ct.data(), &n, plaintext.data(), static_cast<int>(plaintext.size()));
  EVP_EncryptFinal_ex(ctx, ct.data() + n, &n);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, ct.data() + plaintext.size());
  EVP_CIPHER_CTX_free(ctx);
  out.insert(out.end(), ct.begin(), ct.end());
  return out;
}

inline const EVP_MD* digestOf(EspIntegrity integrity) {
  switch (integrity) {
    case EspIntegrity::kHmacSha1_96:
      return EVP_sha1();
    case EspIntegrity::kHmacSha256_128:
      return EVP_sha256();
    case EspIntegrity::kHmacSha384_192:
      return EVP_sha384();
    default:
      return EVP_sha512();
  }
}

inline size_t icvLenOf(EspIntegrity integrity) {
  switch (integrity) {
    case EspIntegrity::kHmacSha1_96:
      return 12;
    case EspIntegrity::kHmacSha256_128:
      return 16;
    case EspIntegrity::kHmacSha384_192:
      return 24;
    default:
      return 32;
  }
}

// Appends the truncated HMAC ICV (over esp [| seq_hi]) computed with OpenSSL's one-shot HMAC().
inline void appendHmacIcv(Bytes* esp, EspIntegrity integrity, const Bytes& int_key, bool esn,
                          uint32_t seq_hi) {
  Bytes input = *esp;
  if (esn) {
    const uint32_t hi_n = htonl(seq_hi);
    input.insert(input.end(), reinterpret_cast<const uint8_t*>(&hi_n),
                 reinterpret_cast<const uint8_t*>(&hi_n) + 4);
  }
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(digestOf(integrity), int_key.data(), static_cast<int>(int_key.size()), input.data(),
       input.size(), mac, &mac_len);
  esp->insert(esp->end(), mac, mac + icvLenOf(integrity));
}

inline Bytes rawCbcEsp(const Bytes& key, EspIntegrity integrity, const Bytes& int_key, uint32_t spi,
                       uint64_t seq, bool esn, const Bytes& iv16, const Bytes& plaintext) {
  const EVP_CIPHER* cipher = key.size() == 16   ? EVP_aes_128_cbc()
                             : key.size() == 24 ? EVP_aes_192_cbc()
                                                : EVP_aes_256_cbc();
  Bytes out(8);
  const uint32_t spi_n = htonl(spi);
  const uint32_t lo_n = htonl(static_cast<uint32_t>(seq));
  std::memcpy(out.data(), &spi_n, 4);
  std::memcpy(out.data() + 4, &lo_n, 4);
  out.insert(out.end(), iv16.begin(), iv16.end());
  Bytes ct(plaintext.size() + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(ctx, cipher, nullptr, key.data(), iv16.data());
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  EVP_EncryptUpdate(ctx, ct.data(), &n, plaintext.data(), static_cast<int>(plaintext.size()));
  EVP_CIPHER_CTX_free(ctx);
  ct.resize(plaintext.size());
  out.insert(out.end(), ct.begin(), ct.end());
  appendHmacIcv(&out, integrity, int_key, esn, static_cast<uint32_t>(seq >> 32));
  return out;
}

// inner | 1, 2, 3, ... | pad length | next header, aligned to `align`.
inline Bytes espPlaintext(const Bytes& inner, uint8_t next_header, size_t align) {
  Bytes p = inner;
  const size_t padded = (inner.size() + 2 + align - 1) / align * align;
  const size_t pad = padded - inner.size() - 2;
  for (size_t i = 0; i < pad; ++i) {
    p.push_back(static_cast<uint8_t>(i + 1));
  }
  p.push_back(static_cast<uint8_t>(pad));
  p.push_back(next_header);
  return p;
}

}  // namespace crossgate::dataplane::test
