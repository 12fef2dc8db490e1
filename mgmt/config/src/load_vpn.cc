// [[vpn]], [[vpn.tunnel]] and [vpn.tunnel.bgp]: the AWS Site-to-Site VPN connections.
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "sections.h"
#include "values.h"

namespace crossgate::config::detail {
namespace {

constexpr size_t kMaxVpnName = 32;
constexpr size_t kMaxTunnelName = 48;
constexpr uint32_t kMaxIfId = 0xFFFFFFFD;
constexpr uint32_t kMaxAsn = 4294967294;

const std::vector<std::string> kDefaultIkeProposals = {
    "aes256gcm16-prfsha384-ecp384", "aes256-sha256-modp2048", "aes128-sha1-modp1024"};
const std::vector<std::string> kDefaultEspProposals = {
    "aes256gcm16-ecp384", "aes256-sha256-modp2048", "aes128-sha1-modp1024"};

// AWS refuses these /30s as tunnel inside CIDRs.
constexpr std::array<const char*, 7> kAwsReservedInside = {
    "169.254.0.0/30", "169.254.1.0/30", "169.254.2.0/30",    "169.254.3.0/30",
    "169.254.4.0/30", "169.254.5.0/30", "169.254.169.252/30"};

void checkInsideCidr(const Document& doc, const Located<Cidr>& cidr, bool* ok) {
  static const Cidr kLinkLocal = *Cidr::parse("169.254.0.0/16");
  const std::string text = cidr.value.toString();
  *ok = false;
  if (!cidr.value.address().isV4() || !kLinkLocal.contains(cidr.value)) {
    doc.error(cidr.loc, "'" + text + "' must be inside 169.254.0.0/16");
  } else if (cidr.value.prefixLen() != 30) {
    doc.error(cidr.loc, "'" + text + "' must be a /30 (AWS assigns one /30 per tunnel), found /" +
                            std::to_string(cidr.value.prefixLen()));
  } else {
    for (const char* reserved : kAwsReservedInside) {
      if (text == reserved) {
        doc.error(cidr.loc, "'" + text +
                                "' is reserved by AWS (169.254.0.0/30 to 169.254.5.0/30 and "
                                "169.254.169.252/30); choose another /30 inside 169.254.0.0/16");
        return;
      }
    }
    *ok = true;
  }
}

void checkPskFile(const Document& doc, const std::filesystem::path& path, const Loc& loc) {
  const std::string shown = "'" + path.string() + "'";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    doc.error(loc, "cannot access " + shown + ": " + std::strerror(errno));
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    doc.error(loc, shown + " is not a regular file");
    return;
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    doc.error(loc, shown + " has mode " + mode +
                       "; a PSK file must not be accessible by group or others: run chmod 600 " +
                       shown);
    return;
  }
  if (st.st_size == 0) {
    doc.error(loc, shown + " is empty; it must hold the tunnel's pre-shared key");
  }
}

void readPskFile(TableReader& r, Tunnel* t) {
  auto text = r.string("psk_file", Need::kRequired);
  if (!text) {
    return;
  }
  if (text->value.empty()) {
    r.doc().error(text->loc, "must name the file that holds the tunnel's pre-shared key");
    return;
  }
  std::filesystem::path path(text->value);
  if (path.is_relative()) {
    path = r.doc().base_dir / path;
  }
  t->psk_file = path.lexically_normal();
  if (r.doc().options->check_secret_files) {
    checkPskFile(r.doc(), t->psk_file, text->loc);
  }
}

void readProposals(TableReader& r, std::string_view key, const std::vector<std::string>& defaults,
                   std::vector<std::string>* out) {
  const bool present = r.has(key);
  auto list = r.strings(key, Need::kOptional, /*non_empty=*/true);
  if (!present) {
    *out = defaults;
    return;
  }
  for (const auto& proposal : list.value_or(std::vector<Located<std::string>>{})) {
    std::string why;
    if (isValidProposal(proposal.value, &why)) {
      out->push_back(proposal.value);
    } else {
      r.doc().error(proposal.loc, why);
    }
  }
}

void readLifetimes(TableReader& r, Tunnel* t) {
  const bool ike_ok =
      !r.has("ike_lifetime_s") || r.u32("ike_lifetime_s", &t->ike_lifetime_s, 900, 28800,
                                        Need::kOptional, " (AWS's phase 1 lifetime range)");
  const bool esp_ok =
      !r.has("esp_lifetime_s") || r.u32("esp_lifetime_s", &t->esp_lifetime_s, 900, 3600,
                                        Need::kOptional, " (AWS's phase 2 lifetime range)");
  if (ike_ok && esp_ok && t->esp_lifetime_s >= t->ike_lifetime_s) {
    r.error(r.has("esp_lifetime_s") ? "esp_lifetime_s" : "ike_lifetime_s",
            "esp_lifetime_s (" + std::to_string(t->esp_lifetime_s) +
                ") must be less than ike_lifetime_s (" + std::to_string(t->ike_lifetime_s) + ")");
  }
}

void readMtu(TableReader& r, Tunnel* t) {
  const bool mtu_ok = !r.has("mtu") || r.u32("mtu", &t->mtu, 576, 9000);
  if (!mtu_ok) {
    r.u32("tcp_mss", &t->tcp_mss, 536, 9000 - 40);  // type and basic range only
    return;
  }
  const std::string why = " (mtu " + std::to_string(t->mtu) + " - 40)";
  if (r.has("tcp_mss")) {
    r.u32("tcp_mss", &t->tcp_mss, 536, t->mtu - 40, Need::kOptional, why);
  } else if (t->tcp_mss > t->mtu - 40) {
    r.error("mtu", "the default tcp_mss " + std::to_string(t->tcp_mss) +
                       " needs an mtu of at least " + std::to_string(t->tcp_mss + 40) +
                       "; set tcp_mss to at most " + std::to_string(t->mtu - 40));
  }
}

void readBgp(TableReader& r, const std::optional<IpAddress>& aws_inside, const Cidr& inside,
             Bgp* bgp) {
  const bool customer_ok =
      r.u32("customer_asn", &bgp->customer_asn, 1, kMaxAsn, Need::kRequired).has_value();
  const bool aws_ok = r.u32("aws_asn", &bgp->aws_asn, 1, kMaxAsn, Need::kRequired).has_value();
  if (customer_ok && aws_ok && bgp->customer_asn == bgp->aws_asn) {
    r.error("aws_asn", "must differ from customer_asn (the session is eBGP); both are " +
                           std::to_string(bgp->aws_asn));
  }
  if (r.u32("hold_time_s", &bgp->hold_time_s, 0, 65535) && bgp->hold_time_s > 0 &&
      bgp->hold_time_s < 3) {
    r.error("hold_time_s",
            "must be 0 (no keepalives) or 3..65535, found " + std::to_string(bgp->hold_time_s));
  }
  auto neighbor = r.ip("neighbor_ip");
  if (aws_inside) {
    bgp->neighbor_ip = *aws_inside;
    if (neighbor && neighbor->value != *aws_inside) {
      r.doc().error(neighbor->loc, "must be the AWS inside address of this tunnel, " +
                                       aws_inside->toString() +
                                       " (the first address of inside_cidr " + inside.toString() +
                                       "), found " + neighbor->value.toString());
    }
  }
}

// The tunnel's name: explicit, or "<vpn>-t<index+1>"; unique across all VPNs.
void readTunnelName(TableReader& r, const std::optional<std::string>& vpn_name, size_t index,
                    Tunnel* t, Registry& registry) {
  if (!r.has("name")) {
    if (vpn_name) {
      t->name = *vpn_name + "-t" + std::to_string(index + 1);
      registry.claim(r.doc(), "tunnel", "tunnel name", t->name, r.keyLoc("name"));
    }
    return;
  }
  auto name = r.string("name");
  std::string why;
  if (!name) {
    return;
  }
  if (!isValidName(name->value, kMaxTunnelName, &why)) {
    r.doc().error(name->loc, why);
    return;
  }
  t->name = name->value;
  registry.claim(r.doc(), "tunnel", "tunnel name", t->name, name->loc);
}

// The tunnel's interface: explicit, or "cgt<if_id>"; unique, also against WAN and LAN.
void readTunnelInterface(TableReader& r, bool if_id_ok, Tunnel* t, Registry& registry) {
  if (!r.has("interface")) {
    if (if_id_ok) {
      t->interface = defaultInterfaceName(t->if_id);
      registry.claim(r.doc(), "interface", "interface name", t->interface, r.keyLoc("interface"));
    }
    return;
  }
  auto name = r.string("interface");
  std::string why;
  if (!name) {
    return;
  }
  if (!isValidInterfaceName(name->value, &why)) {
    r.doc().error(name->loc, why);
    return;
  }
  t->interface = name->value;
  registry.claim(r.doc(), "interface", "interface name", t->interface, name->loc);
}

Tunnel readTunnel(TableReader& r, const std::optional<std::string>& vpn_name, size_t index,
                  Registry& registry) {
  const Document& doc = r.doc();
  Tunnel t;
  readTunnelName(r, vpn_name, index, &t, registry);
  if (auto ip = r.ip("aws_outside_ip", Need::kRequired)) {
    t.aws_outside_ip = ip->value;
    registry.claim(doc, "aws_outside_ip", "aws_outside_ip", ip->value.toString(), ip->loc);
  }
  bool inside_ok = false;
  if (auto cidr = r.cidr("inside_cidr", Need::kRequired)) {
    t.inside_cidr = cidr->value;
    checkInsideCidr(doc, *cidr, &inside_ok);
  }
  readPskFile(r, &t);
  const bool if_id_ok = r.u32("if_id", &t.if_id, 1, kMaxIfId, Need::kRequired).has_value();
  if (if_id_ok) {
    registry.claim(doc, "if_id", "if_id", std::to_string(t.if_id), r.keyLoc("if_id"));
  }
  t.priority = static_cast<uint32_t>(100 * (index + 1));
  r.u32("priority", &t.priority, 0, UINT32_MAX);
  readTunnelInterface(r, if_id_ok, &t, registry);
  readProposals(r, "ike_proposals", kDefaultIkeProposals, &t.ike_proposals);
  readProposals(r, "esp_proposals", kDefaultEspProposals, &t.esp_proposals);
  readLifetimes(r, &t);
  r.u32("dpd_interval_s", &t.dpd_interval_s, 1, 3600);
  r.u32("dpd_retries", &t.dpd_retries, 1, 100);
  readMtu(r, &t);
  r.u32("replay_window", &t.replay_window, 64, 4096);
  if (const toml::table* table = r.table("bgp")) {
    TableReader bgp_reader(doc, *table, childPath(r.path(), "bgp"));
    std::optional<IpAddress> aws_inside;
    if (inside_ok) {
      aws_inside = t.awsInsideIp();
    }
    readBgp(bgp_reader, aws_inside, t.inside_cidr, &t.bgp.emplace());
  }
  return t;
}

void readMode(TableReader& r, Vpn* vpn) {
  auto mode = r.string("mode");
  if (!mode) {
    return;
  }
  if (mode->value == "active-standby") {
    vpn->mode = VpnMode::kActiveStandby;
  } else if (mode->value == "ecmp") {
    vpn->mode = VpnMode::kEcmp;
  } else {
    r.doc().error(mode->loc,
                  "must be \"active-standby\" or \"ecmp\", found \"" + mode->value + "\"");
  }
}

void readTunnels(TableReader& r, const std::optional<std::string>& vpn_name, Vpn* vpn,
                 Registry& registry) {
  const toml::array* tunnels = r.tables("tunnel", Need::kRequired);
  if (tunnels == nullptr) {
    return;
  }
  if (tunnels->empty()) {
    r.error("tunnel", "at least one [[vpn.tunnel]] table is required");
  }
  const std::string base = childPath(r.path(), "tunnel");
  for (size_t i = 0; i < tunnels->size(); ++i) {
    const toml::table* table = tunnels->get(i)->as_table();
    if (table == nullptr) {
      continue;
    }
    TableReader tunnel_reader(r.doc(), *table, indexPath(base, i));
    if (i == 2) {
      r.doc().error(tunnel_reader.loc(),
                    "a VPN connection has at most 2 tunnels (AWS provides 2), "
                    "found " +
                        std::to_string(tunnels->size()));
    }
    vpn->tunnels.push_back(readTunnel(tunnel_reader, vpn_name, i, registry));
  }
}

Vpn readVpn(TableReader& r, size_t index, Registry& registry) {
  Vpn vpn;
  std::optional<std::string> valid_name;
  if (auto name = r.string("name", Need::kRequired)) {
    std::string why;
    if (isValidName(name->value, kMaxVpnName, &why)) {
      vpn.name = name->value;
      valid_name = vpn.name;
      registry.claim(r.doc(), "vpn", "vpn name", vpn.name, name->loc);
    } else {
      r.doc().error(name->loc, why);
    }
  }
  if (auto id = r.string("vpn_connection_id")) {
    vpn.vpn_connection_id = id->value;
  }
  readMode(r, &vpn);
  for (const auto& cidr : r.cidrs("remote_networks", Need::kRequired)) {
    vpn.remote_networks.push_back(cidr.value);
    registry.addNetwork(index, /*remote=*/true, cidr);
  }
  for (const auto& cidr : r.cidrs("local_networks", Need::kRequired)) {
    vpn.local_networks.push_back(cidr.value);
    registry.addNetwork(index, /*remote=*/false, cidr);
  }
  r.u32("probe_interval_ms", &vpn.probe_interval_ms, 50, 10000);
  r.u32("probe_misses", &vpn.probe_misses, 1, 100);
  r.u32("failback_hold_s", &vpn.failback_hold_s, 0, 3600);
  readTunnels(r, valid_name, &vpn, registry);
  return vpn;
}

}  // namespace

void readVpns(TableReader& root, std::vector<Vpn>* out, Registry& registry) {
  const toml::array* vpns = root.tables("vpn");
  if (vpns == nullptr) {
    return;
  }
  for (size_t i = 0; i < vpns->size(); ++i) {
    const size_t index = out->size();
    const toml::table* table = vpns->get(i)->as_table();
    if (table == nullptr) {
      out->emplace_back();  // keeps later key paths aligned; the error is already reported
      continue;
    }
    TableReader reader(root.doc(), *table, indexPath("vpn", index));
    out->push_back(readVpn(reader, index, registry));
  }
}

}  // namespace crossgate::config::detail
