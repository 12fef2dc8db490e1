// Semantic checks of [appliance], [[vpn]], [[vpn.tunnel]] and [vpn.tunnel.bgp]: each asserts the
// exact message and position.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace crossgate::config::testing {
namespace {

using ::testing::ElementsAre;

// One line of kBaseConfig replaced; expects exactly one diagnostic.
class VpnChecks : public ::testing::Test {
 protected:
  std::vector<std::string> withLine(size_t n, const std::string& text) {
    return messages(dir_.load(replaceLine(kBaseConfig, n, text)));
  }
  std::string at(int line, int column) const { return dir_.at(line, column); }
  std::string file() const { return dir_.file().string(); }

  ConfigDir dir_;
};

TEST_F(VpnChecks, InsideCidrMustBeASlash30) {
  EXPECT_THAT(withLine(14, "inside_cidr = \"169.254.44.0/29\""),
              ElementsAre(at(14, 15) + "vpn[0].tunnel[0].inside_cidr: '169.254.44.0/29' must be "
                                       "a /30 (AWS assigns one /30 per tunnel), found /29"));
}

TEST_F(VpnChecks, InsideCidrMustBeLinkLocal) {
  EXPECT_THAT(withLine(14, "inside_cidr = \"10.0.0.0/30\""),
              ElementsAre(at(14, 15) + "vpn[0].tunnel[0].inside_cidr: '10.0.0.0/30' must be "
                                       "inside 169.254.0.0/16"));
}

TEST_F(VpnChecks, InsideCidrMustNotBeReservedByAws) {
  const std::string reserved =
      "' is reserved by AWS (169.254.0.0/30 to 169.254.5.0/30 and 169.254.169.252/30); choose "
      "another /30 inside 169.254.0.0/16";
  EXPECT_THAT(
      withLine(14, "inside_cidr = \"169.254.169.252/30\""),
      ElementsAre(at(14, 15) + "vpn[0].tunnel[0].inside_cidr: '169.254.169.252/30" + reserved));
  EXPECT_THAT(withLine(20, "inside_cidr = \"169.254.3.0/30\""),
              ElementsAre(at(20, 15) + "vpn[0].tunnel[1].inside_cidr: '169.254.3.0/30" + reserved));
  EXPECT_THAT(withLine(20, "inside_cidr = \"169.254.6.0/30\""), ElementsAre());
}

TEST_F(VpnChecks, HostBitsSetSuggestsTheNetwork) {
  EXPECT_THAT(withLine(9, "remote_networks = [\"10.10.1.0/16\"]"),
              ElementsAre(at(9, 20) + "vpn[0].remote_networks[0]: invalid CIDR '10.10.1.0/16': "
                                      "host bits are set; did you mean 10.10.0.0/16?"));
}

TEST_F(VpnChecks, InvalidAddresses) {
  EXPECT_THAT(withLine(13, "aws_outside_ip = \"198.51.100.017\""),
              ElementsAre(at(13, 18) + "vpn[0].tunnel[0].aws_outside_ip: invalid IP address "
                                       "'198.51.100.017'"));
  EXPECT_THAT(withLine(13, "aws_outside_ip = \"198.51.100.17/32\""),
              ElementsAre(at(13, 18) + "vpn[0].tunnel[0].aws_outside_ip: invalid IP address "
                                       "'198.51.100.17/32' (an address here, without a prefix "
                                       "length)"));
  EXPECT_THAT(withLine(10, "local_networks = [\"10.20.0.0\"]"),
              ElementsAre(at(10, 19) + "vpn[0].local_networks[0]: invalid CIDR '10.20.0.0': "
                                       "expected an address with a prefix length, such as "
                                       "10.0.0.0/16"));
}

TEST_F(VpnChecks, PskFileModeMustBe0600OrStricter) {
  const auto psk = (dir_.dir() / "secrets/t1.psk").string();
  writeFile(psk, "key\n", 0644);
  EXPECT_THAT(withLine(15, "psk_file = \"secrets/t1.psk\""),
              ElementsAre(at(15, 12) + "vpn[0].tunnel[0].psk_file: '" + psk +
                          "' has mode 0644; a PSK file must not be accessible by group or "
                          "others: run chmod 600 '" +
                          psk + "'"));
  writeFile(psk, "key\n", 0640);
  EXPECT_EQ(withLine(15, "psk_file = \"secrets/t1.psk\"").size(), 1u);
  writeFile(psk, "key\n", 0600);
  EXPECT_THAT(withLine(15, "psk_file = \"secrets/t1.psk\""), ElementsAre());
  writeFile(psk, "key\n", 0400);
  EXPECT_THAT(withLine(15, "psk_file = \"secrets/t1.psk\""), ElementsAre());
}

TEST_F(VpnChecks, PskFileMustExistAndBeARegularNonEmptyFile) {
  const auto dir = dir_.dir().path().string();
  EXPECT_THAT(withLine(15, "psk_file = \"secrets/missing.psk\""),
              ElementsAre(at(15, 12) + "vpn[0].tunnel[0].psk_file: cannot access '" + dir +
                          "/secrets/missing.psk': No such file or directory"));
  EXPECT_THAT(withLine(15, "psk_file = \"secrets\""),
              ElementsAre(at(15, 12) + "vpn[0].tunnel[0].psk_file: '" + dir +
                          "/secrets' is not a regular file"));
  writeFile(dir_.dir() / "secrets/empty.psk", "", 0600);
  EXPECT_THAT(withLine(15, "psk_file = \"./secrets/../secrets/empty.psk\""),
              ElementsAre(at(15, 12) + "vpn[0].tunnel[0].psk_file: '" + dir +
                          "/secrets/empty.psk' is empty; it must hold the tunnel's pre-shared "
                          "key"));
}

TEST_F(VpnChecks, AbsolutePskPathIsKept) {
  const auto psk = dir_.dir() / "elsewhere.psk";
  writeFile(psk, "key\n", 0600);
  const LoadResult result =
      dir_.load(replaceLine(kBaseConfig, 15, "psk_file = \"" + psk.string() + "\""));
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  EXPECT_EQ(result.config->vpns[0].tunnels[0].psk_file, psk);
}

TEST_F(VpnChecks, PskChecksCanBeSkipped) {
  writeFile(dir_.dir() / "crossgate.toml", replaceLine(kBaseConfig, 15, "psk_file = \"none\""));
  EXPECT_TRUE(loadFile(dir_.file(), LoadOptions{.check_secret_files = false}).ok());
}

TEST_F(VpnChecks, VpnNamesAreValidatedAndUnique) {
  EXPECT_THAT(withLine(8, "name = \"Prod_1\""),
              ElementsAre(at(8, 8) + "vpn[0].name: invalid name 'Prod_1': use 1..32 characters "
                                     "of a-z, 0-9 and '-', not starting or ending with '-'"));
  const std::string second =
      "[[vpn]]\nname = \"prod\"\nremote_networks = [\"10.11.0.0/16\"]\n"
      "local_networks = [\"10.21.0.0/16\"]\n[[vpn.tunnel]]\naws_outside_ip = \"198.51.100.30\"\n"
      "inside_cidr = \"169.254.50.0/30\"\npsk_file = \"secrets/t1.psk\"\nif_id = 3\n";
  EXPECT_THAT(messages(dir_.load(std::string(kBaseConfig) + second)),
              ElementsAre(at(24, 8) +
                              "vpn[1].name: vpn name 'prod' is already used by "
                              "vpn[0].name (" +
                              file() + ":8:8)",
                          at(27, 1) +
                              "vpn[1].tunnel[0].name: tunnel name 'prod-t1' is already "
                              "used by vpn[0].tunnel[0].name (" +
                              file() + ":12:1)"));
}

TEST_F(VpnChecks, TunnelNamesAreUniqueAcrossVpns) {
  const std::string second =
      "[[vpn]]\nname = \"dev\"\nremote_networks = [\"10.11.0.0/16\"]\n"
      "local_networks = [\"10.21.0.0/16\"]\n[[vpn.tunnel]]\nname = \"prod-t2\"\n"
      "aws_outside_ip = \"198.51.100.30\"\ninside_cidr = \"169.254.50.0/30\"\n"
      "psk_file = \"secrets/t1.psk\"\nif_id = 3\n";
  EXPECT_THAT(messages(dir_.load(std::string(kBaseConfig) + second)),
              ElementsAre(at(28, 8) +
                          "vpn[1].tunnel[0].name: tunnel name 'prod-t2' is already "
                          "used by vpn[0].tunnel[1].name (" +
                          file() + ":18:1)"));
}

TEST_F(VpnChecks, IfIdRangeAndUniqueness) {
  EXPECT_THAT(withLine(16, "if_id = 0"),
              ElementsAre(at(16, 9) + "vpn[0].tunnel[0].if_id: must be 1..4294967293, found 0"));
  EXPECT_THAT(withLine(16, "if_id = 4294967294"),
              ElementsAre(at(16, 9) + "vpn[0].tunnel[0].if_id: must be 1..4294967293, found "
                                      "4294967294"));
  EXPECT_THAT(withLine(16, "if_id = 4294967293"), ElementsAre());
  EXPECT_THAT(withLine(22, "if_id = 1\ninterface = \"cgt-b\""),
              ElementsAre(at(22, 9) +
                          "vpn[0].tunnel[1].if_id: if_id '1' is already used by "
                          "vpn[0].tunnel[0].if_id (" +
                          file() + ":16:9)"));
}

TEST_F(VpnChecks, AwsOutsideIpIsUnique) {
  EXPECT_THAT(withLine(19, "aws_outside_ip = \"198.51.100.17\""),
              ElementsAre(at(19, 18) +
                          "vpn[0].tunnel[1].aws_outside_ip: aws_outside_ip "
                          "'198.51.100.17' is already used by "
                          "vpn[0].tunnel[0].aws_outside_ip (" +
                          file() + ":13:18)"));
}

TEST_F(VpnChecks, InterfaceNamesAreShortAndUnique) {
  EXPECT_THAT(withLine(16, "if_id = 1\ninterface = \"crossgate-tunnel1\""),
              ElementsAre(at(17, 13) + "vpn[0].tunnel[0].interface: interface name "
                                       "'crossgate-tunnel1' must be 1..15 characters (found 17)"));
  EXPECT_THAT(withLine(16, "if_id = 1\ninterface = \"cgt2\""),
              ElementsAre(at(19, 1) +
                          "vpn[0].tunnel[1].interface: interface name 'cgt2' is "
                          "already used by vpn[0].tunnel[0].interface (" +
                          file() + ":17:13)"));
  EXPECT_THAT(withLine(16, "if_id = 1\ninterface = \"eth1\""),
              ElementsAre(at(17, 13) +
                          "vpn[0].tunnel[0].interface: interface name 'eth1' is "
                          "already used by appliance.lan_interface (" +
                          file() + ":4:17)"));
  EXPECT_THAT(withLine(4, "lan_interface = \"eth0\""),
              ElementsAre(at(4, 17) +
                          "appliance.lan_interface: interface name 'eth0' is already "
                          "used by appliance.wan_interface (" +
                          file() + ":3:17)"));
}

TEST_F(VpnChecks, RemoteAndLocalNetworksMustNotOverlap) {
  EXPECT_THAT(withLine(10, "local_networks = [\"10.20.0.0/16\", \"10.10.4.0/24\"]"),
              ElementsAre(at(10, 35) +
                          "vpn[0].local_networks[1]: overlaps remote network "
                          "10.10.0.0/16 (vpn[0].remote_networks[0] at " +
                          file() + ":9:20); remote and local networks must not overlap"));
  const std::string second =
      "[[vpn]]\nname = \"dev\"\nremote_networks = [\"10.20.128.0/17\"]\n"
      "local_networks = [\"10.21.0.0/16\"]\n[[vpn.tunnel]]\naws_outside_ip = \"198.51.100.30\"\n"
      "inside_cidr = \"169.254.50.0/30\"\npsk_file = \"secrets/t1.psk\"\nif_id = 3\n";
  EXPECT_THAT(messages(dir_.load(std::string(kBaseConfig) + second)),
              ElementsAre(at(25, 20) +
                          "vpn[1].remote_networks[0]: overlaps local network "
                          "10.20.0.0/16 (vpn[0].local_networks[0] at " +
                          file() + ":10:19); remote and local networks must not overlap"));
}

TEST_F(VpnChecks, ModeAndTunnelCount) {
  EXPECT_THAT(withLine(8, "name = \"prod\"\nmode = \"ecmp\""), ElementsAre());
  EXPECT_THAT(withLine(8, "name = \"prod\"\nmode = \"ECMP\""),
              ElementsAre(at(9, 8) + "vpn[0].mode: must be \"active-standby\" or \"ecmp\", found "
                                     "\"ECMP\""));
  const std::string third =
      "[[vpn.tunnel]]\naws_outside_ip = \"198.51.100.19\"\ninside_cidr = \"169.254.46.0/30\"\n"
      "psk_file = \"secrets/t1.psk\"\nif_id = 3\n";
  EXPECT_THAT(messages(dir_.load(std::string(kBaseConfig) + third)),
              ElementsAre(at(23, 1) + "vpn[0].tunnel[2]: a VPN connection has at most 2 tunnels "
                                      "(AWS provides 2), found 3"));
}

TEST_F(VpnChecks, OneTunnelIsAccepted) {
  auto lines = splitLines(kBaseConfig);
  lines.resize(16);
  const LoadResult result = dir_.load(joinLines(lines));
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  EXPECT_EQ(result.config->vpns[0].tunnels.size(), 1u);
}

TEST_F(VpnChecks, MtuAndMss) {
  EXPECT_THAT(withLine(16, "if_id = 1\nmtu = 9001"),
              ElementsAre(at(17, 7) + "vpn[0].tunnel[0].mtu: must be 576..9000, found 9001"));
  EXPECT_THAT(withLine(16, "if_id = 1\nmtu = 1400\ntcp_mss = 1361"),
              ElementsAre(at(18, 11) + "vpn[0].tunnel[0].tcp_mss: must be 536..1360 (mtu 1400 - "
                                       "40), found 1361"));
  EXPECT_THAT(withLine(16, "if_id = 1\nmtu = 1400\ntcp_mss = 1360"), ElementsAre());
  EXPECT_THAT(withLine(16, "if_id = 1\nmtu = 1400"),
              ElementsAre(at(17, 7) + "vpn[0].tunnel[0].mtu: the default tcp_mss 1379 needs an "
                                      "mtu of at least 1419; set tcp_mss to at most 1360"));
  EXPECT_THAT(withLine(16, "if_id = 1\ntcp_mss = 500"),
              ElementsAre(at(17, 11) + "vpn[0].tunnel[0].tcp_mss: must be 536..1396 (mtu 1436 - "
                                       "40), found 500"));
}

TEST_F(VpnChecks, Lifetimes) {
  EXPECT_THAT(withLine(16, "if_id = 1\nike_lifetime_s = 600"),
              ElementsAre(at(17, 18) + "vpn[0].tunnel[0].ike_lifetime_s: must be 900..28800 "
                                       "(AWS's phase 1 lifetime range), found 600"));
  EXPECT_THAT(withLine(16, "if_id = 1\nesp_lifetime_s = 7200"),
              ElementsAre(at(17, 18) + "vpn[0].tunnel[0].esp_lifetime_s: must be 900..3600 "
                                       "(AWS's phase 2 lifetime range), found 7200"));
  EXPECT_THAT(withLine(16, "if_id = 1\nike_lifetime_s = 1800\nesp_lifetime_s = 1800"),
              ElementsAre(at(18, 18) + "vpn[0].tunnel[0].esp_lifetime_s: esp_lifetime_s (1800) "
                                       "must be less than ike_lifetime_s (1800)"));
  EXPECT_THAT(withLine(16, "if_id = 1\nike_lifetime_s = 1800"),
              ElementsAre(at(17, 18) + "vpn[0].tunnel[0].ike_lifetime_s: esp_lifetime_s (3600) "
                                       "must be less than ike_lifetime_s (1800)"));
  EXPECT_THAT(withLine(16, "if_id = 1\nike_lifetime_s = 28000\nesp_lifetime_s = 3000"),
              ElementsAre());
}

TEST_F(VpnChecks, DpdAndReplayWindow) {
  EXPECT_THAT(withLine(16, "if_id = 1\ndpd_interval_s = 0"),
              ElementsAre(at(17, 18) + "vpn[0].tunnel[0].dpd_interval_s: must be 1..3600, found "
                                       "0"));
  EXPECT_THAT(withLine(16, "if_id = 1\ndpd_interval_s = 3601"),
              ElementsAre(at(17, 18) + "vpn[0].tunnel[0].dpd_interval_s: must be 1..3600, found "
                                       "3601"));
  EXPECT_THAT(withLine(16, "if_id = 1\nreplay_window = 8192"),
              ElementsAre(at(17, 17) + "vpn[0].tunnel[0].replay_window: must be 64..4096, found "
                                       "8192"));
}

TEST_F(VpnChecks, Proposals) {
  EXPECT_THAT(withLine(16,
                       "if_id = 1\nike_proposals = [\"aes256-sha256-modp2048\", "
                       "\"AES128-SHA1\", \"\"]"),
              ElementsAre(at(17, 44) + "vpn[0].tunnel[0].ike_proposals[1]: invalid proposal "
                                       "'AES128-SHA1': use strongSwan syntax, lower-case "
                                       "algorithms joined by '-' (e.g. aes256-sha256-modp2048)",
                          at(17, 59) + "vpn[0].tunnel[0].ike_proposals[2]: invalid proposal '': "
                                       "use strongSwan syntax, lower-case algorithms joined by "
                                       "'-' (e.g. aes256-sha256-modp2048)"));
  EXPECT_THAT(withLine(16, "if_id = 1\nesp_proposals = []"),
              ElementsAre(at(17, 17) + "vpn[0].tunnel[0].esp_proposals: must list at least one "
                                       "value"));
  const LoadResult result =
      dir_.load(replaceLine(kBaseConfig, 16, "if_id = 1\nesp_proposals = [\"aes128gcm16\"]"));
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result.config->vpns[0].tunnels[0].esp_proposals, ElementsAre("aes128gcm16"));
}

TEST_F(VpnChecks, Bgp) {
  auto bgp = [&](const std::string& body) {
    return messages(dir_.load(insertAfter(kBaseConfig, 16, "[vpn.tunnel.bgp]\n" + body)));
  };
  EXPECT_THAT(bgp("customer_asn = 65000\naws_asn = 64512\nneighbor_ip = \"169.254.44.1\""),
              ElementsAre());
  EXPECT_THAT(bgp("customer_asn = 0\naws_asn = 4294967295"),
              ElementsAre(at(18, 16) + "vpn[0].tunnel[0].bgp.customer_asn: must be "
                                       "1..4294967294, found 0",
                          at(19, 11) + "vpn[0].tunnel[0].bgp.aws_asn: must be 1..4294967294, "
                                       "found 4294967295"));
  EXPECT_THAT(bgp("customer_asn = 65000"),
              ElementsAre(at(17, 1) + "vpn[0].tunnel[0].bgp.aws_asn: required key is missing"));
  EXPECT_THAT(bgp("customer_asn = 65000\naws_asn = 65000"),
              ElementsAre(at(19, 11) + "vpn[0].tunnel[0].bgp.aws_asn: must differ from "
                                       "customer_asn (the session is eBGP); both are 65000"));
  EXPECT_THAT(bgp("customer_asn = 65000\naws_asn = 64512\nneighbor_ip = \"169.254.44.2\""),
              ElementsAre(at(20, 15) + "vpn[0].tunnel[0].bgp.neighbor_ip: must be the AWS inside "
                                       "address of this tunnel, 169.254.44.1 (the first address "
                                       "of inside_cidr 169.254.44.0/30), found 169.254.44.2"));
  EXPECT_THAT(bgp("customer_asn = 65000\naws_asn = 64512\nhold_time_s = 2"),
              ElementsAre(at(20, 15) + "vpn[0].tunnel[0].bgp.hold_time_s: must be 0 (no "
                                       "keepalives) or 3..65535, found 2"));
  EXPECT_THAT(bgp("customer_asn = 65000\naws_asn = 64512\nasn = 1"),
              ElementsAre(at(20, 1) + "vpn[0].tunnel[0].bgp.asn: unknown key 'asn'; allowed "
                                      "keys: aws_asn, customer_asn, hold_time_s, neighbor_ip"));
}

TEST_F(VpnChecks, ApplianceValues) {
  EXPECT_THAT(withLine(2, "name = \"my appliance\""),
              ElementsAre(at(2, 8) + "appliance.name: invalid name 'my appliance': use 1..64 "
                                     "characters of letters, digits, '.', '_' and '-'"));
  EXPECT_THAT(withLine(5, "public_ip = \"203.0.113.10\"\nlan_address = \"10.20.0.4.1\""),
              ElementsAre(at(6, 15) + "appliance.lan_address: invalid IP address "
                                      "'10.20.0.4.1'"));
  EXPECT_THAT(withLine(3, "wan_interface = \"eth/0\""),
              ElementsAre(at(3, 17) + "appliance.wan_interface: interface name 'eth/0' may "
                                      "contain only printable ASCII other than '/', ':' and "
                                      "spaces"));
}

TEST_F(VpnChecks, FailoverTimingKeys) {
  const LoadResult defaults = dir_.load(kBaseConfig);
  ASSERT_TRUE(defaults.ok()) << ::testing::PrintToString(messages(defaults));
  EXPECT_EQ(defaults.config->vpns[0].probe_interval_ms, 200u);
  EXPECT_EQ(defaults.config->vpns[0].probe_misses, 3u);
  EXPECT_EQ(defaults.config->vpns[0].failback_hold_s, 5u);

  const LoadResult set = dir_.load(
      replaceLine(kBaseConfig, 10,
                  "local_networks = [\"10.20.0.0/16\"]\nprobe_interval_ms = 100\nprobe_misses = 5\n"
                  "failback_hold_s = 0"));
  ASSERT_TRUE(set.ok()) << ::testing::PrintToString(messages(set));
  EXPECT_EQ(set.config->vpns[0].probe_interval_ms, 100u);
  EXPECT_EQ(set.config->vpns[0].probe_misses, 5u);
  EXPECT_EQ(set.config->vpns[0].failback_hold_s, 0u);

  EXPECT_THAT(withLine(10, "local_networks = [\"10.20.0.0/16\"]\nprobe_interval_ms = 10"),
              ElementsAre(at(11, 21) + "vpn[0].probe_interval_ms: must be 50..10000, found 10"));
  EXPECT_THAT(withLine(10, "local_networks = [\"10.20.0.0/16\"]\nprobe_misses = 0"),
              ElementsAre(at(11, 16) + "vpn[0].probe_misses: must be 1..100, found 0"));
  EXPECT_THAT(withLine(10, "local_networks = [\"10.20.0.0/16\"]\nfailback_hold_s = 3601"),
              ElementsAre(at(11, 19) + "vpn[0].failback_hold_s: must be 0..3600, found 3601"));
  EXPECT_THAT(withLine(10, "local_networks = [\"10.20.0.0/16\"]\nprobe_misses = \"3\""),
              ::testing::SizeIs(1));
}

}  // namespace
}  // namespace crossgate::config::testing
