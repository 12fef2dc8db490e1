#include "crossgate/common/net.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace crossgate {

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress ip;
  ip.family_ = Family::kV4;
  ip.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
  ip.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
  ip.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
  ip.bytes_[3] = static_cast<uint8_t>(host_order);
  return ip;
}

IpAddress IpAddress::v6(const std::array<uint8_t, 16>& bytes) {
  IpAddress ip;
  ip.family_ = Family::kV6;
  ip.bytes_ = bytes;
  return ip;
}

uint32_t IpAddress::v4HostOrder() const noexcept {
  return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) |
         uint32_t{bytes_[3]};
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // No embedded NULs: inet_pton would stop at one and accept "::1\0junk".
  if (text.empty() || text.size() > INET6_ADDRSTRLEN ||
      text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  if (text.find(':') == std::string_view::npos) {
    uint32_t value = 0;
    int parts = 0;
    size_t pos = 0;
    while (parts < 4) {
      const size_t end = text.find('.', pos);
      const std::string_view part =
          text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
      if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) {
        return std::nullopt;
      }
      unsigned octet = 0;
      auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), octet);
      if (ec != std::errc() || p != part.data() + part.size() || octet > 255) {
        return std::nullopt;
      }
      value = (value << 8) | octet;
      ++parts;
      if (end == std::string_view::npos) {
        break;
      }
      pos = end + 1;
    }
    // Exactly four parts: "1.2.3" and "1.2.3.4.5" are both rejected.
    if (parts != 4 || std::count(text.begin(), text.end(), '.') != 3) {
      return std::nullopt;
    }
    return v4(value);
  }
  char buf[INET6_ADDRSTRLEN + 1] = {};
  std::memcpy(buf, text.data(), text.size());
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(AF_INET6, buf, bytes.data()) != 1) {
    return std::nullopt;
  }
  return v6(bytes);
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(isV4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof(buf));
  return buf;
}

namespace {

// Zeroes every bit of `ip` past `prefix_len`.
IpAddress mask(const IpAddress& ip, int prefix_len) {
  std::array<uint8_t, 16> b = ip.bytes();
  const int total = ip.bits();
  for (int bit = prefix_len; bit < total; ++bit) {
    b[bit / 8] = static_cast<uint8_t>(b[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  if (ip.isV4()) {
    return IpAddress::v4((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) |
                         b[3]);
  }
  return IpAddress::v6(b);
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text, bool allow_host_bits, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Cidr> {
    if (error != nullptr) {
      *error = std::move(why);
    }
    return std::nullopt;
  };
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return fail("expected an address with a prefix length, such as 10.0.0.0/16");
  }
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) {
    return fail("'" + std::string(text.substr(0, slash)) + "' is not an IP address");
  }
  const std::string_view len_text = text.substr(slash + 1);
  int len = -1;
  auto [p, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (len_text.empty() || ec != std::errc() || p != len_text.data() + len_text.size() || len < 0 ||
      len > ip->bits() || (len_text.size() > 1 && len_text[0] == '0')) {
    return fail("prefix length '" + std::string(len_text) + "' must be 0.." +
                std::to_string(ip->bits()));
  }
  Cidr cidr(*ip, len);
  if (!allow_host_bits && mask(*ip, len) != *ip) {
    return fail("host bits are set; did you mean " + cidr.network().toString() + "/" +
                std::to_string(len) + "?");
  }
  return cidr;
}

IpAddress Cidr::network() const { return mask(address_, prefix_len_); }

bool Cidr::contains(const IpAddress& ip) const noexcept {
  if (ip.family() != address_.family()) {
    return false;
  }
  return mask(ip, prefix_len_) == network();
}

bool Cidr::contains(const Cidr& other) const noexcept {
  return other.prefix_len_ >= prefix_len_ && contains(other.address_);
}

bool Cidr::overlaps(const Cidr& other) const noexcept {
  return contains(other) || other.contains(*this);
}

std::string Cidr::toString() const {
  return address_.toString() + "/" + std::to_string(prefix_len_);
}

}  // namespace crossgate
