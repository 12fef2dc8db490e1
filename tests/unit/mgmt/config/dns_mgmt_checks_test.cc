// Semantic checks of [dns], [nat] and [mgmt]: each asserts the exact message and position.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace crossgate::config::testing {
namespace {

using ::testing::ElementsAre;

// kBaseConfig (22 lines) followed by this, so [dns] is line 23.
const std::string kDnsConfig = std::string(kBaseConfig) + R"([dns]
listen = ["10.20.0.4"]
upstreams = ["168.63.129.16", "10.0.0.53:5353", "[2001:db8::53]:53", "2001:db8::54"]
[[dns.forward_zone]]
zone = "Corp.Example."
servers = ["10.0.0.2"]
[[dns.view]]
name = "aws"
clients = ["10.10.0.0/16"]
[[dns.view.record]]
name = "WWW.corp.example."
type = "a"
value = "10.20.0.10"
[[dns.view.private_endpoint]]
name = "acct.privatelink.dfs.core.windows.net"
address = "10.20.1.5"
[[dns.view.private_zone]]
zone = "privatelink.dfs.core.windows.net"
fallback = true
)";

class DnsChecks : public ::testing::Test {
 protected:
  std::vector<std::string> withLine(size_t n, const std::string& text) {
    return messages(dir_.load(replaceLine(kDnsConfig, n, text)));
  }
  // Replaces the record's type (line 34) and value (line 35).
  std::vector<std::string> withRecord(const std::string& type, const std::string& value) {
    const std::string text = replaceLine(kDnsConfig, 34, "type = \"" + type + "\"");
    return messages(dir_.load(replaceLine(text, 35, "value = \"" + value + "\"")));
  }
  std::vector<std::string> withExtra(const std::string& text) {
    return messages(dir_.load(kDnsConfig + text));
  }
  std::string at(int line, int column) const { return dir_.at(line, column); }

  ConfigDir dir_;
};

TEST_F(DnsChecks, ValidDnsIsNormalized) {
  const LoadResult result = dir_.load(kDnsConfig);
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  const Dns& dns = result.config->dns;
  ASSERT_EQ(dns.upstreams.size(), 4u);
  EXPECT_EQ(dns.upstreams[0].toString(), "168.63.129.16:53");
  EXPECT_EQ(dns.upstreams[1].toString(), "10.0.0.53:5353");
  EXPECT_EQ(dns.upstreams[2].toString(), "[2001:db8::53]:53");
  EXPECT_EQ(dns.upstreams[3].toString(), "[2001:db8::54]:53");
  EXPECT_EQ(dns.forward_zones.at(0).zone, "corp.example");
  const DnsView& view = dns.views.at(0);
  EXPECT_EQ(view.records.at(0).name, "www.corp.example");
  EXPECT_EQ(view.records.at(0).type, "A");
  EXPECT_EQ(view.records.at(0).ttl, 300u);
  EXPECT_EQ(view.private_endpoints.at(0).ttl, 10u);
  EXPECT_TRUE(view.private_zones.at(0).fallback);
}

TEST_F(DnsChecks, ViewNamesAreUniqueAndClientsValid) {
  EXPECT_THAT(withExtra("[[dns.view]]\nname = \"aws\"\nclients = [\"10.10.0.0/33\"]\n"),
              ElementsAre(at(43, 8) +
                              "dns.view[1].name: view name 'aws' is already used by "
                              "dns.view[0].name (" +
                              dir_.file().string() + ":30:8)",
                          at(44, 12) + "dns.view[1].clients[0]: invalid CIDR '10.10.0.0/33': "
                                       "prefix length '33' must be 0..32"));
  EXPECT_THAT(withLine(31, "clients = []"),
              ElementsAre(at(31, 11) + "dns.view[0].clients: must list at least one value"));
}

TEST_F(DnsChecks, RecordTypesAndValues) {
  EXPECT_THAT(withLine(34, "type = \"MX\""),
              ElementsAre(at(34, 8) + "dns.view[0].record[0].type: must be one of A, AAAA, "
                                      "CNAME, TXT, PTR; found \"MX\""));
  EXPECT_THAT(withLine(35, "value = \"2001:db8::1\""),
              ElementsAre(at(35, 9) + "dns.view[0].record[0].value: an A record needs an IPv4 "
                                      "address, found '2001:db8::1'"));
  EXPECT_THAT(withLine(34, "type = \"AAAA\""),
              ElementsAre(at(35, 9) + "dns.view[0].record[0].value: an AAAA record needs an IPv6 "
                                      "address, found '10.20.0.10'"));
  EXPECT_THAT(withRecord("CNAME", "bad..name"),
              ElementsAre(at(35, 9) + "dns.view[0].record[0].value: a CNAME record needs a DNS "
                                      "name: invalid DNS name 'bad..name': empty label"));
  const std::string long_txt(256, 'x');
  EXPECT_THAT(withRecord("TXT", long_txt),
              ElementsAre(at(35, 9) + "dns.view[0].record[0].value: a TXT value must be at most "
                                      "255 bytes, found 256"));
  EXPECT_THAT(withLine(33, "name = \"-www.corp.example\""),
              ElementsAre(at(33, 8) + "dns.view[0].record[0].name: invalid DNS name "
                                      "'-www.corp.example': label '-www' starts or ends with '-'"));
  EXPECT_THAT(withRecord("PTR", "Host.Corp.Example."), ElementsAre());
}

TEST_F(DnsChecks, CnameCannotCoexistWithOtherRecords) {
  const std::string path = dir_.file().string();
  EXPECT_THAT(withLine(35,
                       "value = \"10.20.0.10\"\n[[dns.view.record]]\nname = \"www.corp."
                       "example\"\ntype = \"CNAME\"\nvalue = \"other.corp.example\""),
              ElementsAre(at(37, 8) +
                          "dns.view[0].record[1].name: a CNAME cannot coexist with "
                          "other records for 'www.corp.example' "
                          "(dns.view[0].record[0].name at " +
                          path + ":33:8)"));
  EXPECT_THAT(withLine(35,
                       "value = \"10.20.0.10\"\n[[dns.view.record]]\nname = \"www.corp."
                       "example\"\ntype = \"A\"\nvalue = \"10.20.0.11\""),
              ElementsAre());
}

TEST_F(DnsChecks, PrivateEndpointNames) {
  EXPECT_THAT(withLine(37, "name = \"acct.dfs.core.windows.net\""),
              ElementsAre(at(37, 8) + "dns.view[0].private_endpoint[0].name: "
                                      "'acct.dfs.core.windows.net' is not a private-endpoint "
                                      "name: expected <account>.privatelink.<service>.core."
                                      "windows.net with service one of blob, dfs, file, queue, "
                                      "table, web; did you mean "
                                      "'acct.privatelink.dfs.core.windows.net'?"));
  EXPECT_THAT(withLine(37, "name = \"acct.privatelink.vault.core.windows.net\""),
              ElementsAre(at(37, 8) + "dns.view[0].private_endpoint[0].name: "
                                      "'acct.privatelink.vault.core.windows.net' is not a "
                                      "private-endpoint name: expected <account>.privatelink."
                                      "<service>.core.windows.net with service one of blob, dfs, "
                                      "file, queue, table, web (found service 'vault')"));
  EXPECT_THAT(withLine(37, "name = \"ACCT.privatelink.Blob.core.windows.net.\""), ElementsAre());
  EXPECT_THAT(withLine(38, "address = \"10.20.1\""),
              ElementsAre(at(38, 11) + "dns.view[0].private_endpoint[0].address: invalid IP "
                                       "address '10.20.1'"));
  EXPECT_THAT(withLine(38, "address = \"fd00::5\""), ElementsAre());
}

TEST_F(DnsChecks, UpstreamsAndTimeouts) {
  EXPECT_THAT(withLine(25, "upstreams = [\"10.0.0.53:0\", \"[10.0.0.1]:53\", \"dns.google\"]"),
              ElementsAre(at(25, 14) + "dns.upstreams[0]: invalid address '10.0.0.53:0': port "
                                       "'0' must be 1..65535",
                          at(25, 29) + "dns.upstreams[1]: invalid address '[10.0.0.1]:53': "
                                       "expected ip, ip:port or [ipv6]:port",
                          at(25, 46) + "dns.upstreams[2]: invalid address 'dns.google': "
                                       "'dns.google' is not an IP address (expected ip, ip:port "
                                       "or [ipv6]:port)"));
  EXPECT_THAT(withLine(24, "listen = [\"10.20.0.4\"]\ntimeout_ms = 0"),
              ElementsAre(at(25, 14) + "dns.timeout_ms: must be 1..60000, found 0"));
  EXPECT_THAT(withLine(24, "listen = [\"10.20.0.4\"]\nport = 70000"),
              ElementsAre(at(25, 8) + "dns.port: must be 1..65535, found 70000"));
  EXPECT_THAT(withLine(28, "servers = []"),
              ElementsAre(at(28, 11) + "dns.forward_zone[0].servers: must list at least one "
                                       "value"));
}

TEST_F(DnsChecks, DuplicateZones) {
  EXPECT_THAT(
      withExtra("[[dns.forward_zone]]\nzone = \"corp.example\"\nservers = [\"10.0.0.3\"]\n"),
      ElementsAre(at(43, 8) +
                  "dns.forward_zone[1].zone: forward zone 'corp.example' is "
                  "already used by dns.forward_zone[0].zone (" +
                  dir_.file().string() + ":27:8)"));
}

TEST_F(DnsChecks, NatAndMgmt) {
  EXPECT_THAT(withExtra("[nat]\nsnat = \"yes\"\nprivate_endpoint_subnets = [\"10.20.1.0/24\"]\n"),
              ElementsAre(at(43, 8) + "nat.snat: expected a boolean (true or false), found a "
                                      "string"));
  EXPECT_THAT(withExtra("[mgmt]\ncontrol_socket = \"run/control.sock\"\nmetrics_listen = "
                        "\"127.0.0.1\"\nlog_level = \"verbose\"\nvici_socket = \"/" +
                        std::string(120, 'v') + "\"\n"),
              ElementsAre(at(43, 18) + "mgmt.control_socket: path 'run/control.sock' must be "
                                       "absolute (start with '/')",
                          at(44, 18) + "mgmt.metrics_listen: invalid listen address '127.0.0.1': "
                                       "expected ip:port or [ipv6]:port, or \"\" for off",
                          at(45, 13) + "mgmt.log_level: must be one of trace, debug, info, warn, "
                                       "error, critical, off; found \"verbose\"",
                          at(46, 15) + "mgmt.vici_socket: socket path is 121 bytes long; a unix "
                                       "socket path must be at most 107"));
  const LoadResult result =
      dir_.load(kDnsConfig + "[mgmt]\nmetrics_listen = \"\"\nlog_level = \"debug\"\n");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  EXPECT_EQ(result.config->mgmt.metrics_listen, "");
  EXPECT_EQ(result.config->mgmt.log_level, "debug");
}

}  // namespace
}  // namespace crossgate::config::testing
