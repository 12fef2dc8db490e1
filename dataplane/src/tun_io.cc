#include "tun_io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "crossgate/common/log.h"

namespace crossgate::dataplane {
namespace {

Error sysError(const std::string& what) {
  return makeError(Errc::kIo, fmt::format("{}: {}", what, std::strerror(errno)));
}

bool parseU32(std::string_view s, uint32_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

Result<TunnelSpec> parseTunnelSpec(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ':') {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  const std::string where = fmt::format("--tunnel {}", text);
  if (parts.size() != 4) {
    return makeError(Errc::kInvalidArgument, where + ": expected IFNAME:IF_ID:ADDR/PREFIX:MTU");
  }
  TunnelSpec spec;
  spec.ifname = std::string(parts[0]);
  if (spec.ifname.empty() || spec.ifname.size() >= IFNAMSIZ) {
    return makeError(Errc::kInvalidArgument, where + ": interface name must be 1..15 characters");
  }
  if (!parseU32(parts[1], &spec.if_id) || spec.if_id == 0) {
    return makeError(Errc::kInvalidArgument, where + ": IF_ID must be a number > 0");
  }
  std::string err;
  auto cidr = Cidr::parse(parts[2], true, &err);
  if (!cidr || !cidr->address().isV4()) {
    return makeError(Errc::kInvalidArgument, where + ": ADDR/PREFIX must be IPv4 (" + err + ")");
  }
  spec.inside = *cidr;
  if (!parseU32(parts[3], &spec.mtu) || spec.mtu < 576 || spec.mtu > 9000) {
    return makeError(Errc::kInvalidArgument, where + ": MTU must be 576..9000");
  }
  return spec;
}

Result<std::unique_ptr<TunDevice>> TunDevice::open(const TunnelSpec& spec,
                                                   const TunOptions& options) {
  std::unique_ptr<TunDevice> dev(new TunDevice());
  dev->spec_ = spec;
  dev->fd_.reset(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (!dev->fd_) {
    return sysError("open /dev/net/tun");
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, spec.ifname.c_str(), spec.ifname.size());
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(dev->fd_.get(), TUNSETIFF, &ifr) != 0) {
    return sysError("TUNSETIFF " + spec.ifname);
  }
  int hdr_size = 10;
  if (::ioctl(dev->fd_.get(), TUNSETVNETHDRSZ, &hdr_size) != 0) {
    return sysError("TUNSETVNETHDRSZ " + spec.ifname);
  }
  unsigned offloads = options.offload ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
  if (::ioctl(dev->fd_.get(), TUNSETOFFLOAD, offloads) != 0) {
    log::get("dp")->warn("[tun={}] TUNSETOFFLOAD refused ({}): no TSO", spec.ifname,
                         std::strerror(errno));
    offloads = 0;
    (void)::ioctl(dev->fd_.get(), TUNSETOFFLOAD, 0u);
  }
  dev->offload_ = offloads != 0;
  const uint32_t ours = spec.inside.address().v4HostOrder();
  const uint32_t net = spec.inside.network().v4HostOrder();
  const uint32_t peer = (ours == net + 1) ? net + 2 : net + 1;
  for (int i = 0; i < 4; ++i) {
    dev->icmp_source_[static_cast<size_t>(i)] = static_cast<uint8_t>(peer >> (24 - 8 * i));
  }
  if (Status st = dev->configure(); !st) {
    return st.error();
  }
  log::get("dp")->info("[tun={} if_id={}] up with {} mtu {}{}", spec.ifname, spec.if_id,
                       spec.inside.toString(), spec.mtu, dev->offload_ ? " (TSO)" : "");
  return dev;
}

Status TunDevice::configure() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) {
    return sysError("socket for ioctl");
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, spec_.ifname.c_str(), spec_.ifname.size());
  auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(spec_.inside.address().v4HostOrder());
  if (::ioctl(s.get(), SIOCSIFADDR, &ifr) != 0) {
    return sysError("SIOCSIFADDR " + spec_.ifname);
  }
  const int plen = spec_.inside.prefixLen();
  sin->sin_addr.s_addr = htonl(plen == 0 ? 0 : ~uint32_t{0} << (32 - plen));
  if (::ioctl(s.get(), SIOCSIFNETMASK, &ifr) != 0) {
    return sysError("SIOCSIFNETMASK " + spec_.ifname);
  }
  // The tunnel carries IPv4 (the /30 inside addresses): keep the kernel's IPv6 link-local
  // chatter (router and multicast listener solicitations) out of it.
  {
    const std::string knob = "/proc/sys/net/ipv6/conf/" + spec_.ifname + "/disable_ipv6";
    UniqueFd f(::open(knob.c_str(), O_WRONLY | O_CLOEXEC));
    if (f && ::write(f.get(), "1", 1) != 1) {
      log::get("dp")->debug("[tun={}] could not disable IPv6", spec_.ifname);
    }
  }
  ifr.ifr_mtu = static_cast<int>(spec_.mtu);
  if (::ioctl(s.get(), SIOCSIFMTU, &ifr) != 0) {
    return sysError("SIOCSIFMTU " + spec_.ifname);
  }
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) {
    return sysError("SIOCGIFFLAGS " + spec_.ifname);
  }
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) {
    return sysError("SIOCSIFFLAGS " + spec_.ifname);
  }
  return okStatus();
}

}  // namespace crossgate::dataplane
