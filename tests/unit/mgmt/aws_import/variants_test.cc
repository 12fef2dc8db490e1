// Variants generated from the samples: layouts that must import to exactly the same result,
// and broken files that must fail with messages naming the line, the tunnel and the field.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "crossgate/mgmt/aws_import.h"
#include "test_util.h"

namespace crossgate::aws_import {
namespace {

using nlohmann::json;
using namespace test;

json jsonOf(const std::string& text, const ImportOptions& o = {}) {
  const ImportResult r = importAws(text, o);
  for (const auto& e : r.errors) {
    ADD_FAILURE() << e.toString("variant");
  }
  return r.ok() ? json::parse(renderJson(*r.connection, true)) : json();
}

std::vector<std::string> errorsOf(const std::string& text, const ImportOptions& o = {}) {
  const ImportResult r = importAws(text, o);
  EXPECT_FALSE(r.ok());
  std::vector<std::string> out;
  for (const auto& e : r.errors) {
    out.push_back(e.toString("x"));
  }
  return out;
}

std::string mapLines(const std::string& text, const std::function<std::string(std::string)>& f) {
  std::vector<std::string> lines = splitLines(text);
  for (auto& l : lines) {
    l = f(l);
  }
  return joinLines(lines);
}

std::string rtrim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  return s;
}

// Lines [first, last] (1-based) of the text.
std::vector<std::string> slice(const std::vector<std::string>& lines, size_t first, size_t last) {
  return {lines.begin() + static_cast<long>(first - 1), lines.begin() + static_cast<long>(last)};
}

std::string firstLines(const std::string& text, size_t n) {
  const auto lines = splitLines(text);
  return joinLines(slice(lines, 1, n));
}

// Layout changes that must not change the result, applied to both text samples.
struct Equivalent {
  const char* name;
  std::function<std::string(const std::string&)> transform;
};

const std::vector<Equivalent>& equivalents() {
  static const std::vector<Equivalent> list = {
      {"crlf", [](const std::string& t) { return joinLines(splitLines(t), "\r\n"); }},
      {"tabs_to_spaces",
       [](const std::string& t) { return std::regex_replace(t, std::regex("\t"), "    "); }},
      {"space_runs_to_tabs",
       [](const std::string& t) { return std::regex_replace(t, std::regex("  +"), "\t"); }},
      {"every_space_a_tab",
       [](const std::string& t) { return std::regex_replace(t, std::regex(" "), "\t"); }},
      {"trailing_blanks_removed", [](const std::string& t) { return mapLines(t, rtrim); }},
      {"trailing_blanks_added",
       [](const std::string& t) { return mapLines(t, [](std::string l) { return l + "  \t "; }); }},
      {"crlf_and_trailing_blanks",
       [](const std::string& t) {
         return joinLines(splitLines(mapLines(t, [](std::string l) { return l + " \t"; })), "\r\n");
       }},
      {"colons_toggled",
       [](const std::string& t) {
         std::string s = replaceAll(t, "Inside IP Addresses\n", "Inside IP Addresses:\n", 2);
         s = replaceAll(s, "Outside IP Addresses:\n", "Outside IP Addresses\n", 2);
         return replaceAll(s, "Static Routing Configuration:\n", "Static Routing Configuration\n",
                           2);
       }},
      {"extra_colon_after_labels",
       [](const std::string& t) {
         return replaceAll(t, "  - Customer Gateway ", "  - Customer Gateway:        ", 4);
       }},
      {"items_not_indented",
       [](const std::string& t) { return std::regex_replace(t, std::regex("\n  - "), "\n- "); }},
      {"double_space_in_labels",
       [](const std::string& t) {
         return replaceAll(t, "Virtual Private Gateway", "Virtual Private  Gateway");
       }},
      {"docs_rules_and_image_lines",
       [](const std::string& t) {
         std::string s = replaceAll(t, std::string(80, '='), std::string(48, '='));
         return std::regex_replace(
             s, std::regex("\n#([1-4]):"),
             "\n![\\[Image NOT FOUND\\]](http://docs.aws.amazon.com/x/images/$1.png) \n#$1:");
       }},
      {"changed_prose",
       [](const std::string& t) {
         std::string s = std::regex_replace(
             t, std::regex("\n#1: Internet Key Exchange Configuration\n"),
             "\n#1: Internet Key Exchange Configuration\nNOTE: If you customized tunnel options "
             "when creating or modifying your VPN connection, you may need to modify these "
             "sample configurations to match the custom settings for your tunnels.\n"
             "Lifetime of the key: a sentence with a colon that is not an item.\n");
         return "A new banner line: with a colon\n" + s;
       }},
      {"ipsec_lower_case_s",
       [](const std::string& t) { return replaceAll(t, "IPSec Tunnel #", "IPsec Tunnel #", 2); }},
      {"byte_order_mark", [](const std::string& t) { return "\xEF\xBB\xBF" + t; }},
      {"no_final_newline", [](const std::string& t) { return rtrim(t.substr(0, t.size() - 1)); }},
      {"tunnels_swapped",
       [](const std::string& t) {
         const auto lines = splitLines(t);
         const size_t t1 = lineOf(lines, "IPSec Tunnel #1");
         const size_t t2 = lineOf(lines, "IPSec Tunnel #2");
         const size_t end = lineOf(lines, "Additional Notes and Questions");
         std::vector<std::string> out = slice(lines, 1, t1 - 1);
         for (const auto& part : {slice(lines, t2, end - 1), slice(lines, t1, t2 - 1),
                                  slice(lines, end, lines.size())}) {
           out.insert(out.end(), part.begin(), part.end());
         }
         return joinLines(out);
       }},
  };
  return list;
}

TEST(AwsImportVariants, LayoutChangesGiveTheSameResult) {
  for (std::string_view name : {k01, k05}) {
    const std::string original = sample(name);
    const json expected = jsonOf(original);
    ASSERT_FALSE(expected.is_null()) << name;
    for (const Equivalent& e : equivalents()) {
      SCOPED_TRACE(std::string(name) + " / " + e.name);
      const std::string variant = e.transform(original);
      EXPECT_NE(variant, original);
      EXPECT_EQ(jsonOf(variant), expected);
    }
  }
}

TEST(AwsImportVariants, FilesFromBefore2018) {
  const std::string original = sample(k01);
  std::string old = std::regex_replace(original, std::regex("  - IKE version [^\n]*\n"), "");
  old = std::regex_replace(old, std::regex("  - Phase 1 Negotiation Mode [^\n]*\n"), "");
  old = replaceAll(old, "  - Diffie-Hellman           : Group 2",
                   "  - Perfect Forward Secrecy  : Diffie-Hellman Group 2", 2);
  const ImportResult r = importAws(old);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(json::parse(renderJson(*r.connection, true)), jsonOf(original));
  EXPECT_EQ(r.notes[1], "the file has no IKE version line (written before 2018); read as IKEv1");
}

TEST(AwsImportVariants, TransitGatewayHasNoVgwId) {
  const std::string original = sample(k05);
  const std::string tgw = replaceAll(original,
                                     "Your Virtual Private Gateway ID          : "
                                     "vgw-0123456789abcdef0",
                                     "Your Virtual Private Gateway ID          :", 1);
  const ImportResult r = importAws(tgw);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.connection->vpn_gateway_id, "");
  EXPECT_EQ(json::parse(renderJson(*r.connection, true)), jsonOf(original));
}

// Sample 05 with section #4 replaced by the BGP layout of real downloads (tabs in the padding,
// the double space in "Virtual Private  Gateway ASN").
TEST(AwsImportVariants, BgpSectionInTheTextFile) {
  std::string text = sample(k05);
  for (const char* octet : {"44", "45"}) {
    const std::string o(octet);
    text =
        replaceAll(text,
                   "#4: Static Routing Configuration:\n\nStatic Route Configuration Options:\n\n"
                   "  - Next hop       : 169.254." +
                       o + ".1\n",
                   "#4: Border Gateway Protocol (BGP) Configuration:\n\nThe Border Gateway "
                   "Protocol (BGPv4) is used within the tunnel, between the inside\nIP "
                   "addresses, to exchange routes from the VPC to your home network.\n\nBGP "
                   "Configuration Options:\n  - Customer Gateway ASN\t          : 65000\n"
                   "  - Virtual Private  Gateway ASN          : 64512\n  - Neighbor IP "
                   "Address     \t\t  : 169.254." +
                       o +
                       ".1\n  - Neighbor Hold Time       : "
                       "30\n\nConfigure BGP to announce routes to the Virtual Private Gateway.\n",
                   1);
  }
  const json j = jsonOf(text);
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["routing"], "bgp");
  EXPECT_EQ(j["tunnels"][0]["bgp"], (json{{"customer_asn", 65000},
                                          {"aws_asn", 64512},
                                          {"neighbor_ip", "169.254.44.1"},
                                          {"hold_time_s", 30}}));
  EXPECT_EQ(j["tunnels"][1]["bgp"], (json{{"customer_asn", 65000},
                                          {"aws_asn", 64512},
                                          {"neighbor_ip", "169.254.45.1"},
                                          {"hold_time_s", 30}}));
  // A neighbour that is not the AWS inside address is wrong, not guessed.
  const std::string bad = replaceAll(text, "  : 169.254.45.1\n", "  : 169.254.45.2\n", 1);
  EXPECT_EQ(errorsOf(bad),
            std::vector<std::string>{"x:141: tunnel #2 (AWS 198.51.100.201): Neighbor IP Address: "
                                     "169.254.45.2 is not the AWS inside address 169.254.45.1"});
}

// Sample 01: tunnel #1 at line 19 (sections 21, 40, 67, 99), tunnel #2 at 114 (116, 135, 162,
// 194), "Additional Notes and Questions" at 210.
TEST(AwsImportVariants, TruncatedAtEachSection) {
  const std::string text = sample(k01);
  EXPECT_EQ(errorsOf(firstLines(text, 18)),
            std::vector<std::string>{"x:18: no \"IPSec Tunnel #1\" section found; not an AWS "
                                     "Generic VPN configuration file (or truncated before the "
                                     "first tunnel)"});
  EXPECT_EQ(errorsOf(firstLines(text, 113)),
            std::vector<std::string>{
                "x:113: found 1 tunnel; an AWS VPN connection has exactly 2 (truncated file?)"});
  EXPECT_EQ(errorsOf(firstLines(text, 161)),
            (std::vector<std::string>{
                "x:161: tunnel #2: #3: Tunnel Interface Configuration: section missing (the "
                "tunnel ends at line 161; truncated file?)",
                "x:161: tunnel #2: #4: Static Routing or BGP Configuration: section missing (the "
                "tunnel ends at line 161; truncated file?)"}));
  EXPECT_EQ(errorsOf(firstLines(text, 193)),
            std::vector<std::string>{
                "x:193: tunnel #2 (AWS 15.164.154.116): #4: Static Routing or BGP "
                "Configuration: section missing (the tunnel ends at line 193; truncated file?)"});
  EXPECT_EQ(errorsOf(firstLines(text, 134)),
            (std::vector<std::string>{
                "x:134: tunnel #2: #3: Tunnel Interface Configuration: section missing (the "
                "tunnel ends at line 134; truncated file?)",
                "x:134: tunnel #2: #2: IPSec Configuration: section missing (the tunnel ends at "
                "line 134; truncated file?)",
                "x:134: tunnel #2: #4: Static Routing or BGP Configuration: section missing (the "
                "tunnel ends at line 134; truncated file?)"}));
  // Cut inside tunnel #2's #2 section (the DPD lines and everything after are gone).
  EXPECT_EQ(errorsOf(firstLines(text, 148)),
            (std::vector<std::string>{
                "x:135: tunnel #2: DPD Interval: missing from section #2 (lines 135-148)",
                "x:135: tunnel #2: DPD Retries: missing from section #2 (lines 135-148)",
                "x:135: tunnel #2: TCP MSS Adjustment: missing from section #2 (lines 135-148)",
                "x:148: tunnel #2: #3: Tunnel Interface Configuration: section missing (the "
                "tunnel ends at line 148; truncated file?)",
                "x:148: tunnel #2: #4: Static Routing or BGP Configuration: section missing (the "
                "tunnel ends at line 148; truncated file?)"}));
}

// Every cut before the last required line fails; the first complete prefix imports.
TEST(AwsImportVariants, TruncatedAtEveryLine) {
  for (std::string_view name : {k01, k05}) {
    const std::string text = sample(name);
    const auto lines = splitLines(text);
    const size_t t2 = lineOf(lines, "IPSec Tunnel #2");
    const size_t last_section = lineOf(lines, "#4: Static Routing Configuration:", t2);
    for (size_t n = 0; n < last_section; ++n) {
      SCOPED_TRACE(std::string(name) + " cut after line " + std::to_string(n));
      const ImportResult r = importAws(firstLines(text, n));
      EXPECT_FALSE(r.ok());
      EXPECT_FALSE(r.errors.empty());
    }
    EXPECT_TRUE(importAws(firstLines(text, last_section)).ok()) << name;
  }
}

}  // namespace
}  // namespace crossgate::aws_import
