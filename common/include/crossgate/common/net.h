// IP addresses and prefixes (IPv4 and IPv6), parsed strictly.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crossgate {

class IpAddress {
 public:
  enum class Family : uint8_t { kV4, kV6 };

  IpAddress() = default;
  static IpAddress v4(uint32_t host_order);
  static IpAddress v6(const std::array<uint8_t, 16>& bytes);
  // Strict: dotted quad with no leading zeros, or an inet_pton IPv6 literal. No scope ids.
  static std::optional<IpAddress> parse(std::string_view text);

  Family family() const noexcept { return family_; }
  bool isV4() const noexcept { return family_ == Family::kV4; }
  uint32_t v4HostOrder() const noexcept;
  const std::array<uint8_t, 16>& bytes() const noexcept { return bytes_; }  // v4 in [0..3]
  int bits() const noexcept { return isV4() ? 32 : 128; }
  std::string toString() const;

  bool operator==(const IpAddress&) const = default;
  auto operator<=>(const IpAddress&) const = default;

 private:
  Family family_ = Family::kV4;
  std::array<uint8_t, 16> bytes_{};
};

class Cidr {
 public:
  Cidr() = default;
  Cidr(IpAddress address, int prefix_len) : address_(address), prefix_len_(prefix_len) {}
  // "a.b.c.d/n" or "x::/n". With allow_host_bits=false, host bits set is an error
  // (10.0.0.1/24); the optional error text says what is wrong.
  static std::optional<Cidr> parse(std::string_view text, bool allow_host_bits = false,
                                   std::string* error = nullptr);

  const IpAddress& address() const noexcept { return address_; }
  int prefixLen() const noexcept { return prefix_len_; }
  IpAddress network() const;
  bool contains(const IpAddress& ip) const noexcept;
  bool contains(const Cidr& other) const noexcept;
  bool overlaps(const Cidr& other) const noexcept;
  std::string toString() const;

  bool operator==(const Cidr&) const = default;

 private:
  IpAddress address_;
  int prefix_len_ = 0;
};

}  // namespace crossgate
