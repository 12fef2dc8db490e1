// crossgate config check|show: validate the config file offline, or print it as parsed (with
// defaults filled in). Needs no daemon.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "crossgate/mgmt/config_json.h"
#include "crossgate/mgmt/config_loader.h"

namespace crossgate::cli {
namespace {

struct ConfigOptions {
  std::string file;  // empty: the global --config path
  bool json = false;
};

template <typename T>
std::string join(const std::vector<T>& items, std::string_view separator = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += separator;
    }
    if constexpr (std::is_same_v<T, std::string>) {
      out += item;
    } else {
      out += item.toString();
    }
  }
  return out.empty() ? "none" : out;
}

// Loads `path`; on any error prints every diagnostic to stderr and ends the program with 1.
config::Config loadOrExit(const std::string& path) {
  config::LoadResult result = config::loadFile(path);
  if (!result.ok()) {
    for (const auto& diagnostic : result.errors) {
      std::fprintf(stderr, "%s\n", diagnostic.toString().c_str());
    }
    throw CLI::RuntimeError(1);
  }
  return std::move(*result.config);
}

std::string describeTunnel(const config::Tunnel& t) {
  std::string out = fmt::format(
      "  tunnel {}: aws {}, inside {} (aws {}, us {})\n"
      "    if_id {}, interface {}, priority {}, mtu {}, tcp_mss {}, replay window {}\n"
      "    ike {} (lifetime {} s)\n"
      "    esp {} (lifetime {} s)\n"
      "    dpd every {} s, {} retries; psk file {}\n",
      t.name, t.aws_outside_ip.toString(), t.inside_cidr.toString(), t.awsInsideIp().toString(),
      t.customerInsideIp().toString(), t.if_id, t.interface, t.priority, t.mtu, t.tcp_mss,
      t.replay_window, join(t.ike_proposals), t.ike_lifetime_s, join(t.esp_proposals),
      t.esp_lifetime_s, t.dpd_interval_s, t.dpd_retries, t.psk_file.string());
  if (t.bgp) {
    out += fmt::format("    bgp: customer asn {}, aws asn {}, neighbor {}, hold time {} s\n",
                       t.bgp->customer_asn, t.bgp->aws_asn, t.bgp->neighbor_ip.toString(),
                       t.bgp->hold_time_s);
  }
  return out;
}

std::string describeDns(const config::Dns& dns) {
  std::string out = fmt::format(
      "dns: {}, listen {} port {}, upstreams {}, timeout {} ms, {} retries, cache {} entries\n",
      dns.enabled ? "on" : "off", join(dns.listen), dns.port, join(dns.upstreams), dns.timeout_ms,
      dns.retries, dns.cache_size);
  for (const auto& zone : dns.forward_zones) {
    out += fmt::format("  forward zone {} -> {}\n", zone.zone, join(zone.servers));
  }
  for (const auto& view : dns.views) {
    out += fmt::format("  view {} (clients {})\n", view.name, join(view.clients));
    for (const auto& r : view.records) {
      out += fmt::format("    {} {} {} (ttl {})\n", r.type, r.name, r.value, r.ttl);
    }
    for (const auto& e : view.private_endpoints) {
      out += fmt::format("    private endpoint {} -> {} (ttl {})\n", e.name, e.address.toString(),
                         e.ttl);
    }
    for (const auto& z : view.private_zones) {
      out += fmt::format("    private zone {} (fallback {})\n", z.zone,
                         z.fallback ? "to upstream" : "off");
    }
  }
  return out;
}

std::string describe(const config::Config& c) {
  const config::Appliance& a = c.appliance;
  std::string out =
      fmt::format("config {}\nappliance {}: wan {}, lan {}, public ip {}", c.source.string(),
                  a.name, a.wan_interface, a.lan_interface, a.public_ip.toString());
  if (a.lan_address) {
    out += ", lan address " + a.lan_address->toString();
  }
  out += "\n";
  for (const auto& vpn : c.vpns) {
    out += fmt::format("vpn {}{} ({}): remote {}; local {}\n", vpn.name,
                       vpn.vpn_connection_id.empty() ? "" : " " + vpn.vpn_connection_id,
                       config::toString(vpn.mode), join(vpn.remote_networks),
                       join(vpn.local_networks));
    for (const auto& t : vpn.tunnels) {
      out += describeTunnel(t);
    }
  }
  out += fmt::format("nat: snat {}, private endpoint subnets {}\n", c.nat.snat ? "on" : "off",
                     join(c.nat.private_endpoint_subnets));
  out += describeDns(c.dns);
  out += fmt::format(
      "mgmt: control socket {}, metrics {}, vici {}, dataplane {}, log level {}\n",
      c.mgmt.control_socket.string(), c.mgmt.metrics_listen.empty() ? "off" : c.mgmt.metrics_listen,
      c.mgmt.vici_socket.string(), c.mgmt.dataplane_socket.string(), c.mgmt.log_level);
  return out;
}

void registerConfig(CLI::App& app, GlobalOptions& globals) {
  CLI::App* group = app.add_subcommand("config", "check or show the configuration file");
  group->require_subcommand(1);
  auto options = std::make_shared<ConfigOptions>();

  CLI::App* check =
      group->add_subcommand("check", "validate FILE; print FILE: OK, or every problem (exit 1)");
  check->add_option("file", options->file, "config file (default: the --config path)");
  check->callback([options, &globals] {
    const std::string path = options->file.empty() ? globals.config_path : options->file;
    loadOrExit(path);
    std::printf("%s: OK\n", path.c_str());
    throw CLI::RuntimeError(0);
  });

  CLI::App* show = group->add_subcommand(
      "show", "print FILE as parsed, defaults filled in (PSK files as paths only)");
  show->add_option("file", options->file, "config file (default: the --config path)");
  show->add_flag("--json", options->json, "print JSON");
  show->callback([options, &globals] {
    const std::string path = options->file.empty() ? globals.config_path : options->file;
    const config::Config cfg = loadOrExit(path);
    if (options->json) {
      std::printf("%s\n", config::toJson(cfg).dump(2).c_str());
    } else {
      std::fputs(describe(cfg).c_str(), stdout);
    }
    throw CLI::RuntimeError(0);
  });
}

const CommandRegistration kRegistration(20, registerConfig);

}  // namespace
}  // namespace crossgate::cli
