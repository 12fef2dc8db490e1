#include "crossgate/mgmt/config_json.h"

namespace crossgate::config {
namespace {

using nlohmann::json;

template <typename T>
json strings(const std::vector<T>& items) {
  json out = json::array();
  for (const auto& item : items) {
    out.push_back(item.toString());
  }
  return out;
}

json toJson(const Tunnel& t) {
  json bgp = nullptr;
  if (t.bgp) {
    bgp = {{"customer_asn", t.bgp->customer_asn},
           {"aws_asn", t.bgp->aws_asn},
           {"neighbor_ip", t.bgp->neighbor_ip.toString()},
           {"hold_time_s", t.bgp->hold_time_s}};
  }
  return {{"name", t.name},
          {"aws_outside_ip", t.aws_outside_ip.toString()},
          {"inside_cidr", t.inside_cidr.toString()},
          {"aws_inside_ip", t.awsInsideIp().toString()},
          {"customer_inside_ip", t.customerInsideIp().toString()},
          {"psk_file", t.psk_file.string()},
          {"if_id", t.if_id},
          {"priority", t.priority},
          {"interface", t.interface},
          {"ike_proposals", t.ike_proposals},
          {"esp_proposals", t.esp_proposals},
          {"ike_lifetime_s", t.ike_lifetime_s},
          {"esp_lifetime_s", t.esp_lifetime_s},
          {"dpd_interval_s", t.dpd_interval_s},
          {"dpd_retries", t.dpd_retries},
          {"mtu", t.mtu},
          {"tcp_mss", t.tcp_mss},
          {"replay_window", t.replay_window},
          {"bgp", bgp}};
}

json toJson(const Vpn& vpn) {
  json tunnels = json::array();
  for (const auto& t : vpn.tunnels) {
    tunnels.push_back(toJson(t));
  }
  return {{"name", vpn.name},
          {"vpn_connection_id", vpn.vpn_connection_id},
          {"mode", toString(vpn.mode)},
          {"remote_networks", strings(vpn.remote_networks)},
          {"local_networks", strings(vpn.local_networks)},
          {"probe_interval_ms", vpn.probe_interval_ms},
          {"probe_misses", vpn.probe_misses},
          {"failback_hold_s", vpn.failback_hold_s},
          {"tunnel", tunnels}};
}

json toJson(const DnsView& view) {
  json records = json::array();
  for (const auto& r : view.records) {
    records.push_back({{"name", r.name}, {"type", r.type}, {"value", r.value}, {"ttl", r.ttl}});
  }
  json endpoints = json::array();
  for (const auto& e : view.private_endpoints) {
    endpoints.push_back({{"name", e.name}, {"address", e.address.toString()}, {"ttl", e.ttl}});
  }
  json zones = json::array();
  for (const auto& z : view.private_zones) {
    zones.push_back({{"zone", z.zone}, {"fallback", z.fallback}});
  }
  return {{"name", view.name},
          {"clients", strings(view.clients)},
          {"record", records},
          {"private_endpoint", endpoints},
          {"private_zone", zones}};
}

json toJson(const Dns& dns) {
  json forward_zones = json::array();
  for (const auto& z : dns.forward_zones) {
    forward_zones.push_back({{"zone", z.zone}, {"servers", strings(z.servers)}});
  }
  json views = json::array();
  for (const auto& v : dns.views) {
    views.push_back(toJson(v));
  }
  return {{"enabled", dns.enabled},
          {"listen", strings(dns.listen)},
          {"port", dns.port},
          {"upstreams", strings(dns.upstreams)},
          {"timeout_ms", dns.timeout_ms},
          {"retries", dns.retries},
          {"cache_size", dns.cache_size},
          {"max_cache_ttl_s", dns.max_cache_ttl_s},
          {"max_negative_ttl_s", dns.max_negative_ttl_s},
          {"rate_limit_qps", dns.rate_limit_qps},
          {"stats_socket", dns.stats_socket.string()},
          {"user", dns.user},
          {"forward_zone", forward_zones},
          {"view", views}};
}

}  // namespace

nlohmann::json toJson(const Config& config) {
  const Appliance& a = config.appliance;
  json vpns = json::array();
  for (const auto& vpn : config.vpns) {
    vpns.push_back(toJson(vpn));
  }
  return {
      {"source", config.source.string()},
      {"appliance",
       {{"name", a.name},
        {"wan_interface", a.wan_interface},
        {"lan_interface", a.lan_interface},
        {"public_ip", a.public_ip.toString()},
        {"lan_address", a.lan_address ? json(a.lan_address->toString()) : json(nullptr)}}},
      {"vpn", vpns},
      {"nat",
       {{"snat", config.nat.snat},
        {"private_endpoint_subnets", strings(config.nat.private_endpoint_subnets)}}},
      {"dns", toJson(config.dns)},
      {"mgmt",
       {{"control_socket", config.mgmt.control_socket.string()},
        {"metrics_listen", config.mgmt.metrics_listen},
        {"vici_socket", config.mgmt.vici_socket.string()},
        {"dataplane_socket", config.mgmt.dataplane_socket.string()},
        {"log_level", config.mgmt.log_level}}},
  };
}

}  // namespace crossgate::config
