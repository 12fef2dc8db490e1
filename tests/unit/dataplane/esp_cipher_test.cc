// The provider-level cipher context (esp_cipher.h): keying errors, padding off, and that a call
// which would hold back part of its input fails instead of leaving bytes unprocessed.
#include "esp_cipher.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>

namespace crossgate::dataplane {
namespace {

constexpr std::array<uint8_t, 16> kKey = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
constexpr std::array<uint8_t, 16> kIv = {};

TEST(ProviderCipher, UnknownCipherIsAnErrorThatNamesIt) {
  ProviderCipher c;
  const Status st = c.init("AES-128-NOPE", kKey, true);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("AES-128-NOPE"), std::string::npos) << st.error().message;
  EXPECT_FALSE(c.ready());
}

TEST(ProviderCipher, CbcProcessesWholeBlocksAtOnce) {
  ProviderCipher c;
  ASSERT_TRUE(c.init("AES-128-CBC", kKey, true));
  std::array<uint8_t, 32> data{};
  ASSERT_TRUE(c.setIv(kIv.data(), kIv.size()));
  EXPECT_TRUE(c.update(data.data(), data.data(), data.size()));
  // Two blocks of zeros under a zero IV: the second ciphertext block differs from the first.
  EXPECT_NE(std::memcmp(data.data(), data.data() + 16, 16), 0);
}

TEST(ProviderCipher, CbcPartialBlockFails) {
  ProviderCipher c;
  ASSERT_TRUE(c.init("AES-128-CBC", kKey, true));
  std::array<uint8_t, 17> data{};
  ASSERT_TRUE(c.setIv(kIv.data(), kIv.size()));
  EXPECT_FALSE(c.update(data.data(), data.data(), data.size()));
}

TEST(ProviderCipher, GcmTagRoundTrip) {
  ProviderCipher enc;
  ProviderCipher dec;
  ASSERT_TRUE(enc.init("AES-128-GCM", kKey, true));
  ASSERT_TRUE(dec.init("AES-128-GCM", kKey, false));
  const std::array<uint8_t, 12> nonce = {9, 9, 9};
  const std::array<uint8_t, 8> aad = {1, 2, 3, 4, 5, 6, 7, 8};
  std::array<uint8_t, 21> data{};  // GCM takes any length
  std::array<uint8_t, 16> tag{};
  ASSERT_TRUE(enc.setIv(nonce.data(), nonce.size()));
  ASSERT_TRUE(enc.update(nullptr, aad.data(), aad.size()));
  ASSERT_TRUE(enc.update(data.data(), data.data(), data.size()));
  ASSERT_TRUE(enc.finish());
  ASSERT_TRUE(enc.getTag(tag.data(), tag.size()));
  ASSERT_TRUE(dec.setIv(nonce.data(), nonce.size()));
  ASSERT_TRUE(dec.update(nullptr, aad.data(), aad.size()));
  ASSERT_TRUE(dec.update(data.data(), data.data(), data.size()));
  ASSERT_TRUE(dec.setTag(tag.data(), tag.size()));
  EXPECT_TRUE(dec.finish());
  EXPECT_EQ(data, (std::array<uint8_t, 21>{}));
  // A flipped tag bit fails verification.
  tag[0] ^= 1;
  ASSERT_TRUE(dec.setIv(nonce.data(), nonce.size()));
  ASSERT_TRUE(dec.update(nullptr, aad.data(), aad.size()));
  ASSERT_TRUE(dec.update(data.data(), data.data(), data.size()));
  ASSERT_TRUE(dec.setTag(tag.data(), tag.size()));
  EXPECT_FALSE(dec.finish());
}

}  // namespace
}  // namespace crossgate::dataplane
