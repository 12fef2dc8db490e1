// Shared body of the AWS importer fuzz targets: import, then check what a successful import
// promises (two tunnels in AWS outside IP order, /30 inside networks, valid keys) and render it.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crossgate/mgmt/aws_import.h"

namespace crossgate::aws_import::fuzz {

inline void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

inline void importAndRender(std::string_view bytes, bool xml) {
  for (int with_options = 0; with_options < 2; ++with_options) {
    ImportOptions options;
    if (with_options != 0) {
      options.customer_ip = IpAddress::parse("203.0.113.1");
      options.customer_asn = 65000;
    }
    const ImportResult r = xml ? importXml(bytes, options) : importText(bytes, options);
    check(r.ok() == r.errors.empty());
    for (const ImportError& e : r.errors) {
      check(!e.message.empty());
      (void)e.toString("fuzz");
    }
    if (!r.ok()) {
      continue;
    }
    const Connection& c = *r.connection;
    check(c.tunnels.size() == 2);
    check(c.tunnels[0].aws_outside_ip < c.tunnels[1].aws_outside_ip);
    for (const Tunnel& t : c.tunnels) {
      check(t.inside_cidr.prefixLen() == 30);
      check(t.inside_cidr.contains(t.aws_inside_ip) &&
            t.inside_cidr.contains(t.customer_inside_ip));
      check(checkPsk(t.psk.view()).usable());
      check(!t.ike.proposal.empty() && !t.esp.proposal.empty());
    }
    FragmentOptions fragment;
    fragment.name = defaultName(c);
    fragment.if_ids = {1, 2};
    check(isValidName(fragment.name));
    check(!renderToml(c, fragment).empty());
    check(!renderJson(c, false).empty());
  }
}

}  // namespace crossgate::aws_import::fuzz
