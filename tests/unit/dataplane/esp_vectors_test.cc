// Known-answer tests with published vectors:
//  - AES-GCM ESP packets of draft-mcgrew-gcm-test-01 (SPI, 32- and 64-bit sequence numbers),
//  - AES-CBC ESP packets of RFC 3602 §4, cases 5-8,
//  - HMAC vectors of RFC 2202 (SHA-1), RFC 4231 and RFC 4868 (SHA-2), through the truncated-ICV
//    path.
#include <gtest/gtest.h>

#include "esp_crypto.h"
#include "esp_sa_internal.h"
#include "esp_test_util.h"

namespace crossgate::dataplane {
namespace {

using test::Bytes;
using test::hex;
using test::toHex;

struct GcmVector {
  const char* name;
  const char* key;  // key | salt
  uint32_t spi;
  uint64_t seq;
  bool esn;
  const char* iv;
  const char* plain;  // the ESP payload: inner | padding | pad length | next header
  const char* ctag;   // ciphertext | ICV
};

// draft-mcgrew-gcm-test-01 §4 (the vectors whose plaintext the draft lists).
const GcmVector kGcmVectors[] = {
    {"aes128_esn_spi4321", "4c80cdefbb5d10da906ac73c3613a634 2e443b68", 0x00004321,
     0x8765432100000000ull, true, "4956ed7e3b244cfe",
     "45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
     "00000000045f736970045f756470037369700963796265726369747902646b00"
     "0021000101020201",
     "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
     "cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
     "61bc17d768fd9732459018148f6cbe722fd04796562dfdb4"},
    {"aes192_spi_a5f8", "feffe9928665731c6d6a8f9467308308feffe9928665731c cafebabe", 0x0000a5f8,
     0x0a, false, "facedbaddecaf888",
     "45000028a4ad4000400678800a01038f0a010612802306b8cb712602dd6bb03e"
     "501016d075680001",
     "a5b1f8066029aea40e598b8122de02420938b3ab33f828e687b8858b5bfbdbd0"
     "315b27452144cc7795457b9652037f5318027b5b4cd7a636"},
    {"aes256_spi_4a2cbfe3",
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab 11223344", 0x4a2cbfe3, 2,
     false, "0102030405060708",
     "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
     "7002400020bf0000020405b40101040201020201",
     "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
     "748a637985771d347f0545659f14e99def842d8eb335f4eecfdbf831824b4c49"
     "15956c96"},
    {"aes128_esn_spi42f67e3f", "3de09874b388e6491988d0c3607eae1f 57690e43", 0x42f67e3f,
     0x1010101010101010ull, true, "4e280000a2fca1a3",
     "4500003c99c300008001cb7c40679318010101010800085c0200430061626364"
     "65666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
     "fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b00d1138ec9c357917"
     "65acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a"
     "e0d731cc978ecafaeae88f00e80d6e48"},
    {"aes128_esn_spi42f67e3f_short", "3de09874b388e6491988d0c3607eae1f 57690e43", 0x42f67e3f,
     0x1010101010101010ull, true, "4e280000a2fca1a3",
     "4500001c42a200008001441f406793b6e00000020a00f5ff01020201",
     "fba2ca845e5df9f0f22c3e6e86dd831e1fc65792cd1af9130e1379ed369f071f"
     "35e034be95f112e4e7d05d35"},
    {"aes128_esn_spi100", "abbccddef00112233445566778899aab decaf888", 0x00000100, 1, true,
     "cafedebaceface74",
     "4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d5"
     "00004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec95"
     "9b6266c04722b14923010101",
     "18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f"
     "9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c22"
     "6f2127b27db35724e7845d68651f57e65f354f75ff17015769623436"},
    {"aes256_esn_spi17405e67",
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab 73616c74", 0x17405e67,
     0x156f3126dd0db99bull, true, "616e640169766563",
     "45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb712602"
     "50101f646d540001",
     "f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57f"
     "f4d3a31ce673119e451626c2415771e3b7eebca614c89b35"},
    {"aes256_esn_seq_max",
     "6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961 7475726e", 0x796b6963,
     0xffffffffffffffffull, true, "333021696765746d",
     "45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
     "65666768696a6b6c6d6e6f707172737401020201",
     "f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86"
     "4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9d0937ba2945f669368661a32"
     "9fb4c053"},
};

SaConfig gcmConfig(const GcmVector& v, bool inbound) {
  SaConfig c = test::makeConfig(test::allAlgos()[0], inbound, v.esn, v.spi);
  c.enc_key = Secret(hex(v.key));
  return c;
}

class GcmDraftVectors : public ::testing::TestWithParam<GcmVector> {};

// The full receive path: SA lookup, ESN inference, AAD, nonce, ICV check, decryption. The draft's
// payloads carry next header 1 (they are not tunnel-mode packets), so the path stops with
// bad_next_header, after the ICV verified and the payload was decrypted in place.
TEST_P(GcmDraftVectors, DecryptsThroughPacketPath) {
  const GcmVector& v = GetParam();
  SaTable table(1);
  ASSERT_TRUE(table.install(gcmConfig(v, true), 0).ok());
  auto snap = table.snapshot();
  const SaEntry* entry = snap->findInbound(htonl(v.spi));
  ASSERT_NE(entry, nullptr);
  if (v.seq > 1) {
    // Position the window just below the vector's number, as if the SA had been running.
    Sa::Internals::ReplayLock lock(*entry->sa);
    ASSERT_EQ(Sa::Internals::replay(*entry->sa).checkAndAdvance(v.seq - 1), EspDrop::kNone);
  }
  Bytes packet(8);
  const uint32_t spi_n = htonl(v.spi);
  const uint32_t lo_n = htonl(static_cast<uint32_t>(v.seq));
  std::memcpy(packet.data(), &spi_n, 4);
  std::memcpy(packet.data() + 4, &lo_n, 4);
  Bytes iv = hex(v.iv);
  Bytes ctag = hex(v.ctag);
  packet.insert(packet.end(), iv.begin(), iv.end());
  packet.insert(packet.end(), ctag.begin(), ctag.end());

  test::Frame frame(packet);
  EspWorker worker(0);
  const SaEntry* got = nullptr;
  const EspDrop verdict = espDecrypt(*snap, frame.pkt, worker, &got);
  EXPECT_EQ(verdict, EspDrop::bad_next_header) << espDropName(verdict);
  const Bytes plain = hex(v.plain);
  EXPECT_EQ(toHex(frame.pkt.data() + 16, plain.size()), toHex(plain));
  // The ICV verified, so the window advanced: the same packet is now a replay.
  test::Frame again(packet);
  EXPECT_EQ(espDecrypt(*snap, again.pkt, worker, &got), EspDrop::replay);

  // A flipped ICV bit fails before anything is decrypted or advanced.
  SaTable fresh(1);
  ASSERT_TRUE(fresh.install(gcmConfig(v, true), 0).ok());
  auto snap2 = fresh.snapshot();
  if (v.seq > 1) {
    Sa& sa = *snap2->findInbound(htonl(v.spi))->sa;
    Sa::Internals::ReplayLock lock(sa);
    ASSERT_EQ(Sa::Internals::replay(sa).checkAndAdvance(v.seq - 1), EspDrop::kNone);
  }
  Bytes bad = packet;
  bad.back() ^= 1;
  test::Frame tampered(bad);
  EXPECT_EQ(espDecrypt(*snap2, tampered.pkt, worker, &got), EspDrop::bad_icv);
}

// The cipher layer with the draft's explicit IVs reproduces ciphertext and ICV exactly.
TEST_P(GcmDraftVectors, SealMatchesVector) {
  const GcmVector& v = GetParam();
  auto crypto = SaCrypto::create(gcmConfig(v, false), 1);
  ASSERT_TRUE(crypto.ok());
  Bytes aad(4);
  const uint32_t spi_n = htonl(v.spi);
  std::memcpy(aad.data(), &spi_n, 4);
  if (v.esn) {
    const uint32_t hi_n = htonl(static_cast<uint32_t>(v.seq >> 32));
    aad.insert(aad.end(), reinterpret_cast<const uint8_t*>(&hi_n),
               reinterpret_cast<const uint8_t*>(&hi_n) + 4);
  }
  const uint32_t lo_n = htonl(static_cast<uint32_t>(v.seq));
  aad.insert(aad.end(), reinterpret_cast<const uint8_t*>(&lo_n),
             reinterpret_cast<const uint8_t*>(&lo_n) + 4);
  Bytes data = hex(v.plain);
  Bytes tag(16);
  Bytes iv = hex(v.iv);
  ASSERT_TRUE((*crypto)->gcmSeal((*crypto)->worker(0), iv.data(), aad.data(),
                                 static_cast<uint32_t>(aad.size()), data.data(),
                                 static_cast<uint32_t>(data.size()), tag.data()));
  data.insert(data.end(), tag.begin(), tag.end());
  EXPECT_EQ(toHex(data), toHex(hex(v.ctag)));
}

INSTANTIATE_TEST_SUITE_P(Draft, GcmDraftVectors, ::testing::ValuesIn(kGcmVectors),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// ---- RFC 3602 §4, cases 5-8 (AES-128-CBC ESP packets, no ICV in the RFC) ----

struct CbcVector {
  const char* name;
  const char* key;
  uint32_t spi;
  uint32_t seq;
  uint8_t next_header;
  const char* payload;  // the inner data before padding
  const char* packet;   // SPI | seq | IV | ciphertext
};

const CbcVector kCbcVectors[] = {
    {"case5", "90d382b410eeba7ad938c46cec1a82bf", 0x4321, 1, 1,
     "08000ebda70a00008e9c083db95b070008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324"
     "25262728292a2b2c2d2e2f3031323334353637",
     "0000432100000001e96e8c08ab465763fd098d45dd3ff893f663c25d325c18c6a9453e194e120849a4870b66cc"
     "6b9965330013b4898dc856a4699e523a55db080b59ec3a8e4b7e52775b07d1db34ed9c538ab50c551b874aa269"
     "add047ad2d5913ac19b7cfbad4a6"},
    {"case6", "90d382b410eeba7ad938c46cec1a82bf", 0x4321, 8, 1,
     "0800b5e8a80a0500a69c083d0b660e00777777777777777777777777",
     "000043210000000869d08df7d203329db093fc4924e5bd80f51995881ec4e0c4488987ce742e8109689bb379d2"
     "d750c0d915dca346a89f75"},
    {"case7", "0123456789abcdef0123456789abcdef", 0x8765, 2, 4,
     "45000054090400004001f988c0a87b03c0a87bc808009f76a90a0100b49c083d02a2040008090a0b0c0d0e0f10"
     "1112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
     "0000876500000002f4e765244f6407adf13dc1380f673f37773b5241a4c449225e4f3ce5ed611b0c237ca96cf7"
     "4a93013c1b0ea1a0cf70f8e4ecaec78ac53aad7a0f022b859243c647752e94a859352b8a4d4d2decd136e5c177"
     "f132ad3fbfb2201ac9904c74ee0a109e0ca1e4dfe9d5a100b842f1c22f0d"},
    {"case8", "0123456789abcdef0123456789abcdef", 0x8765, 5, 4,
     "45000044090c00004001f990c0a87b03c0a87bc80800d63caa0a0200c69c083da3de0300ffffffffffffffffff"
     "ffffffffffffffffffffffffffffffffffffffffffffff",
     "000087650000000585d47224b5f3dd5d2101d4ea8dffab2215b92683819596a8047232cc00f7048fe45318e11f"
     "8a0f62ede3c3fc61203bb50f980a08c9843fd3a1b06d5c07ff9639b7eb7dfb3512e5de435e7207ed971ef3d272"
     "6d9b5ef6affc6d17a0decbb13892"},
};

SaConfig cbcConfig(const CbcVector& v, bool inbound) {
  SaConfig c = test::makeConfig(test::allAlgos()[2], inbound, false, v.spi);
  c.enc_key = Secret(hex(v.key));
  return c;
}

class CbcRfc3602 : public ::testing::TestWithParam<CbcVector> {};

// Encrypting the RFC's padded payload with the RFC's IV reproduces the RFC's packet.
TEST_P(CbcRfc3602, CipherMatchesVector) {
  const CbcVector& v = GetParam();
  auto crypto = SaCrypto::create(cbcConfig(v, false), 1);
  ASSERT_TRUE(crypto.ok());
  const Bytes packet = hex(v.packet);
  Bytes data = test::espPlaintext(hex(v.payload), v.next_header, 16);
  ASSERT_EQ(data.size() + 24, packet.size());
  ASSERT_TRUE((*crypto)->cbcEncrypt((*crypto)->worker(0), packet.data() + 8, data.data(),
                                    static_cast<uint32_t>(data.size())));
  EXPECT_EQ(toHex(data), toHex(packet.data() + 24, packet.size() - 24));
}

// The RFC's packet plus an HMAC-SHA1-96 ICV (from OpenSSL's one-shot HMAC) decrypts through the
// packet path: tunnel-mode cases 7 and 8 deliver the inner packet, 5 and 6 (next header 1, ICMP
// in transport mode) stop at the next header check after decryption.
TEST_P(CbcRfc3602, DecryptsThroughPacketPath) {
  const CbcVector& v = GetParam();
  SaTable table(1);
  SaConfig config = cbcConfig(v, true);
  const Bytes int_key(config.int_key.bytes().begin(), config.int_key.bytes().end());
  ASSERT_TRUE(table.install(std::move(config), 0).ok());
  Bytes packet = hex(v.packet);
  test::appendHmacIcv(&packet, EspIntegrity::kHmacSha1_96, int_key, false, 0);
  test::Frame frame(packet);
  EspWorker worker(0);
  const SaEntry* entry = nullptr;
  auto snap = table.snapshot();
  const EspDrop verdict = espDecrypt(*snap, frame.pkt, worker, &entry);
  const Bytes payload = hex(v.payload);
  if (v.next_header == 4) {
    ASSERT_EQ(verdict, EspDrop::kNone) << espDropName(verdict);
    EXPECT_EQ(toHex(frame.bytes()), toHex(payload));
    EXPECT_EQ(entry->sa->stats().packets, 1u);
    EXPECT_EQ(entry->sa->stats().bytes, payload.size());
  } else {
    EXPECT_EQ(verdict, EspDrop::bad_next_header) << espDropName(verdict);
    EXPECT_EQ(toHex(frame.pkt.data() + 24, payload.size()), toHex(payload));
  }
}

// Our encapsulation of the tunnel-mode payloads yields the RFC's plaintext layout (padding
// 1, 2, 3, ..., pad length, next header 4) under whatever IV the SA chose: decrypting our packet
// with plain OpenSSL gives exactly the RFC's plaintext.
TEST(CbcRfc3602Tunnel, EncapsulationLayoutMatchesVector) {
  int checked = 0;
  for (const CbcVector& v : kCbcVectors) {
    if (v.next_header != 4) {
      continue;  // cases 5 and 6 are transport mode
    }
    ++checked;
    SaTable table(1);
    ASSERT_TRUE(table.install(cbcConfig(v, false), 0).ok());
    auto snap = table.snapshot();
    test::Frame frame(hex(v.payload));
    EspWorker worker(0);
    const SaEntry* entry = nullptr;
    ASSERT_EQ(espEncrypt(*snap, 7, frame.pkt, worker, &entry), EspDrop::kNone);
    const Bytes ours = frame.bytes();
    const Bytes rfc = hex(v.packet);
    ASSERT_EQ(ours.size(), rfc.size() + 12);  // + ICV
    const Bytes key = hex(v.key);
    Bytes plain(ours.size() - 24 - 12);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    EVP_DecryptInit_ex(ctx, EVP_aes_128_cbc(), nullptr, key.data(), ours.data() + 8);
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    EVP_DecryptUpdate(ctx, plain.data(), &n, ours.data() + 24, static_cast<int>(plain.size()));
    EVP_CIPHER_CTX_free(ctx);
    EXPECT_EQ(toHex(plain), toHex(test::espPlaintext(hex(v.payload), 4, 16))) << v.name;
    EXPECT_EQ(toHex(ours.data(), 8), toHex(hex("00008765 00000001"))) << v.name;
  }
  EXPECT_EQ(checked, 2);
}

INSTANTIATE_TEST_SUITE_P(Rfc3602, CbcRfc3602, ::testing::ValuesIn(kCbcVectors),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// ---- HMAC vectors through the truncated-ICV path ----

struct HmacVector {
  const char* name;
  EspIntegrity integrity;
  const char* key;
  const char* data;  // ASCII
  const char* mac;   // full HMAC output; the ICV is its first icv_len bytes
};

const HmacVector kHmacVectors[] = {
    // RFC 2202 §3, test cases 1 and 2.
    {"rfc2202_1", EspIntegrity::kHmacSha1_96, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"},
    {"rfc2202_2", EspIntegrity::kHmacSha1_96, "4a656665", "what do ya want for nothing?",
     "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    // RFC 4231 §4.2 and §4.3 (test cases 1 and 2).
    {"rfc4231_1_sha256", EspIntegrity::kHmacSha256_128, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"rfc4231_1_sha384", EspIntegrity::kHmacSha384_192, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "Hi There",
     "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2"
     "fa9cb6"},
    {"rfc4231_1_sha512", EspIntegrity::kHmacSha512_256, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "Hi There",
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eae"
     "a3f4e4be9d914eeb61f1702e696c203a126854"},
    {"rfc4231_2_sha256", EspIntegrity::kHmacSha256_128, "4a656665", "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {"rfc4231_2_sha384", EspIntegrity::kHmacSha384_192, "4a656665", "what do ya want for nothing?",
     "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfa"
     "b21649"},
    {"rfc4231_2_sha512", EspIntegrity::kHmacSha512_256, "4a656665", "what do ya want for nothing?",
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8"
     "f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
    // RFC 4868 §2.7.2 (keys of the hash output size, as ESP uses them).
    {"rfc4868_auth256_1", EspIntegrity::kHmacSha256_128,
     "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
     "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"},
};

class HmacVectors : public ::testing::TestWithParam<HmacVector> {};

TEST_P(HmacVectors, TruncatedIcvMatches) {
  const HmacVector& v = GetParam();
  SaConfig c = test::makeConfig(test::allAlgos()[2], false, false, 1);
  c.integrity = v.integrity;
  c.int_key = Secret(hex(v.key));
  auto crypto = SaCrypto::create(c, 2);
  ASSERT_TRUE(crypto.ok());
  const std::string data = v.data;
  const Bytes mac = hex(v.mac);
  const uint32_t icv_len = (*crypto)->icvLen();
  ASSERT_EQ(icv_len, test::icvLenOf(v.integrity));
  // Whole message in one part, and split in two parts (the ESN layout), on both workers, twice
  // (the context is reused).
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  const auto len = static_cast<uint32_t>(data.size());
  for (unsigned w = 0; w < 2; ++w) {
    for (int round = 0; round < 2; ++round) {
      uint8_t icv[32] = {};
      ASSERT_TRUE((*crypto)->hmac((*crypto)->worker(w), bytes, len, nullptr, 0, icv));
      EXPECT_EQ(toHex(icv, icv_len), toHex(mac.data(), icv_len));
      ASSERT_TRUE((*crypto)->hmac((*crypto)->worker(w), bytes, 3, bytes + 3, len - 3, icv));
      EXPECT_EQ(toHex(icv, icv_len), toHex(mac.data(), icv_len));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rfc, HmacVectors, ::testing::ValuesIn(kHmacVectors),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace crossgate::dataplane
