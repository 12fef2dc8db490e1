// The crossgate configuration model: plain structs with defaults, parsed from one TOML file
// (/etc/crossgate/crossgate.toml) and validated as a whole (config_loader.h). Secrets never
// live here: tunnels name a PSK file (mode 0600 or stricter) that is read when needed.
//
// TOML schema (every key below; unknown keys are rejected):
//
//   [appliance]
//   name = "crossgate-1"                # required
//   wan_interface = "eth0"              # required
//   lan_interface = "eth1"              # required
//   public_ip = "203.0.113.10"          # required: the address AWS knows as the customer gateway
//   lan_address = "10.20.0.4"           # optional: SNAT source / DNS listen default
//
//   include = ["vpn.d/*.toml"]          # optional: globs relative to this file, sorted; the
//                                       # files may hold only [[vpn]] tables (the importer
//                                       # writes them); a missing directory matches nothing
//
//   [[vpn]]
//   name = "aws-prod"                   # required, [a-z0-9-]{1,32}, unique
//   vpn_connection_id = "vpn-..."       # optional, informational
//   mode = "active-standby"             # "active-standby" (default) | "ecmp"
//   remote_networks = ["10.10.0.0/16"]  # AWS VPC CIDRs (required, >= 1)
//   local_networks = ["10.20.0.0/16"]   # Azure subnets (required, >= 1)
//   probe_interval_ms = 200             # ICMP probe to each tunnel's AWS inside address,
//                                       # 50..10000
//   probe_misses = 3                    # consecutive misses that mark a tunnel down, 1..100
//   failback_hold_s = 5                 # a recovered tunnel must stay healthy this long
//                                       # before traffic moves back to it, 0..3600
//
//     [[vpn.tunnel]]                    # exactly 2 for an AWS connection (1..2 accepted)
//     name = "aws-prod-t1"              # optional, default "<vpn>-t<index+1>", unique
//     aws_outside_ip = "198.51.100.17"  # required, unique
//     inside_cidr = "169.254.44.0/30"   # required: a /30 inside 169.254.0.0/16; AWS .1, us .2
//     psk_file = "secrets/aws-prod-t1.psk"  # required; relative to the config file's directory
//     if_id = 1                         # required, 1..0xFFFFFFFD, unique across all tunnels
//     priority = 100                    # lower wins in active-standby (default 100*(index+1))
//     interface = "cgt1"                # optional, default "cgt<if_id>" (max 15 chars)
//     ike_proposals = ["aes256gcm16-prfsha384-ecp384", "aes128-sha1-modp1024"]
//     esp_proposals = ["aes256gcm16-ecp384", "aes128-sha1-modp1024"]
//     ike_lifetime_s = 28800            # AWS's phase 1 lifetime (appliance rekeys before it)
//     esp_lifetime_s = 3600             # AWS's phase 2 lifetime
//     dpd_interval_s = 10
//     dpd_retries = 3
//     mtu = 1436
//     tcp_mss = 1379
//     replay_window = 1024
//       [vpn.tunnel.bgp]                # optional
//       customer_asn = 65000
//       aws_asn = 64512
//       neighbor_ip = "169.254.44.1"
//       hold_time_s = 30
//
//   [nat]
//   snat = true                         # SNAT tunnel traffic to the LAN address
//   private_endpoint_subnets = ["10.20.1.0/24"]
//
//   [dns]
//   enabled = true
//   listen = ["10.20.0.4"]              # addresses (default: none = dns off)
//   port = 53
//   upstreams = ["168.63.129.16"]       # "ip" or "ip:port"
//   timeout_ms = 1500                   # whole budget for one client query
//   retries = 2                         # extra attempts across upstreams
//   cache_size = 10000                  # entries
//   max_cache_ttl_s = 86400
//   max_negative_ttl_s = 3600
//   rate_limit_qps = 0                  # per client address, 0 = unlimited
//   stats_socket = "/run/crossgate/dns.sock"
//   user = ""                           # drop privileges to this user after binding
//     [[dns.forward_zone]]
//     zone = "corp.example"
//     servers = ["10.0.0.2"]
//     [[dns.view]]
//     name = "aws"
//     clients = ["10.10.0.0/16"]
//       [[dns.view.record]]
//       name = "www.corp.example"  type = "A"  value = "10.20.0.10"  ttl = 300
//       [[dns.view.private_endpoint]]
//       name = "acct.privatelink.dfs.core.windows.net"  address = "10.20.1.5"  ttl = 10
//       [[dns.view.private_zone]]
//       zone = "privatelink.dfs.core.windows.net"  fallback = false
//
//   [mgmt]
//   control_socket = "/run/crossgate/control.sock"
//   metrics_listen = "127.0.0.1:9469"   # "" = off
//   vici_socket = "/run/charon.vici"
//   dataplane_socket = "/run/crossgate/dataplane.sock"
//   log_level = "info"
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "crossgate/common/net.h"

namespace crossgate::config {

struct Appliance {
  std::string name;
  std::string wan_interface;
  std::string lan_interface;
  IpAddress public_ip;
  std::optional<IpAddress> lan_address;
};

struct Bgp {
  uint32_t customer_asn = 0;
  uint32_t aws_asn = 0;
  IpAddress neighbor_ip;
  uint32_t hold_time_s = 30;
};

struct Tunnel {
  std::string name;
  IpAddress aws_outside_ip;
  Cidr inside_cidr;                // the /30 network
  std::filesystem::path psk_file;  // absolute after loading
  uint32_t if_id = 0;
  uint32_t priority = 100;
  std::string interface;
  std::vector<std::string> ike_proposals;
  std::vector<std::string> esp_proposals;
  uint32_t ike_lifetime_s = 28800;
  uint32_t esp_lifetime_s = 3600;
  uint32_t dpd_interval_s = 10;
  uint32_t dpd_retries = 3;
  uint32_t mtu = 1436;
  uint32_t tcp_mss = 1379;
  uint32_t replay_window = 1024;
  std::optional<Bgp> bgp;

  // AWS takes the first usable address of the /30 (.1), the customer the second (.2).
  IpAddress awsInsideIp() const;
  IpAddress customerInsideIp() const;
};

enum class VpnMode { kActiveStandby, kEcmp };

struct Vpn {
  std::string name;
  std::string vpn_connection_id;
  VpnMode mode = VpnMode::kActiveStandby;
  std::vector<Cidr> remote_networks;
  std::vector<Cidr> local_networks;
  uint32_t probe_interval_ms = 200;
  uint32_t probe_misses = 3;
  uint32_t failback_hold_s = 5;
  std::vector<Tunnel> tunnels;
};

struct Nat {
  bool snat = true;
  std::vector<Cidr> private_endpoint_subnets;
};

struct DnsEndpoint {
  IpAddress address;
  uint16_t port = 53;
  std::string toString() const;
};

struct DnsRecord {
  std::string name;  // lower case, no trailing dot
  std::string type;  // "A", "AAAA", "CNAME", "TXT", "PTR"
  std::string value;
  uint32_t ttl = 300;
};

struct DnsPrivateEndpoint {
  std::string name;  // acct.privatelink.<svc>.core.windows.net
  IpAddress address;
  uint32_t ttl = 10;
};

struct DnsPrivateZone {
  std::string zone;       // lower case, no trailing dot
  bool fallback = false;  // Azure NxDomainRedirect: unknown names get the upstream answer
};

struct DnsView {
  std::string name;
  std::vector<Cidr> clients;
  std::vector<DnsRecord> records;
  std::vector<DnsPrivateEndpoint> private_endpoints;
  std::vector<DnsPrivateZone> private_zones;
};

struct DnsForwardZone {
  std::string zone;  // lower case, no trailing dot
  std::vector<DnsEndpoint> servers;
};

struct Dns {
  bool enabled = true;
  std::vector<IpAddress> listen;
  uint16_t port = 53;
  std::vector<DnsEndpoint> upstreams;
  uint32_t timeout_ms = 1500;
  uint32_t retries = 2;
  uint32_t cache_size = 10000;
  uint32_t max_cache_ttl_s = 86400;
  uint32_t max_negative_ttl_s = 3600;
  uint32_t rate_limit_qps = 0;
  std::filesystem::path stats_socket = "/run/crossgate/dns.sock";
  std::string user;
  std::vector<DnsForwardZone> forward_zones;
  std::vector<DnsView> views;
};

struct Mgmt {
  std::filesystem::path control_socket = "/run/crossgate/control.sock";
  std::string metrics_listen = "127.0.0.1:9469";
  std::filesystem::path vici_socket = "/run/charon.vici";
  std::filesystem::path dataplane_socket = "/run/crossgate/dataplane.sock";
  std::string log_level = "info";
};

struct Config {
  std::filesystem::path source;  // the file it was loaded from
  Appliance appliance;
  std::vector<Vpn> vpns;
  Nat nat;
  Dns dns;
  Mgmt mgmt;
};

const char* toString(VpnMode mode);

}  // namespace crossgate::config
