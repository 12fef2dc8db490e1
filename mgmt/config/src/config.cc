#include "crossgate/mgmt/config.h"

#include <array>

#include "crossgate/mgmt/config_loader.h"

namespace crossgate::config {
namespace {

// `base` plus `offset`, carrying across bytes (both families).
IpAddress addToAddress(const IpAddress& base, uint8_t offset) {
  if (base.isV4()) {
    return IpAddress::v4(base.v4HostOrder() + offset);
  }
  std::array<uint8_t, 16> bytes = base.bytes();
  unsigned carry = offset;
  for (int i = 15; i >= 0 && carry != 0; --i) {
    const unsigned sum = bytes[i] + carry;
    bytes[i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
  return IpAddress::v6(bytes);
}

}  // namespace

IpAddress Tunnel::awsInsideIp() const { return addToAddress(inside_cidr.network(), 1); }

IpAddress Tunnel::customerInsideIp() const { return addToAddress(inside_cidr.network(), 2); }

std::string DnsEndpoint::toString() const {
  const std::string port_text = std::to_string(port);
  if (address.isV4()) {
    return address.toString() + ":" + port_text;
  }
  return "[" + address.toString() + "]:" + port_text;
}

const char* toString(VpnMode mode) {
  switch (mode) {
    case VpnMode::kActiveStandby:
      return "active-standby";
    case VpnMode::kEcmp:
      return "ecmp";
  }
  return "unknown";
}

std::string Diagnostic::toString() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) {
      out += ":" + std::to_string(column);
    }
  }
  if (!key_path.empty()) {
    out += (out.empty() ? "" : ": ") + key_path;
  }
  out += (out.empty() ? "" : ": ") + message;
  return out;
}

}  // namespace crossgate::config
