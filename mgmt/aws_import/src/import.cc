// The public entry points and the checks that span both tunnels.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <utility>

#include "raw.h"

namespace crossgate::aws_import {

const char* toString(Format format) { return format == Format::kText ? "text" : "xml"; }
const char* toString(Routing routing) { return routing == Routing::kStatic ? "static" : "bgp"; }

Format detectFormat(std::string_view bytes) {
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") {
    bytes.remove_prefix(3);
  }
  const size_t first = bytes.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && bytes[first] == '<' ? Format::kXml : Format::kText;
}

std::string ImportError::toString(std::string_view source) const {
  std::string out(source);
  if (line > 0) {
    out += ":" + std::to_string(line);
  }
  for (const std::string* part : {&tunnel, &field}) {
    if (!part->empty()) {
      out += ": " + *part;
    }
  }
  return out + ": " + message;
}

namespace detail {
namespace {

// "vpn-0123abcd": AWS resource ids are a prefix and lower-case hex; accept any alphanumerics.
bool isResourceId(std::string_view id, std::string_view prefix) {
  if (id.size() <= prefix.size() || id.size() > 64 || id.substr(0, prefix.size()) != prefix) {
    return false;
  }
  return std::all_of(id.begin() + static_cast<long>(prefix.size()), id.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0; });
}

void checkHeader(const RawConnection& raw, Connection* c, std::vector<ImportError>* errors) {
  const bool text = raw.format == Format::kText;
  struct Id {
    const RawValue& value;
    std::string_view prefix;
    const char* label;
    std::string* out;
  };
  const Id ids[] = {
      {raw.vpn_connection_id, "vpn-", text ? "Your VPN Connection ID" : "vpn_connection@id",
       &c->vpn_connection_id},
      {raw.vpn_gateway_id, "vgw-", text ? "Your Virtual Private Gateway ID" : "vpn_gateway_id",
       &c->vpn_gateway_id},
      {raw.customer_gateway_id, "cgw-", text ? "Your Customer Gateway ID" : "customer_gateway_id",
       &c->customer_gateway_id},
  };
  for (const Id& id : ids) {
    if (id.value.text.empty()) {
      continue;  // absent or empty (a transit gateway attachment has no VGW id)
    }
    const bool tgw = id.prefix == "vgw-" && isResourceId(id.value.text, "tgw-");
    if (!tgw && !isResourceId(id.value.text, id.prefix)) {
      errors->push_back(
          {id.value.line, "", id.label,
           quoteValue(id.value.text) + " is not an AWS id (" + std::string(id.prefix) + "...)"});
      continue;
    }
    *id.out = id.value.text;
  }
}

// Checks that need both tunnels; `tunnels` and `labels` are in file order.
// Tunnels that failed their own checks take part only in the comparison of AWS outside IPs.
void checkPair(const RawConnection& raw, const std::vector<Tunnel>& tunnels,
               const std::vector<bool>& ok, const std::vector<std::string>& labels,
               std::vector<ImportError>* errors) {
  const Format f = raw.format;
  for (size_t i = 1; i < tunnels.size(); ++i) {
    const RawTunnel& r = raw.tunnels[i];
    for (size_t j = 0; j < i; ++j) {
      const RawTunnel& first = raw.tunnels[j];
      const auto ip_i = IpAddress::parse(r.at(Field::kAwsOutsideIp).text);
      const auto ip_j = IpAddress::parse(first.at(Field::kAwsOutsideIp).text);
      if (ip_i && ip_j && *ip_i == *ip_j) {
        errors->push_back(
            {r.at(Field::kAwsOutsideIp).line, labels[i], fieldLabel(Field::kAwsOutsideIp, f),
             "same AWS outside address as tunnel #" + std::to_string(first.number) + " (line " +
                 std::to_string(first.at(Field::kAwsOutsideIp).line) +
                 "); every tunnel of an AWS VPN connection has its own, so the tunnels cannot "
                 "be told apart (anonymised or edited file?)"});
        continue;
      }
      if (!ok[i] || !ok[j]) {
        continue;
      }
      if (tunnels[i].inside_cidr.overlaps(tunnels[j].inside_cidr)) {
        errors->push_back({r.at(Field::kCustomerInsideIp).line, labels[i],
                           fieldLabel(Field::kCustomerInsideIp, f),
                           tunnels[i].inside_cidr.toString() + " is also tunnel #" +
                               std::to_string(first.number) + "'s inside network"});
      }
      if (tunnels[i].customer_outside_ip != tunnels[j].customer_outside_ip) {
        errors->push_back({r.at(Field::kCustomerOutsideIp).line, labels[i],
                           fieldLabel(Field::kCustomerOutsideIp, f),
                           tunnels[i].customer_outside_ip.toString() + " differs from tunnel #" +
                               std::to_string(first.number) + "'s " +
                               tunnels[j].customer_outside_ip.toString() +
                               "; both tunnels end at the same customer gateway"});
      }
      if (r.bgp_section != first.bgp_section) {
        errors->push_back({r.section_line[4], labels[i], "routing",
                           std::string(r.bgp_section ? "BGP" : "static") + " but tunnel #" +
                               std::to_string(first.number) + " is " +
                               (first.bgp_section ? "BGP" : "static")});
      }
    }
  }
}

void addNotes(const RawConnection& raw, const Connection& c, const ImportOptions& options,
              std::vector<std::string>* notes) {
  const bool ikev1 = std::any_of(c.tunnels.begin(), c.tunnels.end(),
                                 [](const Tunnel& t) { return t.ike_version == 1; });
  if (ikev1) {
    notes->push_back(
        std::string(raw.format == Format::kXml ? "the XML describes" : "the file describes") +
        " IKEv1 tunnels; they are imported for IKEv2, which AWS tunnels accept "
        "unless their IKE versions option was limited to ikev1");
  }
  if (raw.format == Format::kText && !raw.tunnels.empty() &&
      !raw.tunnels[0].at(Field::kIkeVersion).present()) {
    notes->push_back("the file has no IKE version line (written before 2018); read as IKEv1");
  }
  if (raw.format == Format::kXml) {
    notes->push_back("the XML carries no tunnel MTU; using AWS's " + std::to_string(kDefaultMtu));
  }
  if (options.customer_asn && c.routing == Routing::kStatic) {
    notes->push_back("--customer-asn ignored: the connection uses static routing");
  }
  if (options.customer_ip) {
    for (const RawTunnel& t : raw.tunnels) {
      const RawValue& v = t.at(Field::kCustomerOutsideIp);
      auto file_ip = IpAddress::parse(v.text);
      if (file_ip && *file_ip != *options.customer_ip) {
        notes->push_back("--customer-ip " + options.customer_ip->toString() + " replaces " +
                         file_ip->toString() + " (line " + std::to_string(v.line) + ")");
        break;
      }
    }
  }
}

// Errors in file order (positionless ones last), so the list reads top to bottom.
void sortByLine(std::vector<ImportError>* errors) {
  std::stable_sort(errors->begin(), errors->end(), [](const ImportError& a, const ImportError& b) {
    const int la = a.line == 0 ? INT32_MAX : a.line;
    const int lb = b.line == 0 ? INT32_MAX : b.line;
    return la < lb;
  });
}

ImportResult checkAll(RawConnection raw, const ImportOptions& options);

}  // namespace

ImportResult validate(RawConnection raw, const ImportOptions& options) {
  ImportResult result = checkAll(std::move(raw), options);
  sortByLine(&result.errors);
  return result;
}

namespace {

ImportResult checkAll(RawConnection raw, const ImportOptions& options) {
  ImportResult result;
  std::vector<ImportError>& errors = result.errors;
  errors = std::move(raw.errors);
  Connection c;
  c.format = raw.format;
  if (raw.unreadable) {
    return result;
  }
  checkHeader(raw, &c, &errors);
  if (raw.tunnels.empty()) {
    errors.push_back({raw.last_line, "", "",
                      raw.format == Format::kXml
                          ? "no <ipsec_tunnel> elements; not a CustomerGatewayConfiguration"
                          : "no \"IPSec Tunnel #1\" section found; not an AWS Generic VPN "
                            "configuration file (or truncated before the first tunnel)"});
    return result;
  }
  std::vector<Tunnel> tunnels;
  std::vector<std::string> labels;
  std::vector<bool> ok;
  std::vector<std::string> tunnel_notes;
  for (const RawTunnel& raw_tunnel : raw.tunnels) {
    std::string label;
    auto tunnel = checkTunnel(raw_tunnel, raw.format, options, &errors, &tunnel_notes, &label);
    labels.push_back(std::move(label));
    ok.push_back(tunnel.has_value());
    tunnels.push_back(tunnel ? std::move(*tunnel) : Tunnel{});
  }
  checkPair(raw, tunnels, ok, labels, &errors);
  if (raw.tunnels.size() != 2) {
    const size_t n = raw.tunnels.size();
    errors.push_back({n > 2 ? raw.tunnels[2].line : raw.last_line, n > 2 ? labels[2] : "", "",
                      "found " + std::to_string(n) + (n == 1 ? " tunnel" : " tunnels") +
                          "; an AWS VPN connection has exactly 2" +
                          (n == 1 ? " (truncated file?)" : "")});
  }
  if (!errors.empty()) {
    return result;
  }
  c.routing = raw.tunnels[0].bgp_section ? Routing::kBgp : Routing::kStatic;
  std::sort(tunnels.begin(), tunnels.end(),
            [](const Tunnel& a, const Tunnel& b) { return a.aws_outside_ip < b.aws_outside_ip; });
  c.tunnels = std::move(tunnels);
  addNotes(raw, c, options, &result.notes);
  // Then each tunnel's own, in file order.
  result.notes.insert(result.notes.end(), tunnel_notes.begin(), tunnel_notes.end());
  result.connection = std::move(c);
  return result;
}

}  // namespace
}  // namespace detail

namespace {

ImportResult tooLarge(std::string_view bytes) {
  ImportResult r;
  r.errors.push_back({0, "", "",
                      std::to_string(bytes.size()) +
                          " bytes is too large for an AWS VPN "
                          "configuration (limit " +
                          std::to_string(kMaxInputBytes) + ")"});
  return r;
}

}  // namespace

ImportResult importText(std::string_view bytes, const ImportOptions& options) {
  if (bytes.size() > kMaxInputBytes) {
    return tooLarge(bytes);
  }
  return detail::validate(detail::parseTextRaw(bytes), options);
}

ImportResult importXml(std::string_view bytes, const ImportOptions& options) {
  if (bytes.size() > kMaxInputBytes) {
    return tooLarge(bytes);
  }
  return detail::validate(detail::parseXmlRaw(bytes), options);
}

ImportResult importAws(std::string_view bytes, const ImportOptions& options) {
  return detectFormat(bytes) == Format::kXml ? importXml(bytes, options)
                                             : importText(bytes, options);
}

}  // namespace crossgate::aws_import
