// Rendering an imported connection: the TOML fragment (schema in mgmt/config.h) and the --json
// document. Neither ever contains a key unless the caller asks for it (--show-secrets, JSON).
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crossgate/mgmt/aws_import.h"

namespace crossgate::aws_import {
namespace {

// TOML basic string; every value rendered here is already restricted to printable ASCII, the
// escaping is a second line of defence.
std::string tomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

template <typename Range, typename ToText>
std::string tomlArray(const Range& items, ToText toText) {
  std::string out = "[";
  bool first = true;
  for (const auto& item : items) {
    out += first ? "" : ", ";
    out += tomlString(toText(item));
    first = false;
  }
  return out + "]";
}

std::vector<std::string> proposals(const char* const (&strong)[2], const std::string& own) {
  std::vector<std::string> out(std::begin(strong), std::end(strong));
  if (!own.empty() && std::find(out.begin(), out.end(), own) == out.end()) {
    out.push_back(own);
  }
  return out;
}

void renderHeader(const Connection& c, const FragmentOptions& o, std::string* out) {
  *out += "# crossgate VPN fragment, written by `crossgate import aws`";
  *out += o.source_name.empty() ? "" : " from " + o.source_name;
  *out += ".\n";
  *out +=
      "# AWS VPN connection " +
      (c.vpn_connection_id.empty() ? std::string("(id not in the file)") : c.vpn_connection_id) +
      (c.vpn_gateway_id.empty() ? std::string(", gateway not named (transit gateway?)")
       : c.vpn_gateway_id.substr(0, 4) == "tgw-"
           ? ", transit gateway " + c.vpn_gateway_id
           : ", virtual private gateway " + c.vpn_gateway_id) +
      ", " + toString(c.routing) + " routing.\n";
  if (!c.tunnels.empty()) {
    *out += "# Customer gateway (set [appliance] public_ip to it): " +
            c.tunnels[0].customer_outside_ip.toString() + "\n";
  }
  *out += "# AWS's file lists only its minimum algorithms; stronger proposals come first.\n";
  *out += "# Tunnels are ordered by AWS outside address (t1 = the lower one).\n\n";
}

void renderTunnel(const Tunnel& t, const std::string& name, uint32_t if_id, size_t index,
                  std::string* out) {
  auto line = [out](std::string_view key, const std::string& value) {
    *out += "  " + std::string(key) + " = " + value + "\n";
  };
  *out += "\n  [[vpn.tunnel]]\n";
  line("name", tomlString(name));
  line("aws_outside_ip", tomlString(t.aws_outside_ip.toString()));
  line("inside_cidr", tomlString(t.inside_cidr.toString()));
  line("psk_file", tomlString(pskRelativePath(name)));
  line("if_id", std::to_string(if_id));
  line("priority", std::to_string(100 + index));
  auto id = [](const std::string& s) { return s; };
  line("ike_proposals", tomlArray(proposals(kStrongIkeProposals, t.ike.proposal), id));
  line("esp_proposals", tomlArray(proposals(kStrongEspProposals, t.esp.proposal), id));
  line("ike_lifetime_s", std::to_string(t.ike.lifetime_s));
  line("esp_lifetime_s", std::to_string(t.esp.lifetime_s));
  line("dpd_interval_s", std::to_string(t.dpd_interval_s));
  line("dpd_retries", std::to_string(t.dpd_retries));
  line("mtu", std::to_string(t.mtu));
  line("tcp_mss", std::to_string(t.tcp_mss));
  if (t.bgp) {
    *out += "\n    [vpn.tunnel.bgp]\n";
    *out += "    customer_asn = " + std::to_string(t.bgp->customer_asn) + "\n";
    *out += "    aws_asn = " + std::to_string(t.bgp->aws_asn) + "\n";
    *out += "    neighbor_ip = " + tomlString(t.bgp->neighbor_ip.toString()) + "\n";
    *out += "    hold_time_s = " + std::to_string(t.bgp->hold_time_s) + "\n";
  }
}

}  // namespace

std::string defaultName(const Connection& connection) {
  std::string name = connection.vpn_connection_id;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return isValidName(name) ? name : "aws";
}

bool isValidName(std::string_view name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string tunnelName(std::string_view name, size_t index) {
  return std::string(name) + "-t" + std::to_string(index + 1);
}

std::string pskRelativePath(std::string_view tunnel_name) {
  return "secrets/" + std::string(tunnel_name) + ".psk";
}

std::string renderToml(const Connection& c, const FragmentOptions& o) {
  std::string out;
  renderHeader(c, o, &out);
  auto cidr = [](const Cidr& x) { return x.toString(); };
  out += "[[vpn]]\n";
  out += "name = " + tomlString(o.name) + "\n";
  if (!c.vpn_connection_id.empty()) {
    out += "vpn_connection_id = " + tomlString(c.vpn_connection_id) + "\n";
  }
  out += "mode = \"active-standby\"\n";
  if (o.remote_networks.empty()) {
    out +=
        "# FILL IN: the AWS VPC CIDRs behind this connection (not in AWS's file). The\n"
        "# config does not validate while this list is empty.\n";
  }
  out += "remote_networks = " + tomlArray(o.remote_networks, cidr) + "\n";
  if (o.local_networks.empty()) {
    out +=
        "# FILL IN: the local (Azure) subnets reached through this connection. The config\n"
        "# does not validate while this list is empty.\n";
  }
  out += "local_networks = " + tomlArray(o.local_networks, cidr) + "\n";
  for (size_t i = 0; i < c.tunnels.size(); ++i) {
    const uint32_t if_id = i < o.if_ids.size() ? o.if_ids[i] : static_cast<uint32_t>(i + 1);
    renderTunnel(c.tunnels[i], tunnelName(o.name, i), if_id, i, &out);
  }
  return out;
}

std::string renderJson(const Connection& c, bool show_secrets) {
  using Json = nlohmann::ordered_json;
  Json doc;
  doc["vpn_connection_id"] = c.vpn_connection_id;
  doc["routing"] = toString(c.routing);
  Json tunnels = Json::array();
  for (const Tunnel& t : c.tunnels) {
    Json j;
    j["aws_outside_ip"] = t.aws_outside_ip.toString();
    j["customer_outside_ip"] = t.customer_outside_ip.toString();
    j["aws_inside_cidr"] = t.aws_inside_ip.toString() + "/30";
    j["customer_inside_cidr"] = t.customer_inside_ip.toString() + "/30";
    j["psk"] = show_secrets ? std::string(t.psk.view()) : std::string(Secret::kMasked);
    j["ike_version"] = t.ike_version;
    j["ike"] = {{"encryption", t.ike.encryption},
                {"integrity", t.ike.integrity},
                {"dh_group", t.ike.dh_group},
                {"lifetime_s", t.ike.lifetime_s}};
    j["esp"] = {{"encryption", t.esp.encryption},
                {"integrity", t.esp.integrity},
                {"pfs_group", t.esp.dh_group},
                {"lifetime_s", t.esp.lifetime_s}};
    j["dpd"] = {{"interval_s", t.dpd_interval_s}, {"retries", t.dpd_retries}};
    j["tcp_mss"] = t.tcp_mss;
    j["mtu"] = t.mtu;
    if (t.bgp) {
      j["bgp"] = {{"customer_asn", t.bgp->customer_asn},
                  {"aws_asn", t.bgp->aws_asn},
                  {"neighbor_ip", t.bgp->neighbor_ip.toString()},
                  {"hold_time_s", t.bgp->hold_time_s}};
    } else {
      j["bgp"] = nullptr;
    }
    tunnels.push_back(std::move(j));
  }
  doc["tunnels"] = std::move(tunnels);
  return doc.dump(2) + "\n";
}

}  // namespace crossgate::aws_import
