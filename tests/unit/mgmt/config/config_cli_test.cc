// `crossgate config check|show`, run as a subprocess on temporary files.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "config_test_util.h"

extern char** environ;

namespace crossgate::config::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs build/bin/crossgate with `args`, capturing stdout and stderr through files in `tmp`.
ProcessResult crossgate(const TempDir& tmp, const std::vector<std::string>& args) {
  const char* build = std::getenv("CROSSGATE_BINARY_DIR");
  if (build == nullptr) {
    ADD_FAILURE() << "CROSSGATE_BINARY_DIR is not set (run through ctest)";
    return {};
  }
  const std::string binary = std::string(build) + "/bin/crossgate";
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const std::string out_path = (tmp / "stdout").string();
  const std::string err_path = (tmp / "stderr").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "cannot run " << binary << ": " << std::strerror(rc);
    return {};
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ProcessResult run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = readFile(out_path);
  run.err = readFile(err_path);
  return run;
}

class ConfigCli : public ::testing::Test {
 protected:
  ConfigDir dir_;
  TempDir io_;
};

TEST_F(ConfigCli, CheckValidFilePrintsOk) {
  writeFile(dir_.file(), kBaseConfig);
  const ProcessResult run = crossgate(io_, {"config", "check", dir_.file().string()});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, dir_.file().string() + ": OK\n");
  EXPECT_EQ(run.err, "");
}

TEST_F(ConfigCli, CheckUsesTheGlobalConfigPathByDefault) {
  writeFile(dir_.file(), kBaseConfig);
  const ProcessResult run = crossgate(io_, {"--config", dir_.file().string(), "config", "check"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, dir_.file().string() + ": OK\n");
}

TEST_F(ConfigCli, CheckPrintsEveryErrorAndExits1) {
  std::string text = replaceLine(kBaseConfig, 14, "inside_cidr = \"169.254.44.0/29\"");
  text = replaceLine(text, 22, "if_id = 0");
  writeFile(dir_.file(), text);
  const ProcessResult run = crossgate(io_, {"config", "check", dir_.file().string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, dir_.at(14, 15) +
                         "vpn[0].tunnel[0].inside_cidr: '169.254.44.0/29' must be a /30 (AWS "
                         "assigns one /30 per tunnel), found /29\n" +
                         dir_.at(22, 9) +
                         "vpn[0].tunnel[1].if_id: must be 1..4294967293, found 0\n");
}

TEST_F(ConfigCli, CheckMissingFile) {
  const std::string path = (dir_.dir() / "absent.toml").string();
  const ProcessResult run = crossgate(io_, {"config", "check", path});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, path + ": cannot read file: No such file or directory\n");
}

TEST_F(ConfigCli, ShowJsonPrintsTheParsedConfigWithoutSecrets) {
  writeFile(dir_.dir() / "secrets/t2.psk", "SUPERSECRETPSK\n", 0600);
  writeFile(dir_.file(), kBaseConfig);
  const ProcessResult run = crossgate(io_, {"config", "show", dir_.file().string(), "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, Not(HasSubstr("SUPERSECRET")));
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["appliance"]["public_ip"], "203.0.113.10");
  EXPECT_EQ(j["vpn"][0]["tunnel"][1]["name"], "prod-t2");
  EXPECT_EQ(j["vpn"][0]["tunnel"][1]["interface"], "cgt2");
  EXPECT_EQ(j["vpn"][0]["tunnel"][1]["priority"], 200);
  EXPECT_EQ(j["vpn"][0]["tunnel"][1]["psk_file"], (dir_.dir() / "secrets/t2.psk").string());
}

TEST_F(ConfigCli, ShowWithoutJsonIsASummary) {
  writeFile(dir_.dir() / "secrets/t1.psk", "SUPERSECRETPSK\n", 0600);
  writeFile(dir_.file(), kBaseConfig);
  const ProcessResult run = crossgate(io_, {"config", "show", dir_.file().string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("appliance cg-1: wan eth0, lan eth1, public ip 203.0.113.10\n"));
  EXPECT_THAT(run.out, HasSubstr("vpn prod (active-standby): remote 10.10.0.0/16; local "
                                 "10.20.0.0/16\n"));
  EXPECT_THAT(run.out, HasSubstr("  tunnel prod-t1: aws 198.51.100.17, inside 169.254.44.0/30 "
                                 "(aws 169.254.44.1, us 169.254.44.2)\n"));
  EXPECT_THAT(run.out, Not(HasSubstr("SUPERSECRET")));
}

TEST_F(ConfigCli, ShowInvalidFileExits1WithDiagnostics) {
  writeFile(dir_.file(), replaceLine(kBaseConfig, 16, "if_id = -1"));
  const ProcessResult run = crossgate(io_, {"config", "show", "--json", dir_.file().string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, dir_.at(16, 9) + "vpn[0].tunnel[0].if_id: must be 1..4294967293, found -1\n");
}

// What `crossgate import aws --out DIR` writes plus `include` in the main file is a complete,
// valid configuration with no hand edits.
TEST_F(ConfigCli, ImportedFragmentsAreIncludedWithoutEdits) {
  const char* source = std::getenv("CROSSGATE_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "CROSSGATE_SOURCE_DIR is not set (run through ctest)";
  const std::string samples = std::string(source) + "/tests/unit/mgmt/aws_import/samples/";
  const std::string vpn_d = (dir_.dir() / "vpn.d").string();
  writeFile(dir_.file(),
            "include = [\"vpn.d/*.toml\"]\n[appliance]\nname = \"cg-1\"\nwan_interface = "
            "\"eth0\"\nlan_interface = \"eth1\"\npublic_ip = \"203.0.113.10\"\n");
  const ProcessResult static_import = crossgate(
      io_, {"import", "aws", samples + "05_synthetic_ikev2_static.txt", "--out", vpn_d, "--name",
            "aws-static", "--remote-network", "10.10.0.0/16", "--local-network", "10.20.0.0/16"});
  ASSERT_EQ(static_import.exit_code, 0) << static_import.err;
  const ProcessResult bgp_import = crossgate(
      io_, {"import", "aws", samples + "06_synthetic_bgp.xml", "--out", vpn_d, "--name", "aws-bgp",
            "--remote-network", "10.11.0.0/16", "--local-network", "10.21.0.0/16"});
  ASSERT_EQ(bgp_import.exit_code, 0) << bgp_import.err;

  const ProcessResult check = crossgate(io_, {"config", "check", dir_.file().string()});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out, dir_.file().string() + ": OK\n");
  const ProcessResult show = crossgate(io_, {"config", "show", "--json", dir_.file().string()});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const auto j = nlohmann::json::parse(show.out);
  ASSERT_EQ(j["vpn"].size(), 2u);
  EXPECT_EQ(j["vpn"][0]["name"], "aws-bgp");  // vpn.d/aws-bgp.toml sorts first
  EXPECT_EQ(j["vpn"][1]["name"], "aws-static");
  EXPECT_FALSE(j["vpn"][0]["tunnel"][0]["bgp"].is_null());
  EXPECT_EQ(j["vpn"][1]["tunnel"].size(), 2u);
}

}  // namespace
}  // namespace crossgate::config::testing
