#include "daemon_options.h"

#include <fmt/format.h>

#ifdef CROSSGATE_DP_HAVE_CONFIG
#include "crossgate/mgmt/config_loader.h"
#endif

namespace crossgate::dataplane {

Status disableOffloads(std::string_view list, DataplaneOptions* options) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string_view::npos) {
      end = list.size();
    }
    const std::string_view item = list.substr(start, end - start);
    if (item == "udp-gso") {
      options->udp_gso = false;
    } else if (item == "udp-gro") {
      options->udp_gro = false;
    } else if (item == "tun-offload") {
      options->tun_offload = false;
    } else if (item == "tun-gro") {
      options->tun_gro = false;
    } else if (!item.empty()) {
      return makeError(Errc::kInvalidArgument,
                       fmt::format("--disable-offload: unknown offload '{}' (known: udp-gso, "
                                   "udp-gro, tun-offload, tun-gro)", item));
    }
    start = end + 1;
  }
  return okStatus();
}

Result<std::vector<TunnelSpec>> tunnelsFromConfig(const std::string& path) {
#ifdef CROSSGATE_DP_HAVE_CONFIG
  config::LoadOptions lo;
  lo.check_secret_files = false;  // the dataplane never reads PSKs
  auto loaded = config::loadFile(path, lo);
  if (!loaded.ok()) {
    std::string text;
    for (const auto& d : loaded.errors) {
      text += "\n  " + d.toString();
    }
    return makeError(Errc::kParse, fmt::format("{}: invalid config:{}", path, text));
  }
  std::vector<TunnelSpec> out;
  for (const auto& vpn : loaded.config->vpns) {
    for (const auto& t : vpn.tunnels) {
      TunnelSpec spec;
      spec.ifname = t.interface.empty() ? fmt::format("cgt{}", t.if_id) : t.interface;
      spec.if_id = t.if_id;
      spec.inside = Cidr(t.customerInsideIp(), t.inside_cidr.prefixLen());
      spec.mtu = t.mtu;
      out.push_back(spec);
    }
  }
  return out;
#else
  return makeError(Errc::kUnavailable,
                   fmt::format("--config {}: this build has no config loader; use --tunnel", path));
#endif
}

}  // namespace crossgate::dataplane
