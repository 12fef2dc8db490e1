// Readers for each part of the config file. Each reads its table through a TableReader (which
// reports unknown keys and type errors), checks the values, and claims the values that must be
// unique across the whole configuration in the Registry.
#pragma once

#include <vector>

#include "crossgate/mgmt/config.h"
#include "toml_reader.h"

namespace crossgate::config::detail {

// [appliance]; claims the WAN and LAN interface names.
void readAppliance(TableReader& root, Appliance* out, Registry& registry);
// [[vpn]] tables of `root` (the main file or an included one), appended to `out`; their key
// paths are numbered from out->size() so they match the merged configuration.
void readVpns(TableReader& root, std::vector<Vpn>* out, Registry& registry);
void readNat(TableReader& root, Nat* out);
void readDns(TableReader& root, Dns* out, Registry& registry);
void readMgmt(TableReader& root, Mgmt* out);

}  // namespace crossgate::config::detail
