// The loader's structure checks: parsing, defaults, unknown keys, types, missing keys, secrets,
// several errors at once, the example file and the JSON view.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "crossgate/mgmt/config_json.h"

namespace crossgate::config::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ConfigLoader, BaseConfigLoadsWithDefaultsFilledIn) {
  ConfigDir dir;
  const LoadResult result = dir.load(kBaseConfig);
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  const Config& c = *result.config;
  EXPECT_EQ(c.source, dir.file());
  EXPECT_EQ(c.appliance.name, "cg-1");
  EXPECT_EQ(c.appliance.public_ip.toString(), "203.0.113.10");
  EXPECT_FALSE(c.appliance.lan_address.has_value());
  ASSERT_EQ(c.vpns.size(), 1u);
  const Vpn& vpn = c.vpns[0];
  EXPECT_EQ(vpn.mode, VpnMode::kActiveStandby);
  ASSERT_EQ(vpn.tunnels.size(), 2u);
  const Tunnel& t1 = vpn.tunnels[0];
  const Tunnel& t2 = vpn.tunnels[1];
  EXPECT_EQ(t1.name, "prod-t1");
  EXPECT_EQ(t2.name, "prod-t2");
  EXPECT_EQ(t1.priority, 100u);
  EXPECT_EQ(t2.priority, 200u);
  EXPECT_EQ(t1.interface, "cgt1");
  EXPECT_EQ(t2.interface, "cgt2");
  EXPECT_EQ(t1.psk_file, dir.dir() / "secrets/t1.psk");
  EXPECT_THAT(t1.ike_proposals, ElementsAre("aes256gcm16-prfsha384-ecp384",
                                            "aes256-sha256-modp2048", "aes128-sha1-modp1024"));
  EXPECT_THAT(t1.esp_proposals,
              ElementsAre("aes256gcm16-ecp384", "aes256-sha256-modp2048", "aes128-sha1-modp1024"));
  EXPECT_EQ(t1.ike_lifetime_s, 28800u);
  EXPECT_EQ(t1.esp_lifetime_s, 3600u);
  EXPECT_EQ(t1.mtu, 1436u);
  EXPECT_EQ(t1.tcp_mss, 1379u);
  EXPECT_FALSE(t1.bgp.has_value());
  EXPECT_EQ(t1.awsInsideIp().toString(), "169.254.44.1");
  EXPECT_EQ(t1.customerInsideIp().toString(), "169.254.44.2");
  EXPECT_TRUE(c.dns.views.empty());
  EXPECT_EQ(c.mgmt.control_socket, "/run/crossgate/control.sock");
}

TEST(ConfigLoader, ModelHelpers) {
  EXPECT_STREQ(toString(VpnMode::kActiveStandby), "active-standby");
  EXPECT_STREQ(toString(VpnMode::kEcmp), "ecmp");
  EXPECT_EQ((DnsEndpoint{*IpAddress::parse("10.0.0.2"), 53}).toString(), "10.0.0.2:53");
  EXPECT_EQ((DnsEndpoint{*IpAddress::parse("2001:db8::1"), 5353}).toString(), "[2001:db8::1]:5353");
  EXPECT_EQ((Diagnostic{"f.toml", 3, 7, "a.b", "bad"}).toString(), "f.toml:3:7: a.b: bad");
  EXPECT_EQ((Diagnostic{"f.toml", 3, 0, "a.b", "bad"}).toString(), "f.toml:3: a.b: bad");
  EXPECT_EQ((Diagnostic{"f.toml", 0, 0, "", "bad"}).toString(), "f.toml: bad");
}

TEST(ConfigLoader, MissingFileIsOneDiagnostic) {
  TempDir dir;
  const LoadResult result = loadFile(dir / "nope.toml");
  EXPECT_THAT(messages(result), ElementsAre((dir / "nope.toml").string() +
                                            ": cannot read file: No such file or directory"));
}

TEST(ConfigLoader, SyntaxErrorNamesPosition) {
  ConfigDir dir;
  const LoadResult result = dir.load(replaceLine(kBaseConfig, 16, "if_id = = 1"));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 16);
  EXPECT_THAT(result.errors[0].toString(), HasSubstr(dir.at(16, 9)));
}

TEST(ConfigLoader, UnknownKeySuggestsClosest) {
  ConfigDir dir;
  const LoadResult result = dir.load(replaceLine(kBaseConfig, 15, "psk_fiel = \"secrets/t1.psk\""));
  EXPECT_THAT(
      messages(result),
      ElementsAre(dir.at(12, 1) + "vpn[0].tunnel[0].psk_file: required key is missing",
                  dir.at(15, 1) + "vpn[0].tunnel[0].psk_fiel: unknown key 'psk_fiel'; did you mean "
                                  "'psk_file'?"));
}

TEST(ConfigLoader, UnknownKeyListsAllowedKeys) {
  ConfigDir dir;
  const LoadResult result = dir.load(insertAfter(kBaseConfig, 5, "colour = \"blue\""));
  EXPECT_THAT(messages(result),
              ElementsAre(dir.at(6, 1) +
                          "appliance.colour: unknown key 'colour'; allowed keys: lan_address, "
                          "lan_interface, name, public_ip, wan_interface"));
}

TEST(ConfigLoader, UnknownTunnelKeyListsEveryTunnelKey) {
  ConfigDir dir;
  const LoadResult result = dir.load(insertAfter(kBaseConfig, 16, "\"lifetime s\" = 1"));
  EXPECT_THAT(messages(result),
              ElementsAre(dir.at(17, 1) +
                          "vpn[0].tunnel[0].\"lifetime s\": unknown key \"lifetime s\"; allowed "
                          "keys: aws_outside_ip, bgp, dpd_interval_s, dpd_retries, "
                          "esp_lifetime_s, esp_proposals, if_id, ike_lifetime_s, ike_proposals, "
                          "inside_cidr, interface, mtu, name, priority, psk_file, replay_window, "
                          "tcp_mss"));
}

TEST(ConfigLoader, ControlCharactersInStringsAreRejected) {
  ConfigDir dir;
  const LoadResult result =
      dir.load(replaceLine(kBaseConfig, 13, "aws_outside_ip = \"198.51.100.17\\u0000x\""));
  EXPECT_THAT(messages(result),
              ElementsAre(dir.at(13, 18) +
                          "vpn[0].tunnel[0].aws_outside_ip: control characters are not allowed"));
}

TEST(ConfigLoader, UnknownTopLevelTable) {
  ConfigDir dir;
  const LoadResult result = dir.load(std::string(kBaseConfig) + "[dsn]\nport = 53\n");
  EXPECT_THAT(messages(result),
              ElementsAre(dir.at(23, 2) + "dsn: unknown key 'dsn'; did you mean 'dns'?"));
}

TEST(ConfigLoader, WrongTypesNameTheExpectedType) {
  ConfigDir dir;
  std::string text = replaceLine(kBaseConfig, 16, "if_id = \"1\"");
  text = replaceLine(text, 9, "remote_networks = \"10.10.0.0/16\"");
  text = replaceLine(text, 2, "name = 7");
  const LoadResult result = dir.load(text);
  EXPECT_THAT(
      messages(result),
      ElementsAre(dir.at(2, 8) + "appliance.name: expected a string, found an integer",
                  dir.at(9, 19) + "vpn[0].remote_networks: expected an array of strings, found a "
                                  "string",
                  dir.at(16, 9) + "vpn[0].tunnel[0].if_id: expected an integer, found a "
                                  "string"));
}

TEST(ConfigLoader, WrongTypeInsideArrayNamesTheElement) {
  ConfigDir dir;
  const LoadResult result =
      dir.load(replaceLine(kBaseConfig, 10, "local_networks = [\"10.20.0.0/16\", 5]"));
  EXPECT_THAT(messages(result),
              ElementsAre(dir.at(10, 35) +
                          "vpn[0].local_networks[1]: expected a string, found an integer"));
}

TEST(ConfigLoader, VpnMustBeAnArrayOfTables) {
  ConfigDir dir;
  const LoadResult result = dir.load(
      "vpn = \"prod\"\n[appliance]\nname = \"a\"\nwan_interface = \"eth0\"\n"
      "lan_interface = \"eth1\"\npublic_ip = \"203.0.113.10\"\n");
  EXPECT_THAT(
      messages(result),
      ElementsAre(dir.at(1, 7) + "vpn: expected an array of tables [[vpn]], found a string"));
}

TEST(ConfigLoader, MissingRequiredKeyIsReportedAtTheTable) {
  ConfigDir dir;
  const LoadResult result = dir.load(replaceLine(kBaseConfig, 19, "# no outside ip"));
  EXPECT_THAT(
      messages(result),
      ElementsAre(dir.at(18, 1) + "vpn[0].tunnel[1].aws_outside_ip: required key is missing"));
}

TEST(ConfigLoader, MissingApplianceTable) {
  ConfigDir dir;
  auto lines = splitLines(kBaseConfig);
  lines.erase(lines.begin(), lines.begin() + 6);
  const LoadResult result = dir.load(joinLines(lines));
  EXPECT_THAT(messages(result),
              ElementsAre(dir.file().string() + ": appliance: required table [appliance] is "
                                                "missing"));
}

TEST(ConfigLoader, MissingTunnels) {
  ConfigDir dir;
  auto lines = splitLines(kBaseConfig);
  lines.resize(10);
  const LoadResult result = dir.load(joinLines(lines));
  EXPECT_THAT(
      messages(result),
      ElementsAre(dir.at(7, 1) + "vpn[0].tunnel: at least one [[vpn.tunnel]] table is required"));
}

TEST(ConfigLoader, SecretsInTheMainFileAreRejectedWithoutEchoingThem) {
  ConfigDir dir;
  std::string text = insertAfter(kBaseConfig, 16, "psk = \"hunter2-very-secret\"");
  text = insertAfter(text, 0, "secret = \"s3\"");
  text = insertAfter(text, 20, "Pre_Shared_Key = \"x\"");
  const LoadResult result = dir.load(text);
  const std::string advice =
      "secrets do not belong in the config file: write the pre-shared key to a file with mode "
      "0600 and name that file with psk_file";
  EXPECT_THAT(messages(result),
              ElementsAre(dir.at(1, 1) + "secret: " + advice,
                          dir.at(18, 1) + "vpn[0].tunnel[0].psk: " + advice,
                          dir.at(21, 1) + "vpn[0].tunnel[1].Pre_Shared_Key: " + advice));
  for (const auto& m : messages(result)) {
    EXPECT_THAT(m, Not(HasSubstr("hunter2")));
  }
}

TEST(ConfigLoader, EveryErrorIsReportedInDocumentOrder) {
  ConfigDir dir;
  std::string text = replaceLine(kBaseConfig, 5, "public_ip = \"203.0.113.300\"");
  text = replaceLine(text, 14, "inside_cidr = \"169.254.44.0/29\"");
  text = replaceLine(text, 20, "inside_cidr = \"169.254.45.1/30\"");
  text = replaceLine(text, 22, "if_id = 1");
  text = insertAfter(text, 10, "mode = \"hot-standby\"");
  const LoadResult result = dir.load(text);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(
      messages(result),
      ElementsAre(
          dir.at(5, 13) + "appliance.public_ip: invalid IP address '203.0.113.300'",
          dir.at(11, 8) + "vpn[0].mode: must be \"active-standby\" or \"ecmp\", found "
                          "\"hot-standby\"",
          dir.at(15, 15) + "vpn[0].tunnel[0].inside_cidr: '169.254.44.0/29' must be a /30 (AWS "
                           "assigns one /30 per tunnel), found /29",
          dir.at(19, 1) +
              "vpn[0].tunnel[1].interface: interface name 'cgt1' is already used by "
              "vpn[0].tunnel[0].interface (" +
              dir.file().string() + ":13:1)",
          dir.at(21, 15) + "vpn[0].tunnel[1].inside_cidr: invalid CIDR '169.254.45.1/30': host "
                           "bits are set; did you mean 169.254.45.0/30?",
          dir.at(23, 9) +
              "vpn[0].tunnel[1].if_id: if_id '1' is already used by "
              "vpn[0].tunnel[0].if_id (" +
              dir.file().string() + ":17:9)"));
}

TEST(ConfigLoader, ExampleFileLoads) {
  const char* source = std::getenv("CROSSGATE_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "CROSSGATE_SOURCE_DIR is not set (run through ctest)";
  const std::filesystem::path example =
      std::filesystem::path(source) / "image/etc/crossgate.toml.example";
  ConfigDir dir;
  writeFile(dir.dir() / "secrets/aws-prod-t1.psk", "k1\n", 0600);
  writeFile(dir.dir() / "secrets/aws-prod-t2.psk", "k2\n", 0400);
  const LoadResult result = dir.load(readFile(example));
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  const Config& c = *result.config;
  ASSERT_EQ(c.vpns.size(), 1u);
  ASSERT_EQ(c.vpns[0].tunnels.size(), 2u);
  EXPECT_EQ(c.vpns[0].tunnels[1].name, "aws-prod-t2");
  EXPECT_EQ(c.vpns[0].tunnels[1].priority, 200u);
  EXPECT_EQ(c.vpns[0].tunnels[1].bgp->neighbor_ip.toString(), "169.254.45.1");
  EXPECT_EQ(c.dns.views.at(0).private_endpoints.size(), 2u);
  EXPECT_EQ(c.dns.forward_zones.at(0).servers.at(1).toString(), "10.0.0.3:5353");
  // As shipped (PSK files elsewhere), the file is still well formed.
  const LoadResult unchecked = loadFile(example, LoadOptions{.check_secret_files = false});
  EXPECT_TRUE(unchecked.ok()) << ::testing::PrintToString(messages(unchecked));
}

TEST(ConfigLoader, JsonShowsPskPathsNeverContents) {
  ConfigDir dir;
  writeFile(dir.dir() / "secrets/t1.psk", "TOPSECRETKEYMATERIAL\n", 0600);
  const LoadResult result = dir.load(
      insertAfter(kBaseConfig, 16, "[vpn.tunnel.bgp]\ncustomer_asn = 65000\naws_asn = 64512"));
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  const nlohmann::json j = toJson(*result.config);
  EXPECT_THAT(j.dump(), Not(HasSubstr("TOPSECRET")));
  const auto& t1 = j["vpn"][0]["tunnel"][0];
  EXPECT_EQ(t1["psk_file"], (dir.dir() / "secrets/t1.psk").string());
  EXPECT_EQ(t1["name"], "prod-t1");
  EXPECT_EQ(t1["inside_cidr"], "169.254.44.0/30");
  EXPECT_EQ(t1["aws_inside_ip"], "169.254.44.1");
  EXPECT_EQ(t1["customer_inside_ip"], "169.254.44.2");
  EXPECT_EQ(t1["bgp"]["neighbor_ip"], "169.254.44.1");
  EXPECT_EQ(t1["bgp"]["aws_asn"], 64512);
  EXPECT_TRUE(j["vpn"][0]["tunnel"][1]["bgp"].is_null());
  EXPECT_EQ(j["vpn"][0]["mode"], "active-standby");
  EXPECT_EQ(j["vpn"][0]["remote_networks"][0], "10.10.0.0/16");
  EXPECT_TRUE(j["appliance"]["lan_address"].is_null());
  EXPECT_EQ(j["dns"]["port"], 53);
  EXPECT_EQ(j["mgmt"]["log_level"], "info");
  EXPECT_EQ(j["source"], dir.file().string());
}

TEST(ConfigLoader, LoadStringResolvesPathsAgainstSourceDirectory) {
  ConfigDir dir;
  const LoadResult result = loadString(kBaseConfig, dir.dir() / "virtual.toml");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  EXPECT_EQ(result.config->vpns[0].tunnels[1].psk_file, dir.dir() / "secrets/t2.psk");
}

}  // namespace
}  // namespace crossgate::config::testing
