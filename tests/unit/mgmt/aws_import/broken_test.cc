// Broken files generated from the samples: each must fail with the exact message naming the
// line, the tunnel and the field.
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

std::vector<std::string> errorsOf(const std::string& text, const ImportOptions& o = {}) {
  const ImportResult r = importAws(text, o);
  EXPECT_FALSE(r.ok());
  std::vector<std::string> out;
  for (const auto& e : r.errors) {
    out.push_back(e.toString("x"));
  }
  return out;
}

std::string withoutLines(const std::string& text, size_t first, size_t last) {
  auto lines = splitLines(text);
  lines.erase(lines.begin() + static_cast<long>(first - 1),
              lines.begin() + static_cast<long>(last));
  return joinLines(lines);
}

std::string withLineAfter(const std::string& text, size_t after, const std::string& line) {
  auto lines = splitLines(text);
  lines.insert(lines.begin() + static_cast<long>(after), line);
  return joinLines(lines);
}

TEST(AwsImportBroken, MissingPsk) {
  // Line 128 is tunnel #2's "Pre-Shared Key"; #1 then spans lines 116-133.
  EXPECT_EQ(errorsOf(withoutLines(sample(k01), 128, 128)),
            std::vector<std::string>{"x:116: tunnel #2 (AWS 15.164.154.116): Pre-Shared Key: "
                                     "missing from section #1 (lines 116-133)"});
}

TEST(AwsImportBroken, EmptyPsk) {
  EXPECT_EQ(errorsOf(replaceAll(sample(k05), ": Xk2p9QwErTy7uIoP4aSdFgH1jKlZxCvB", ":", 1)),
            std::vector<std::string>{"x:25: tunnel #1 (AWS 198.51.100.17): Pre-Shared Key: not "
                                     "a usable pre-shared key: 0 characters; a key must have 8 "
                                     "to 64"});
}

// A blank inside a key cannot be told apart from the file's layout: an error naming the line.
TEST(AwsImportBroken, PskWithBlankInside) {
  EXPECT_EQ(errorsOf(replaceAll(sample(k05), "Xk2p9QwErTy7uIoP4aSdFgH1jKlZxCvB",
                                "Xk2p9QwErTy7uIoP 4aSdFgH1jKlZxCvB", 1)),
            std::vector<std::string>{"x:25: tunnel #1 (AWS 198.51.100.17): Pre-Shared Key: not "
                                     "a usable pre-shared key: character 17 is not printable "
                                     "ASCII (spaces, tabs, control and non-ASCII characters "
                                     "cannot be imported)"});
}

TEST(AwsImportBroken, PskIsNeverShownInMessages) {
  const std::string bad = replaceAll(sample(k05), "Xk2p9QwErTy7uIoP4aSdFgH1jKlZxCvB",
                                     "Xk2p9QwErTy7uIoP4aSdFgH1jKl\x01xCvB", 1);
  const std::vector<std::string> errors = errorsOf(bad);
  EXPECT_EQ(errors.size(), 1u);
  for (const std::string& e : errors) {
    EXPECT_EQ(e.find("Xk2p9Qw"), std::string::npos) << e;
  }
  // Usable but outside AWS's rules: the notes name the line, not the key.
  const std::string odd = replaceAll(sample(k05), "Xk2p9QwErTy7uIoP4aSdFgH1jKlZxCvB",
                                     "0k2p9QwErTy7uIoP4aSdFgH1jKl-xCvB", 1);
  const ImportResult r = importAws(odd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.connection->tunnels[0].psk.view(), "0k2p9QwErTy7uIoP4aSdFgH1jKl-xCvB");
  EXPECT_EQ(r.notes, (std::vector<std::string>{
                         "line 25: tunnel #1 (AWS 198.51.100.17): Pre-Shared Key: has characters "
                         "outside AWS's documented A-Z a-z 0-9 . _; imported as given",
                         "line 25: tunnel #1 (AWS 198.51.100.17): Pre-Shared Key: starts with 0, "
                         "which AWS documents as not allowed; imported as given"}));
  for (const std::string& n : r.notes) {
    EXPECT_EQ(n.find("k2p9Qw"), std::string::npos) << n;
  }
}

TEST(AwsImportBroken, BadOutsideAddress) {
  EXPECT_EQ(errorsOf(replaceAll(sample(k01), "13.209.231.134", "13.209.231.300", 1)),
            std::vector<std::string>{"x:89: tunnel #1: Outside IP Addresses: Virtual Private "
                                     "Gateway: \"13.209.231.300\" is not an IP address"});
  EXPECT_EQ(errorsOf(replaceAll(sample(k01), "54.255.135.113 \n", "54.255.135 \n", 2)),
            (std::vector<std::string>{
                "x:88: tunnel #1 (AWS 13.209.231.134): Outside IP Addresses: Customer Gateway: "
                "\"54.255.135\" is not an IP address; pass --customer-ip IP",
                "x:183: tunnel #2 (AWS 15.164.154.116): Outside IP Addresses: Customer Gateway: "
                "\"54.255.135\" is not an IP address; pass --customer-ip IP"}));
  // --customer-ip supplies what the file gets wrong.
  ImportOptions o;
  o.customer_ip = IpAddress::parse("192.0.2.1");
  EXPECT_TRUE(importAws(replaceAll(sample(k01), "54.255.135.113 \n", "54.255.135 \n", 2), o).ok());
}

TEST(AwsImportBroken, BadInsideAddresses) {
  const std::string text = sample(k01);
  EXPECT_EQ(errorsOf(replaceAll(text, "169.254.191.153/30", "169.254.191.157/30", 1)),
            std::vector<std::string>{"x:93: tunnel #1 (AWS 13.209.231.134): Inside IP Addresses: "
                                     "Virtual Private Gateway: 169.254.191.157 is not in the "
                                     "customer's /30 169.254.191.152/30"});
  std::string swapped = replaceAll(text, "169.254.191.154/30", "SWAP", 1);
  swapped = replaceAll(swapped, "169.254.191.153/30", "169.254.191.154/30", 1);
  swapped = replaceAll(swapped, "SWAP", "169.254.191.153/30", 1);
  EXPECT_EQ(errorsOf(swapped),
            (std::vector<std::string>{
                "x:92: tunnel #1 (AWS 13.209.231.134): Inside IP Addresses: Customer Gateway: "
                "169.254.191.153 must be the second address of 169.254.191.152/30",
                "x:93: tunnel #1 (AWS 13.209.231.134): Inside IP Addresses: Virtual Private "
                "Gateway: 169.254.191.154 must be the first address of 169.254.191.152/30"}));
  EXPECT_EQ(errorsOf(replaceAll(text, "169.254.191.154/30", "169.254.191.154/29", 1)),
            std::vector<std::string>{"x:92: tunnel #1 (AWS 13.209.231.134): Inside IP Addresses: "
                                     "Customer Gateway: \"169.254.191.154/29\" must be an address "
                                     "of a /30 inside 169.254.0.0/16"});
  EXPECT_EQ(errorsOf(replaceAll(text, "169.254.191.154/30", "10.0.0.2/30", 1)),
            std::vector<std::string>{"x:92: tunnel #1 (AWS 13.209.231.134): Inside IP Addresses: "
                                     "Customer Gateway: \"10.0.0.2/30\" must be an address of a "
                                     "/30 inside 169.254.0.0/16"});
  EXPECT_EQ(errorsOf(replaceAll(text, "169.254.191.154/30", "169.254.191.154", 1)),
            std::vector<std::string>{"x:92: tunnel #1 (AWS 13.209.231.134): Inside IP Addresses: "
                                     "Customer Gateway: \"169.254.191.154\" is not an address "
                                     "with a /30 prefix: expected an address with a prefix "
                                     "length, such as 10.0.0.0/16"});
  // Both tunnels on one inside network.
  std::string same = replaceAll(text, "169.254.213.202/30", "169.254.191.154/30", 1);
  same = replaceAll(same, "169.254.213.201/30", "169.254.191.153/30", 1);
  EXPECT_EQ(errorsOf(same),
            std::vector<std::string>{"x:187: tunnel #2 (AWS 15.164.154.116): Inside IP Addresses: "
                                     "Customer Gateway: 169.254.191.152/30 is also tunnel #1's "
                                     "inside network"});
}

TEST(AwsImportBroken, DuplicateTunnel) {
  const std::string text = sample(k01);
  // Tunnel #2 names tunnel #1's AWS address.
  EXPECT_EQ(errorsOf(replaceAll(text, "15.164.154.116", "13.209.231.134", 1)),
            std::vector<std::string>{
                "x:184: tunnel #2 (AWS 13.209.231.134): Outside IP Addresses: Virtual Private "
                "Gateway: same AWS outside address as tunnel #1 (line 89); every tunnel of an "
                "AWS VPN connection has its own, so the tunnels cannot be told apart "
                "(anonymised or edited file?)"});
  // Tunnel #1's block (lines 19-113) repeated before the notes (line 210).
  auto lines = splitLines(text);
  const std::vector<std::string> block(lines.begin() + 18, lines.begin() + 113);
  lines.insert(lines.begin() + 209, block.begin(), block.end());
  EXPECT_EQ(errorsOf(joinLines(lines)),
            (std::vector<std::string>{
                "x:210: tunnel #1 (AWS 13.209.231.134): found 3 tunnels; an AWS VPN connection "
                "has exactly 2",
                "x:280: tunnel #1 (AWS 13.209.231.134): Outside IP Addresses: Virtual Private "
                "Gateway: same AWS outside address as tunnel #1 (line 89); every tunnel of an "
                "AWS VPN connection has its own, so the tunnels cannot be told apart "
                "(anonymised or edited file?)"}));
}

TEST(AwsImportBroken, OneTunnel) {
  // Lines 114-209 are tunnel #2.
  EXPECT_EQ(errorsOf(withoutLines(sample(k01), 114, 209)),
            std::vector<std::string>{
                "x:121: found 1 tunnel; an AWS VPN connection has exactly 2 (truncated file?)"});
}

TEST(AwsImportBroken, FieldTwiceInATunnel) {
  EXPECT_EQ(errorsOf(withLineAfter(sample(k01), 33, "  - Pre-Shared Key           : abcdefgh")),
            std::vector<std::string>{"x:34: tunnel #1: Pre-Shared Key: appears twice in this "
                                     "tunnel (lines 33 and 34)"});
}

TEST(AwsImportBroken, SectionTwiceInATunnel) {
  EXPECT_EQ(errorsOf(withLineAfter(sample(k01), 66, "#2: IPSec Configuration")),
            std::vector<std::string>{"x:67: tunnel #1: #2: IPSec Configuration: section appears "
                                     "twice in this tunnel (lines 40 and 67)"});
}

TEST(AwsImportBroken, BadValues) {
  const std::string text = sample(k05);
  EXPECT_EQ(errorsOf(replaceAll(text, "28800 seconds", "28800 minutes", 2)),
            (std::vector<std::string>{
                "x:28: tunnel #1 (AWS 198.51.100.17): IKE Lifetime: \"28800 minutes\" is not a "
                "number in 900..28800 seconds",
                "x:87: tunnel #2 (AWS 198.51.100.201): IKE Lifetime: \"28800 minutes\" is not a "
                "number in 900..28800 seconds"}));
  EXPECT_EQ(errorsOf(replaceNth(text, "MTU     : 1436 bytes", "MTU     : 14x36 bytes", 1)),
            std::vector<std::string>{"x:64: tunnel #1 (AWS 198.51.100.17): Tunnel interface MTU: "
                                     "\"14x36 bytes\" is not a number in 576..9000 bytes"});
  EXPECT_EQ(errorsOf(replaceNth(text, "Lifetime                 : 3600 seconds",
                                "Lifetime                 : 28800 seconds", 1)),
            std::vector<std::string>{
                "x:37: tunnel #1 (AWS 198.51.100.17): IPSec Lifetime: \"28800 seconds\" is not a "
                "number in 900..3600 seconds"});
  EXPECT_EQ(
      errorsOf(replaceNth(text, "DPD Retries              : 3", "DPD Retries              : 0", 1)),
      std::vector<std::string>{"x:43: tunnel #1 (AWS 198.51.100.17): DPD Retries: \"0\" is "
                               "not a number in 1..100"});
}

TEST(AwsImportBroken, UnknownAlgorithms) {
  const std::string text = sample(k05);
  EXPECT_EQ(
      errorsOf(replaceNth(
          text, "Encryption Algorithm     : aes-128-cbc\n  - Lifetime                 : 28800",
          "Encryption Algorithm     : 3des\n  - Lifetime                 : 28800", 1)),
      std::vector<std::string>{"x:27: tunnel #1 (AWS 198.51.100.17): IKE Encryption "
                               "Algorithm: \"3des\" is not an encryption algorithm AWS "
                               "offers"});
  EXPECT_EQ(errorsOf(replaceNth(text, ": hmac-sha1-96", ": hmac-md5-96", 1)),
            std::vector<std::string>{"x:35: tunnel #1 (AWS 198.51.100.17): IPSec Authentication "
                                     "Algorithm: \"hmac-md5-96\" is not an integrity algorithm "
                                     "AWS offers"});
  EXPECT_EQ(errorsOf(replaceNth(text, ": Diffie-Hellman Group 2", ": Diffie-Hellman Group 1", 1)),
            std::vector<std::string>{"x:39: tunnel #1 (AWS 198.51.100.17): Perfect Forward "
                                     "Secrecy: \"Diffie-Hellman Group 1\" is not a "
                                     "Diffie-Hellman group AWS offers"});
  EXPECT_EQ(errorsOf(replaceNth(text, ": IKEv2 ", ": IKEv3 ", 1)),
            std::vector<std::string>{"x:23: tunnel #1 (AWS 198.51.100.17): IKE version: "
                                     "\"IKEv3\" is neither IKEv1 nor IKEv2"});
}

// What the file states is recorded; the proposals are built from it (GCM takes a PRF in IKE
// and no integrity in ESP).
TEST(AwsImportBroken, StrongerAlgorithmsAreRecordedAsGiven) {
  std::string text = replaceAll(sample(k05), ": aes-128-cbc", ": aes-256-gcm-16");
  text = replaceAll(text, "Authentication Algorithm : sha1", "Authentication Algorithm : sha2-384");
  text = replaceAll(text, ": hmac-sha1-96", ": hmac-sha2-256-128");
  text = replaceAll(text, ": Group 2", ": Group 20");
  text = replaceAll(text, ": Diffie-Hellman Group 2", ": Diffie-Hellman Group 19");
  const ImportResult r = importAws(text);
  ASSERT_TRUE(r.ok());
  const Tunnel& t = r.connection->tunnels[0];
  EXPECT_EQ(t.ike.encryption, "aes-256-gcm-16");
  EXPECT_EQ(t.ike.integrity, "sha2-384");
  EXPECT_EQ(t.ike.dh_group, 20);
  EXPECT_EQ(t.ike.proposal, "aes256gcm16-prfsha384-ecp384");
  EXPECT_EQ(t.esp.integrity, "hmac-sha2-256-128");
  EXPECT_EQ(t.esp.dh_group, 19);
  EXPECT_EQ(t.esp.proposal, "aes256gcm16-ecp256");
}

TEST(AwsImportBroken, MixedRoutingAndCustomerGateways) {
  std::string text = sample(k05);
  EXPECT_EQ(errorsOf(replaceNth(text, "203.0.113.10 \n", "203.0.113.11 \n", 2)),
            std::vector<std::string>{
                "x:115: tunnel #2 (AWS 198.51.100.201): Outside IP Addresses: Customer Gateway: "
                "203.0.113.11 differs from tunnel #1's 203.0.113.10; both tunnels end at the "
                "same customer gateway"});
}

TEST(AwsImportBroken, HeaderIds) {
  EXPECT_EQ(errorsOf(replaceAll(sample(k01), ": vpn-006dfdf3f4989c4df", ": vpn_006dfdf3", 1)),
            std::vector<std::string>{"x:11: Your VPN Connection ID: \"vpn_006dfdf3\" is not an "
                                     "AWS id (vpn-...)"});
}

// ---- XML ---------------------------------------------------------------------------------

TEST(AwsImportBrokenXml, MissingElement) {
  // Line 94 is the second tunnel's <pre_shared_key>.
  const std::string text = sample(k06);
  ASSERT_NE(splitLines(text)[93].find("pre_shared_key"), std::string::npos);
  EXPECT_EQ(
      errorsOf(withoutLines(text, 94, 94)),
      std::vector<std::string>{"x:59: tunnel #2 (AWS 198.51.100.62): ike/pre_shared_key: missing"});
}

TEST(AwsImportBrokenXml, BadValuesNameTheirLine) {
  const std::string text = sample(k06);
  EXPECT_EQ(errorsOf(replaceAll(text, "198.51.100.62<", "198.51.100.620<", 1)),
            std::vector<std::string>{"x:76: tunnel #2: vpn_gateway/tunnel_outside_address/"
                                     "ip_address: \"198.51.100.620\" is not an IP address"});
  EXPECT_EQ(errorsOf(replaceAll(text,
                                "<network_cidr>30</network_cidr>\n      </tunnel_inside_address>\n "
                                "     <bgp>\n        <asn>65060",
                                "<network_cidr>29</network_cidr>\n      </tunnel_inside_address>\n "
                                "     <bgp>\n        <asn>65060",
                                2)),
            (std::vector<std::string>{
                "x:12: tunnel #1 (AWS 198.51.100.61): customer_gateway/tunnel_inside_address: "
                "\"169.254.61.2/29\" must be an address of a /30 inside 169.254.0.0/16",
                "x:65: tunnel #2 (AWS 198.51.100.62): customer_gateway/tunnel_inside_address: "
                "\"169.254.62.2/29\" must be an address of a /30 inside 169.254.0.0/16"}));
  EXPECT_EQ(errorsOf(replaceAll(text, "<asn>65060</asn>", "<asn>YOUR_BGP_ASN</asn>", 2)),
            (std::vector<std::string>{
                "x:17: tunnel #1 (AWS 198.51.100.61): customer_gateway/bgp/asn: "
                "\"YOUR_BGP_ASN\" is a placeholder, not an ASN; pass --customer-asn N",
                "x:70: tunnel #2 (AWS 198.51.100.62): customer_gateway/bgp/asn: "
                "\"YOUR_BGP_ASN\" is a placeholder, not an ASN; pass --customer-asn N"}));
}

TEST(AwsImportBrokenXml, Malformed) {
  const std::string text = sample(k06);
  EXPECT_EQ(errorsOf(text.substr(0, text.find("<ipsec>"))),
            std::vector<std::string>{"x:43: XML: unexpected end of data"});
  EXPECT_EQ(
      errorsOf(
          replaceAll(text, "<pre_shared_key>sixOne", "<pre_shared_key><pre_shared_key>sixOne", 1)),
      std::vector<std::string>{"x:42: XML: </ike> does not close <pre_shared_key> (line 41)"});
  EXPECT_EQ(errorsOf(replaceAll(text, "</ike>", "</ikx>", 2)),
            std::vector<std::string>{"x:42: XML: </ikx> does not close <ike> (line 35)"});
  std::string deep;
  for (int i = 0; i < 100; ++i) {
    deep += "<a x=\"/>\">";
  }
  EXPECT_EQ(errorsOf(deep), std::vector<std::string>{"x:1: XML nested deeper than 32 levels; "
                                                     "not a CustomerGatewayConfiguration"});
  EXPECT_EQ(errorsOf("<vpn_connection>\n</ipsec_tunnel>"),
            std::vector<std::string>{"x:2: XML: </ipsec_tunnel> does not close <vpn_connection> "
                                     "(line 1)"});
  EXPECT_EQ(errorsOf("<a/>\n</b>"), std::vector<std::string>{"x:2: XML: </b> closes nothing"});
}

TEST(AwsImportBrokenXml, OneTunnelAndDuplicates) {
  const std::string text = sample(k06);
  // Lines 59-112 hold the second tunnel and the closing tag.
  const std::string one = withoutLines(text, 59, 111);
  EXPECT_EQ(errorsOf(one), std::vector<std::string>{"x:59: found 1 tunnel; an AWS VPN "
                                                    "connection has exactly 2 (truncated file?)"});
  EXPECT_EQ(errorsOf(withLineAfter(text, 41, "      <pre_shared_key>abcdefghij</pre_shared_key>")),
            std::vector<std::string>{"x:41: tunnel #1: ike/pre_shared_key: appears more than "
                                     "once in this tunnel"});
}

TEST(AwsImportBrokenXml, LayoutChangesGiveTheSameResult) {
  const std::string text = sample(k06);
  const ImportResult original = importAws(text);
  ASSERT_TRUE(original.ok());
  const std::string expected = renderJson(*original.connection, true);
  const auto lines = splitLines(text);
  std::vector<std::string> swapped = {lines.begin(), lines.begin() + 5};
  swapped.insert(swapped.end(), lines.begin() + 58, lines.begin() + 111);
  swapped.insert(swapped.end(), lines.begin() + 5, lines.begin() + 58);
  swapped.push_back(lines[111]);
  for (const std::string& variant :
       {joinLines(lines, "\r\n"), joinLines(swapped), "\xEF\xBB\xBF" + text,
        "<!-- from describe-vpn-connections -->\n" + text}) {
    const ImportResult r = importAws(variant);
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].toString("variant"));
    EXPECT_EQ(renderJson(*r.connection, true), expected);
  }
}

}  // namespace
}  // namespace crossgate::aws_import
