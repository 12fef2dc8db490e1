// `include = [globs]`: [[vpn]] fragments in other files (what `crossgate import aws --out`
// writes), merged after the main file's own [[vpn]] tables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace crossgate::config::testing {
namespace {

using ::testing::ElementsAre;

// A fragment like the importer's: one [[vpn]] with one tunnel, PSK relative to its own dir.
std::string fragment(const std::string& name, int if_id, const std::string& outside_ip,
                     const std::string& remote = "10.11.0.0/16") {
  return "[[vpn]]\n"
         "name = \"" +
         name +
         "\"\n"
         "remote_networks = [\"" +
         remote +
         "\"]\n"
         "local_networks = [\"10.21.0.0/16\"]\n"
         "\n"
         "  [[vpn.tunnel]]\n"
         "  aws_outside_ip = \"" +
         outside_ip +
         "\"\n"
         "  inside_cidr = \"169.254." +
         std::to_string(50 + if_id) +
         ".0/30\"\n"
         "  psk_file = \"secrets/" +
         name +
         "-t1.psk\"\n"
         "  if_id = " +
         std::to_string(if_id) + "\n";
}

class Includes : public ::testing::Test {
 protected:
  void addFragment(const std::string& file, const std::string& text, const std::string& name) {
    writeFile(dir_.dir() / "vpn.d" / file, text);
    writeFile(dir_.dir() / "vpn.d/secrets" / (name + "-t1.psk"), "key\n", 0600);
  }
  LoadResult loadWith(const std::string& include_line, const LoadOptions& options = {}) {
    return dir_.load(include_line + "\n" + kBaseConfig, options);
  }
  std::string fragmentPath(const std::string& file) const {
    return (dir_.dir() / "vpn.d" / file).string();
  }

  ConfigDir dir_;
};

TEST_F(Includes, FragmentsAreMergedInSortedOrder) {
  addFragment("b-dev.toml", fragment("dev", 4, "198.51.100.40", "10.12.0.0/16"), "dev");
  addFragment("a-test.toml", fragment("test", 3, "198.51.100.30"), "test");
  writeFile(dir_.dir() / "vpn.d/README", "not toml");
  const LoadResult result = loadWith("include = [\"vpn.d/*.toml\"]");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  const auto& vpns = result.config->vpns;
  ASSERT_EQ(vpns.size(), 3u);
  EXPECT_EQ(vpns[0].name, "prod");
  EXPECT_EQ(vpns[1].name, "test");
  EXPECT_EQ(vpns[2].name, "dev");
  EXPECT_EQ(vpns[1].tunnels[0].name, "test-t1");
  EXPECT_EQ(vpns[1].tunnels[0].interface, "cgt3");
  EXPECT_EQ(vpns[1].tunnels[0].psk_file, dir_.dir() / "vpn.d/secrets/test-t1.psk");
}

TEST_F(Includes, MissingDirectoryMatchesNothing) {
  const LoadResult result = loadWith("include = [\"vpn.d/*.toml\", \"/nonexistent-cg/*.toml\"]");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  EXPECT_EQ(result.config->vpns.size(), 1u);
}

TEST_F(Includes, MissingLiteralFileIsAnError) {
  EXPECT_THAT(messages(loadWith("include = [\"vpn.d/prod.toml\"]")),
              ElementsAre(dir_.at(1, 12) + "include[0]: cannot read '" + fragmentPath("prod.toml") +
                          "': No such file or directory"));
}

TEST_F(Includes, DiagnosticsNameTheIncludedFileAndItsLines) {
  std::string text = fragment("dev", 3, "198.51.100.17");
  text = replaceLine(text, 8, "  inside_cidr = \"169.254.50.0/31\"");
  addFragment("dev.toml", text, "dev");
  const std::string frag = fragmentPath("dev.toml");
  EXPECT_THAT(messages(loadWith("include = [\"vpn.d/*.toml\"]")),
              ElementsAre(frag +
                              ":7:20: vpn[1].tunnel[0].aws_outside_ip: aws_outside_ip "
                              "'198.51.100.17' is already used by "
                              "vpn[0].tunnel[0].aws_outside_ip (" +
                              dir_.file().string() + ":14:18)",
                          frag + ":8:17: vpn[1].tunnel[0].inside_cidr: '169.254.50.0/31' must be "
                                 "a /30 (AWS assigns one /30 per tunnel), found /31"));
}

TEST_F(Includes, IncludedFilesMayHoldOnlyVpnTables) {
  addFragment("dev.toml", "[appliance]\nname = \"x\"\n\n" + fragment("dev", 3, "198.51.100.30"),
              "dev");
  const std::string frag = fragmentPath("dev.toml");
  EXPECT_THAT(messages(loadWith("include = [\"vpn.d/*.toml\"]")),
              ElementsAre(frag + ":1:2: appliance: not allowed in an included file: " + frag +
                          " may contain only [[vpn]] tables"));
}

TEST_F(Includes, SyntaxErrorInIncludedFile) {
  addFragment("dev.toml", "[[vpn]]\nname = \"dev\n", "dev");
  const LoadResult result = loadWith("include = [\"vpn.d/*.toml\"]");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].file, fragmentPath("dev.toml"));
  EXPECT_EQ(result.errors[0].line, 2);
}

TEST_F(Includes, TheMainFileCannotIncludeItself) {
  EXPECT_THAT(messages(loadWith("include = [\"*.toml\"]")),
              ElementsAre(dir_.at(1, 12) + "include[0]: '" + dir_.file().string() +
                          "' is the main config file; it cannot include itself"));
}

TEST_F(Includes, AFileMatchedTwiceIsReadOnce) {
  addFragment("dev.toml", fragment("dev", 3, "198.51.100.30"), "dev");
  const LoadResult result = loadWith("include = [\"vpn.d/*.toml\", \"vpn.d/dev.toml\"]");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  EXPECT_EQ(result.config->vpns.size(), 2u);
}

TEST_F(Includes, IncludeMustBeAnArrayOfStrings) {
  EXPECT_THAT(messages(loadWith("include = \"vpn.d/*.toml\"")),
              ElementsAre(dir_.at(1, 11) + "include: expected an array of strings, found a "
                                           "string"));
}

TEST_F(Includes, NotFollowedWhenDisabled) {
  addFragment("dev.toml", "garbage = [", "dev");
  LoadOptions options;
  options.follow_includes = false;
  const LoadResult result = loadWith("include = [\"vpn.d/*.toml\"]", options);
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(messages(result));
  EXPECT_EQ(result.config->vpns.size(), 1u);
}

}  // namespace
}  // namespace crossgate::config::testing
