// The published samples: exact values for every successful import, exact messages for every
// documented error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crossgate/mgmt/aws_import.h"
#include "test_util.h"

namespace crossgate::aws_import {
namespace {

using nlohmann::json;
using namespace test;

struct ExpectTunnel {
  std::string aws_outside;
  std::string customer_outside;
  std::string aws_inside;
  std::string customer_inside;
  std::string psk;
  int ike_version;
  int tcp_mss;
  json bgp;  // null or the object
};

// The algorithm lines are the same (AWS's minimum set) in every sample.
json tunnelJson(const ExpectTunnel& t) {
  return json{{"aws_outside_ip", t.aws_outside},
              {"customer_outside_ip", t.customer_outside},
              {"aws_inside_cidr", t.aws_inside},
              {"customer_inside_cidr", t.customer_inside},
              {"psk", t.psk},
              {"ike_version", t.ike_version},
              {"ike",
               {{"encryption", "aes-128-cbc"},
                {"integrity", "sha1"},
                {"dh_group", 2},
                {"lifetime_s", 28800}}},
              {"esp",
               {{"encryption", "aes-128-cbc"},
                {"integrity", "hmac-sha1-96"},
                {"pfs_group", 2},
                {"lifetime_s", 3600}}},
              {"dpd", {{"interval_s", 10}, {"retries", 3}}},
              {"tcp_mss", t.tcp_mss},
              {"mtu", 1436},
              {"bgp", t.bgp}};
}

json bgpJson(int customer, int aws, const std::string& neighbor) {
  return json{
      {"customer_asn", customer}, {"aws_asn", aws}, {"neighbor_ip", neighbor}, {"hold_time_s", 30}};
}

json importedJson(const ImportResult& r, bool show_secrets = true) {
  EXPECT_TRUE(r.ok());
  if (!r.ok()) {
    for (const auto& e : r.errors) {
      ADD_FAILURE() << e.toString("input");
    }
    return nullptr;
  }
  return json::parse(renderJson(*r.connection, show_secrets));
}

std::vector<std::string> errorLines(const ImportResult& r, std::string_view source) {
  EXPECT_FALSE(r.ok());
  std::vector<std::string> out;
  for (const auto& e : r.errors) {
    out.push_back(e.toString(source));
  }
  return out;
}

TEST(AwsImportSamples, Sample01RealStaticIkev1) {
  const ImportResult r = importAws(sample(k01));
  const json expected = {
      {"vpn_connection_id", "vpn-006dfdf3f4989c4df"},
      {"routing", "static"},
      {"tunnels",
       {tunnelJson({"13.209.231.134", "54.255.135.113", "169.254.191.153/30", "169.254.191.154/30",
                    "bIben5l33KgXpzShJdwNKlO3rG3ryq01", 1, 1379, nullptr}),
        tunnelJson({"15.164.154.116", "54.255.135.113", "169.254.213.201/30", "169.254.213.202/30",
                    "abs4CQtJ63ryaw9KaFiix12_us7Vje.r", 1, 1379, nullptr})}}};
  EXPECT_EQ(importedJson(r), expected);
  const Connection& c = *r.connection;
  EXPECT_EQ(c.format, Format::kText);
  EXPECT_EQ(c.vpn_gateway_id, "vgw-047b3d3d74ddad1f7");
  EXPECT_EQ(c.customer_gateway_id, "cgw-0cef15691adbb1b85");
  EXPECT_EQ(c.tunnels[0].number, 1);
  EXPECT_EQ(c.tunnels[0].line, 19);
  EXPECT_EQ(c.tunnels[1].line, 114);
  EXPECT_EQ(c.tunnels[0].inside_cidr.toString(), "169.254.191.152/30");
  EXPECT_EQ(c.tunnels[1].inside_cidr.toString(), "169.254.213.200/30");
  EXPECT_EQ(c.tunnels[0].ike.proposal, "aes128-sha1-modp1024");
  EXPECT_EQ(c.tunnels[0].esp.proposal, "aes128-sha1-modp1024");
  EXPECT_EQ(r.notes, std::vector<std::string>{
                         "the file describes IKEv1 tunnels; they are imported for IKEv2, which "
                         "AWS tunnels accept unless their IKE versions option was limited to "
                         "ikev1"});
}

TEST(AwsImportSamples, Sample05SyntheticIkev2Static) {
  const ImportResult r = importAws(sample(k05));
  const json expected = {
      {"vpn_connection_id", "vpn-0a1b2c3d4e5f60718"},
      {"routing", "static"},
      {"tunnels",
       {tunnelJson({"198.51.100.17", "203.0.113.10", "169.254.44.1/30", "169.254.44.2/30",
                    "Xk2p9QwErTy7uIoP4aSdFgH1jKlZxCvB", 2, 1379, nullptr}),
        tunnelJson({"198.51.100.201", "203.0.113.10", "169.254.45.1/30", "169.254.45.2/30",
                    "m3N8bV5cX0zL6kJ2hG9fD4sA7qW1eR5t", 2, 1379, nullptr})}}};
  EXPECT_EQ(importedJson(r), expected);
  EXPECT_TRUE(r.notes.empty());
}

TEST(AwsImportSamples, Sample06SyntheticBgpXml) {
  const ImportResult r = importAws(sample(k06));
  const json expected = {{"vpn_connection_id", "vpn-06a5b4c3d2e1f0a9b"},
                         {"routing", "bgp"},
                         {"tunnels",
                          {tunnelJson({"198.51.100.61", "203.0.113.60", "169.254.61.1/30",
                                       "169.254.61.2/30", "sixOneKey_0aA1bB2cC3dD4eE5fF6gG", 1,
                                       1379, bgpJson(65060, 64512, "169.254.61.1")}),
                           tunnelJson({"198.51.100.62", "203.0.113.60", "169.254.62.1/30",
                                       "169.254.62.2/30", "sixTwoKey_9zZ8yY7xX6wW5vV4uU3t", 1, 1379,
                                       bgpJson(65060, 64512, "169.254.62.1")})}}};
  EXPECT_EQ(importedJson(r), expected);
  EXPECT_EQ(r.connection->format, Format::kXml);
  EXPECT_EQ(r.connection->vpn_gateway_id, "vgw-06d6d6d6d6d6d6d6d");
  EXPECT_EQ(r.connection->tunnels[0].line, 6);
  EXPECT_EQ(r.connection->tunnels[1].line, 59);
  EXPECT_EQ(r.notes,
            (std::vector<std::string>{
                "the XML describes IKEv1 tunnels; they are imported for IKEv2, which AWS tunnels "
                "accept unless their IKE versions option was limited to ikev1",
                "the XML carries no tunnel MTU; using AWS's 1436"}));
}

TEST(AwsImportSamples, Sample02DocExampleWithoutOptions) {
  const ImportResult r = importAws(sample(k02));
  const std::string f = "02.txt";
  EXPECT_EQ(errorLines(r, f),
            (std::vector<std::string>{
                "02.txt:85: tunnel #1 (AWS 72.21.209.193): Outside IP Addresses: Customer "
                "Gateway: \"YOUR_UPLINK_ADDRESS\" is a placeholder, not an IP address; pass "
                "--customer-ip IP",
                "02.txt:104: tunnel #1 (AWS 72.21.209.193): Customer Gateway ASN: "
                "\"YOUR_BGP_ASN\" is a placeholder, not an ASN; pass --customer-asn N",
                "02.txt:179: tunnel #2 (AWS 72.21.209.193): Outside IP Addresses: Customer "
                "Gateway: \"YOUR_UPLINK_ADDRESS\" is a placeholder, not an IP address; pass "
                "--customer-ip IP",
                "02.txt:180: tunnel #2 (AWS 72.21.209.193): Outside IP Addresses: Virtual "
                "Private Gateway: same AWS outside address as tunnel #1 (line 86); every tunnel "
                "of an AWS VPN connection has its own, so the tunnels cannot be told apart "
                "(anonymised or edited file?)",
                "02.txt:198: tunnel #2 (AWS 72.21.209.193): Customer Gateway ASN: "
                "\"YOUR_BGP_ASN\" is a placeholder, not an ASN; pass --customer-asn N",
            }));
}

// The options fill the placeholders, and the keys ("plain-text-password1", outside AWS's
// documented alphabet) are usable. But both tunnels of this documentation example name the
// same AWS outside address (72.21.209.193), and tunnels are identified by that address: which
// key and inside addresses belong to which AWS endpoint cannot be known, so the import refuses
// rather than guesses. That one error is all that remains.
TEST(AwsImportSamples, Sample02DocExampleWithOptions) {
  ImportOptions o;
  o.customer_ip = IpAddress::parse("203.0.113.5");
  o.customer_asn = 65001;
  const ImportResult r = importAws(sample(k02), o);
  EXPECT_EQ(errorLines(r, "02.txt"),
            (std::vector<std::string>{
                "02.txt:180: tunnel #2 (AWS 72.21.209.193): Outside IP Addresses: Virtual "
                "Private Gateway: same AWS outside address as tunnel #1 (line 86); every tunnel "
                "of an AWS VPN connection has its own, so the tunnels cannot be told apart "
                "(anonymised or edited file?)",
            }));
  EXPECT_TRUE(r.notes.empty());
}

// Sample 02 with only its second tunnel's AWS address changed: the BGP text layout of the
// documentation (unindented items, 48-char rules, image lines, extra colon) then imports, keys
// as given.
TEST(AwsImportSamples, Sample02WithDistinctAwsAddressesAndOptions) {
  const std::string text = replaceNth(sample(k02), "- Virtual Private Gateway  : 72.21.209.193",
                                      "- Virtual Private Gateway  : 72.21.209.225", 2);
  ImportOptions o;
  o.customer_ip = IpAddress::parse("203.0.113.5");
  o.customer_asn = 65001;
  const ImportResult r = importAws(text, o);
  const json expected = {
      {"vpn_connection_id", "vpn-44a8938f"},
      {"routing", "bgp"},
      {"tunnels",
       {tunnelJson({"72.21.209.193", "203.0.113.5", "169.254.255.1/30", "169.254.255.2/30",
                    "plain-text-password1", 1, 1387, bgpJson(65001, 7224, "169.254.255.1")}),
        tunnelJson({"72.21.209.225", "203.0.113.5", "169.254.255.5/30", "169.254.255.6/30",
                    "plain-text-password2", 1, 1387, bgpJson(65001, 7224, "169.254.255.5")})}}};
  EXPECT_EQ(importedJson(r), expected);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.notes,
            (std::vector<std::string>{
                "the file describes IKEv1 tunnels; they are imported for IKEv2, which AWS "
                "tunnels accept unless their IKE versions option was limited to ikev1",
                "line 32: tunnel #1 (AWS 72.21.209.193): Pre-Shared Key: has characters outside "
                "AWS's documented A-Z a-z 0-9 . _; imported as given",
                "line 126: tunnel #2 (AWS 72.21.209.225): Pre-Shared Key: has characters "
                "outside AWS's documented A-Z a-z 0-9 . _; imported as given"}));
}

TEST(AwsImportSamples, Sample03DocExampleWithoutOptions) {
  const ImportResult r = importAws(sample(k03));
  EXPECT_EQ(errorLines(r, "03.txt"),
            (std::vector<std::string>{
                "03.txt:85: tunnel #1 (AWS 72.21.209.193): Outside IP Addresses: Customer "
                "Gateway: \"YOUR_UPLINK_ADDRESS\" is a placeholder, not an IP address; pass "
                "--customer-ip IP",
                "03.txt:176: tunnel #2 (AWS 72.21.209.225): Outside IP Addresses: Customer "
                "Gateway: \"YOUR_UPLINK_ADDRESS\" is a placeholder, not an IP address; pass "
                "--customer-ip IP",
            }));
}

TEST(AwsImportSamples, Sample03DocExampleWithOptions) {
  ImportOptions o;
  o.customer_ip = IpAddress::parse("203.0.113.5");
  o.customer_asn = 65001;  // static routing: ignored, with a note
  const ImportResult r = importAws(sample(k03), o);
  const std::string key = "PRE-SHARED-KEY-IN-PLAIN-TEXT";
  json expected = {{"vpn_connection_id", "vpn-44a8938f"},
                   {"routing", "static"},
                   {"tunnels",
                    {tunnelJson({"72.21.209.193", "203.0.113.5", "169.254.255.73/30",
                                 "169.254.255.74/30", key, 1, 1387, nullptr}),
                     tunnelJson({"72.21.209.225", "203.0.113.5", "169.254.255.77/30",
                                 "169.254.255.78/30", key, 1, 1387, nullptr})}}};
  EXPECT_EQ(importedJson(r, /*show_secrets=*/true), expected);
  expected["tunnels"][0]["psk"] = "***";
  expected["tunnels"][1]["psk"] = "***";
  EXPECT_EQ(importedJson(r, /*show_secrets=*/false), expected);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(renderJson(*r.connection, false).find(key), std::string::npos);
  EXPECT_EQ(r.connection->tunnels[0].psk.view(), key);
  EXPECT_EQ(r.connection->tunnels[1].psk.view(), key);
  EXPECT_EQ(r.notes,
            (std::vector<std::string>{
                "the file describes IKEv1 tunnels; they are imported for IKEv2, which AWS "
                "tunnels accept unless their IKE versions option was limited to ikev1",
                "--customer-asn ignored: the connection uses static routing",
                "line 32: tunnel #1 (AWS 72.21.209.193): Pre-Shared Key: has characters outside "
                "AWS's documented A-Z a-z 0-9 . _; imported as given",
                "line 123: tunnel #2 (AWS 72.21.209.225): Pre-Shared Key: has characters "
                "outside AWS's documented A-Z a-z 0-9 . _; imported as given"}));
  for (const std::string& note : r.notes) {
    EXPECT_EQ(note.find(key), std::string::npos) << note;
  }
}

TEST(AwsImportSamples, Sample04AnonymisedXmlSharesOneAwsAddress) {
  const ImportResult r = importAws(sample(k04));
  EXPECT_EQ(errorLines(r, "04.xml"),
            (std::vector<std::string>{
                "04.xml:76: tunnel #2 (AWS 1.1.1.1): vpn_gateway/tunnel_outside_address/"
                "ip_address: same AWS outside address as tunnel #1 (line 23); every tunnel of "
                "an AWS VPN connection has its own, so the tunnels cannot be told apart "
                "(anonymised or edited file?)"}));
}

TEST(AwsImportSamples, Sample04WithDistinctAddressesImports) {
  std::string text = sample(k04);
  // Give each endpoint its own documentation address (the second tunnel's AWS side first).
  const size_t second = text.find("<ipsec_tunnel>", text.find("</ipsec_tunnel>"));
  text =
      text.substr(0, second) + replaceAll(text.substr(second), "<ip_address>1.1.1.1</ip_address>",
                                          "<ip_address>198.51.100.4</ip_address>", 2);
  text = replaceAll(text, "<ip_address>1.1.1.1</ip_address>",
                    "<ip_address>198.51.100.9</ip_address>", 2);
  ImportOptions o;
  o.customer_ip = IpAddress::parse("203.0.113.44");
  const ImportResult r = importAws(text, o);
  const json expected = {
      {"vpn_connection_id", "vpn-11111111"},
      {"routing", "bgp"},
      {"tunnels",
       {tunnelJson({"198.51.100.4", "203.0.113.44", "169.254.172.85/30", "169.254.172.86/30",
                    "11111111111111111", 1, 1379, bgpJson(65000, 64512, "169.254.172.85")}),
        tunnelJson({"198.51.100.9", "203.0.113.44", "169.254.80.145/30", "169.254.80.146/30",
                    "11111111111111111", 1, 1379, bgpJson(65000, 64512, "169.254.80.145")})}}};
  EXPECT_EQ(importedJson(r), expected);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.connection->tunnels[0].number, 2);  // ordered by address, not by file position
  EXPECT_EQ(r.notes.back(), "--customer-ip 203.0.113.44 replaces 198.51.100.9 (line 9)");
}

TEST(AwsImportSamples, CustomerOptionsOverrideTheFile) {
  ImportOptions o;
  o.customer_ip = IpAddress::parse("203.0.113.99");
  o.customer_asn = 4200000000u;
  const ImportResult r = importAws(sample(k06), o);
  ASSERT_TRUE(r.ok());
  for (const Tunnel& t : r.connection->tunnels) {
    EXPECT_EQ(t.customer_outside_ip.toString(), "203.0.113.99");
    EXPECT_EQ(t.bgp->customer_asn, 4200000000u);
  }
  EXPECT_EQ(r.notes.back(), "--customer-ip 203.0.113.99 replaces 203.0.113.60 (line 9)");
}

TEST(AwsImportSamples, JsonMasksKeysUnlessAsked) {
  const ImportResult r = importAws(sample(k05));
  ASSERT_TRUE(r.ok());
  const json masked = json::parse(renderJson(*r.connection, false));
  EXPECT_EQ(masked["tunnels"][0]["psk"], "***");
  EXPECT_EQ(masked["tunnels"][1]["psk"], "***");
  const std::string text = renderJson(*r.connection, false);
  EXPECT_EQ(text.find("Xk2p9Qw"), std::string::npos);
  // Key order is the documented one.
  EXPECT_EQ(text.find("\"vpn_connection_id\""), 4u);
  EXPECT_LT(text.find("\"routing\""), text.find("\"tunnels\""));
}

TEST(AwsImportPsk, KeysInAwsAlphabetHaveNoNotes) {
  for (const std::string& key : {std::string("abcdefgh"), std::string("A._9zzzz"),
                                 std::string(64, 'a'), std::string("x0000000")}) {
    const PskCheck c = checkPsk(key);
    EXPECT_TRUE(c.usable()) << key;
    EXPECT_EQ(c.error, "") << key;
    EXPECT_TRUE(c.notes.empty()) << key;
  }
}

TEST(AwsImportPsk, OutsideAwsRulesIsUsableWithNotes) {
  PskCheck c = checkPsk("plain-text-password1");
  EXPECT_TRUE(c.usable());
  EXPECT_EQ(c.notes, std::vector<std::string>{"has characters outside AWS's documented A-Z a-z "
                                              "0-9 . _; imported as given"});
  c = checkPsk("0abcdefgh");
  EXPECT_TRUE(c.usable());
  EXPECT_EQ(c.notes, std::vector<std::string>{
                         "starts with 0, which AWS documents as not allowed; imported as given"});
  c = checkPsk("0!\"#$%&'()*+,-/:;<=>?@[\\]^`{|}~");  // every printable ASCII punctuation
  EXPECT_TRUE(c.usable()) << c.error;
  EXPECT_EQ(c.notes,
            (std::vector<std::string>{
                "has characters outside AWS's documented A-Z a-z 0-9 . _; imported as given",
                "starts with 0, which AWS documents as not allowed; imported as given"}));
}

TEST(AwsImportPsk, HardRulesAreErrors) {
  EXPECT_EQ(checkPsk("abcdefg").error, "7 characters; a key must have 8 to 64");
  EXPECT_EQ(checkPsk("").error, "0 characters; a key must have 8 to 64");
  EXPECT_EQ(checkPsk(std::string(65, 'a')).error, "65 characters; a key must have 8 to 64");
  const std::string not_printable =
      " is not printable ASCII (spaces, tabs, control and non-ASCII characters cannot be "
      "imported)";
  EXPECT_EQ(checkPsk("abcd efgh").error, "character 5" + not_printable);
  EXPECT_EQ(checkPsk("abcdefg\t").error, "character 8" + not_printable);
  EXPECT_EQ(checkPsk("abcdefg\x7f").error, "character 8" + not_printable);
  EXPECT_EQ(checkPsk(std::string("abc\0efgh", 8)).error, "character 4" + not_printable);
  EXPECT_EQ(checkPsk("\x01"
                     "bcdefgh")
                .error,
            "character 1" + not_printable);
  EXPECT_EQ(checkPsk("abcdefg\xc3\xa9").error, "character 8" + not_printable);
  EXPECT_FALSE(checkPsk("abcdefg\xc3\xa9").usable());
  EXPECT_TRUE(checkPsk("abcdefg\xc3\xa9").notes.empty());
}

TEST(AwsImportNames, Defaults) {
  Connection c;
  EXPECT_EQ(defaultName(c), "aws");
  c.vpn_connection_id = "vpn-006DFDF3f4989c4df";
  EXPECT_EQ(defaultName(c), "vpn-006dfdf3f4989c4df");
  EXPECT_EQ(tunnelName("aws-prod", 0), "aws-prod-t1");
  EXPECT_EQ(tunnelName("aws-prod", 1), "aws-prod-t2");
  EXPECT_EQ(pskRelativePath("aws-prod-t2"), "secrets/aws-prod-t2.psk");
  EXPECT_TRUE(isValidName("a-1"));
  EXPECT_FALSE(isValidName(""));
  EXPECT_FALSE(isValidName("Aws"));
  EXPECT_FALSE(isValidName("a/b"));
  EXPECT_FALSE(isValidName(std::string(33, 'a')));
}

TEST(AwsImportFormat, Detection) {
  EXPECT_EQ(detectFormat("\xEF\xBB\xBF  \r\n<?xml"), Format::kXml);
  EXPECT_EQ(detectFormat("Amazon Web Services"), Format::kText);
  EXPECT_EQ(detectFormat(""), Format::kText);
}

TEST(AwsImportFormat, NotAnAwsFile) {
  EXPECT_EQ(
      errorLines(importAws("hello\nworld\n"), "x"),
      std::vector<std::string>{"x:2: no \"IPSec Tunnel #1\" section found; not an AWS Generic VPN "
                               "configuration file (or truncated before the first tunnel)"});
  EXPECT_EQ(
      errorLines(importAws(""), "x"),
      std::vector<std::string>{"x: no \"IPSec Tunnel #1\" section found; not an AWS Generic VPN "
                               "configuration file (or truncated before the first tunnel)"});
  EXPECT_EQ(errorLines(importAws("<a/>"), "x"),
            std::vector<std::string>{"x:1: vpn_connection: no <vpn_connection> element; not a "
                                     "CustomerGatewayConfiguration"});
  EXPECT_EQ(errorLines(importAws(std::string(kMaxInputBytes + 1, ' ')), "x"),
            std::vector<std::string>{"x: 1048577 bytes is too large for an AWS VPN "
                                     "configuration (limit 1048576)"});
}

}  // namespace
}  // namespace crossgate::aws_import
