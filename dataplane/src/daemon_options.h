// crossgate-dataplane's settings: what main() collects from flags and the config file.
#pragma once

#include <string>
#include <vector>

#include "crossgate/common/net.h"
#include "crossgate/common/result.h"
#include "crossgate/dataplane/dp_proto.h"
#include "tun_io.h"
#include "workers.h"

namespace crossgate::dataplane {

struct DaemonOptions {
  std::string socket_path = CG_DP_SOCKET_PATH;
  std::string stats_socket = "/run/crossgate/dataplane-stats.sock";
  std::vector<IpAddress> listen;
  std::vector<TunnelSpec> tunnels;
  DataplaneOptions dataplane;
  std::string log_level = "info";
};

// "udp-gso,udp-gro,tun-offload,tun-gro" (any subset) turns those offloads off.
Status disableOffloads(std::string_view list, DataplaneOptions* options);

// The tunnels of a crossgate config file (vpn[].tunnel[]: interface, if_id, the customer inside
// address with the /30, mtu). Errors carry the loader's diagnostics (file:line: key: message).
Result<std::vector<TunnelSpec>> tunnelsFromConfig(const std::string& path);

}  // namespace crossgate::dataplane
