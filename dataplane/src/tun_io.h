// One TUN device per tunnel (if_id): IFF_TUN | IFF_NO_PI | IFF_VNET_HDR with TSO/checksum
// offloads, the customer inside address (/30) and the MTU, brought up. Reads return a virtio
// header plus a frame of up to 64 KiB; writes take the same.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crossgate/common/net.h"
#include "crossgate/common/result.h"
#include "crossgate/common/unique_fd.h"

namespace crossgate::dataplane {

struct TunnelSpec {
  std::string ifname;
  uint32_t if_id = 0;
  Cidr inside;  // our inside address with its prefix (e.g. 169.254.44.2/30)
  uint32_t mtu = 1436;
};

// "IFNAME:IF_ID:ADDR/PREFIX:MTU" (the --tunnel flag). Errors name the part that is wrong.
Result<TunnelSpec> parseTunnelSpec(std::string_view text);

struct TunOptions {
  bool offload = true;  // TSO/CSUM offloads (big frames from the kernel)
};

class TunDevice {
 public:
  static Result<std::unique_ptr<TunDevice>> open(const TunnelSpec& spec, const TunOptions& options);
  int fd() const noexcept { return fd_.get(); }
  const TunnelSpec& spec() const noexcept { return spec_; }
  bool offload() const noexcept { return offload_; }
  // The source of the ICMP errors we generate: the peer's inside address of the /30 (the other
  // usable host), as if the tunnel's far end answered. Our own address would be dropped by the
  // kernel as a martian source.
  const uint8_t* icmpSourceAddr() const noexcept { return icmp_source_.data(); }

 private:
  TunDevice() = default;
  Status configure();
  TunnelSpec spec_;
  UniqueFd fd_;
  bool offload_ = false;
  std::array<uint8_t, 4> icmp_source_{};
};

}  // namespace crossgate::dataplane
