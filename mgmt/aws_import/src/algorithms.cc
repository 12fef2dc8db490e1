#include "algorithms.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace crossgate::aws_import::detail {
namespace {

std::string normalized(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != ' ' && c != '\t') {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return out;
}

struct Name {
  std::string_view aws;
  std::string_view token;
};

constexpr Name kCiphers[] = {
    {"aes-128-cbc", "aes128"},
    {"aes128", "aes128"},
    {"aes-128", "aes128"},
    {"aes-256-cbc", "aes256"},
    {"aes256", "aes256"},
    {"aes-256", "aes256"},
    {"aes-128-gcm-16", "aes128gcm16"},
    {"aes128-gcm-16", "aes128gcm16"},
    {"aes-256-gcm-16", "aes256gcm16"},
    {"aes256-gcm-16", "aes256gcm16"},
};

constexpr Name kIntegrity[] = {
    {"sha1", "sha1"},
    {"sha-1", "sha1"},
    {"hmac-sha1", "sha1"},
    {"hmac-sha1-96", "sha1"},
    {"sha2-256", "sha256"},
    {"sha256", "sha256"},
    {"hmac-sha256-128", "sha256"},
    {"hmac-sha2-256-128", "sha256"},
    {"sha2-384", "sha384"},
    {"sha384", "sha384"},
    {"hmac-sha384-192", "sha384"},
    {"hmac-sha2-384-192", "sha384"},
    {"sha2-512", "sha512"},
    {"sha512", "sha512"},
    {"hmac-sha512-256", "sha512"},
    {"hmac-sha2-512-256", "sha512"},
};

struct Group {
  int number;
  const char* token;
};

// The phase 1 and phase 2 groups AWS offers (2, 5, 14-24).
constexpr Group kGroups[] = {
    {2, "modp1024"},      {5, "modp1536"},  {14, "modp2048"},     {15, "modp3072"},
    {16, "modp4096"},     {17, "modp6144"}, {18, "modp8192"},     {19, "ecp256"},
    {20, "ecp384"},       {21, "ecp521"},   {22, "modp1024s160"}, {23, "modp2048s224"},
    {24, "modp2048s256"},
};

}  // namespace

std::optional<Cipher> cipherToken(std::string_view aws_name) {
  const std::string name = normalized(aws_name);
  for (const Name& n : kCiphers) {
    if (n.aws == name) {
      return Cipher{std::string(n.token), n.token.find("gcm") != std::string_view::npos};
    }
  }
  return std::nullopt;
}

std::optional<std::string> integrityToken(std::string_view aws_name) {
  const std::string name = normalized(aws_name);
  for (const Name& n : kIntegrity) {
    if (n.aws == name) {
      return std::string(n.token);
    }
  }
  return std::nullopt;
}

int parseDhGroup(std::string_view text) {
  std::string s = normalized(text);
  for (std::string_view prefix : {"diffie-hellman", "group"}) {
    if (s.substr(0, prefix.size()) == prefix) {
      s.erase(0, prefix.size());
    }
  }
  if (s.empty() || s.size() > 3 || !std::all_of(s.begin(), s.end(), ::isdigit)) {
    return 0;
  }
  int group = 0;
  std::from_chars(s.data(), s.data() + s.size(), group);
  return group;
}

const char* dhToken(int group) {
  for (const Group& g : kGroups) {
    if (g.number == group) {
      return g.token;
    }
  }
  return nullptr;
}

std::string ikeProposal(const Cipher& cipher, std::string_view integrity, const char* dh) {
  if (cipher.aead) {
    return cipher.token + "-prf" + std::string(integrity) + "-" + dh;
  }
  return cipher.token + "-" + std::string(integrity) + "-" + dh;
}

std::string espProposal(const Cipher& cipher, std::string_view integrity, const char* dh) {
  if (cipher.aead) {
    return cipher.token + "-" + dh;
  }
  return cipher.token + "-" + std::string(integrity) + "-" + dh;
}

}  // namespace crossgate::aws_import::detail
