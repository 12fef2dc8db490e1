// AWS algorithm names (as the Generic file and the XML print them) -> strongSwan proposal
// tokens. Only what AWS tunnels accept is known; anything else is an error for the caller.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crossgate::aws_import::detail {

struct Cipher {
  std::string token;  // "aes128", "aes256gcm16"
  bool aead = false;
};

// "aes-128-cbc" -> aes128, "aes-256-gcm-16" -> aes256gcm16, ...
std::optional<Cipher> cipherToken(std::string_view aws_name);
// "sha1" / "hmac-sha1-96" -> sha1, "sha2-256" / "hmac-sha2-256-128" -> sha256, ...
std::optional<std::string> integrityToken(std::string_view aws_name);
// "Group 2", "group2", "Diffie-Hellman Group 14", "14" -> the group number (0 if not one).
int parseDhGroup(std::string_view text);
// 2 -> "modp1024", 20 -> "ecp384"; nullptr for groups AWS does not offer.
const char* dhToken(int group);

// "aes128-sha1-modp1024"; AEAD ciphers take a PRF instead ("aes256gcm16-prfsha384-ecp384").
std::string ikeProposal(const Cipher& cipher, std::string_view integrity, const char* dh);
// "aes128-sha1-modp1024"; AEAD ciphers carry no integrity ("aes256gcm16-ecp384").
std::string espProposal(const Cipher& cipher, std::string_view integrity, const char* dh);

}  // namespace crossgate::aws_import::detail
