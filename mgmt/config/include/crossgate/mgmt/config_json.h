// The parsed configuration as JSON (for `crossgate config show --json`, the control socket and
// anyone else who needs a machine-readable view). PSK files appear as paths; their contents are
// never read here.
#pragma once

#include <nlohmann/json.hpp>

#include "crossgate/mgmt/config.h"

namespace crossgate::config {

// Keys mirror the TOML schema in config.h, with defaults filled in: {"source", "appliance",
// "vpn": [{..., "tunnel": [{..., "aws_inside_ip", "customer_inside_ip", "bgp": null|{...}}]}],
// "nat", "dns", "mgmt"}. Addresses and CIDRs are strings; an absent optional is null.
nlohmann::json toJson(const Config& config);

}  // namespace crossgate::config
