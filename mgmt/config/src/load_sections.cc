// [appliance], [nat] and [mgmt].
#include <algorithm>
#include <array>
#include <string>

#include "sections.h"
#include "values.h"

namespace crossgate::config::detail {
namespace {

bool isValidApplianceName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

void readInterface(TableReader& r, std::string_view key, std::string* out, Registry& registry) {
  auto name = r.string(key, Need::kRequired);
  if (!name) {
    return;
  }
  std::string why;
  if (!isValidInterfaceName(name->value, &why)) {
    r.doc().error(name->loc, why);
    return;
  }
  *out = name->value;
  registry.claim(r.doc(), "interface", "interface name", *out, name->loc);
}

}  // namespace

void readAppliance(TableReader& root, Appliance* out, Registry& registry) {
  const toml::table* table = root.table("appliance", Need::kRequired);
  if (table == nullptr) {
    return;
  }
  TableReader r(root.doc(), *table, "appliance");
  if (auto name = r.string("name", Need::kRequired)) {
    if (isValidApplianceName(name->value)) {
      out->name = name->value;
    } else {
      r.doc().error(name->loc, "invalid name '" + name->value +
                                   "': use 1..64 characters of letters, digits, '.', '_' and '-'");
    }
  }
  readInterface(r, "wan_interface", &out->wan_interface, registry);
  readInterface(r, "lan_interface", &out->lan_interface, registry);
  if (auto ip = r.ip("public_ip", Need::kRequired)) {
    out->public_ip = ip->value;
  }
  if (auto ip = r.ip("lan_address")) {
    out->lan_address = ip->value;
  }
}

void readNat(TableReader& root, Nat* out) {
  const toml::table* table = root.table("nat");
  if (table == nullptr) {
    return;
  }
  TableReader r(root.doc(), *table, "nat");
  r.boolean("snat", &out->snat);
  for (const auto& cidr : r.cidrs("private_endpoint_subnets")) {
    out->private_endpoint_subnets.push_back(cidr.value);
  }
}

void readMgmt(TableReader& root, Mgmt* out) {
  static constexpr std::array<std::string_view, 7> kLevels = {"trace", "debug",    "info", "warn",
                                                              "error", "critical", "off"};
  const toml::table* table = root.table("mgmt");
  if (table == nullptr) {
    return;
  }
  TableReader r(root.doc(), *table, "mgmt");
  r.absolutePath("control_socket", &out->control_socket, /*is_socket=*/true);
  if (auto listen = r.string("metrics_listen")) {
    std::string why;
    if (listen->value.empty() || isValidListenAddress(listen->value, &why)) {
      out->metrics_listen = listen->value;
    } else {
      r.doc().error(listen->loc, why);
    }
  }
  r.absolutePath("vici_socket", &out->vici_socket, /*is_socket=*/true);
  r.absolutePath("dataplane_socket", &out->dataplane_socket, /*is_socket=*/true);
  if (auto level = r.string("log_level")) {
    if (std::find(kLevels.begin(), kLevels.end(), level->value) != kLevels.end()) {
      out->log_level = level->value;
    } else {
      r.doc().error(level->loc,
                    "must be one of trace, debug, info, warn, error, critical, off; "
                    "found \"" +
                        level->value + "\"");
    }
  }
}

}  // namespace crossgate::config::detail
