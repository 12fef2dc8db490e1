// `crossgate import aws` run as a subprocess ($CROSSGATE_BINARY_DIR/bin/crossgate) in temporary
// directories: exit codes, exact output, nothing written on error, --force, file modes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"

#ifdef CROSSGATE_HAVE_CONFIG_LOADER
#include "crossgate/mgmt/config_loader.h"
#endif

namespace crossgate::aws_import {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace test;

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

fs::path binary() {
  const char* dir = std::getenv("CROSSGATE_BINARY_DIR");
  EXPECT_NE(dir, nullptr) << "CROSSGATE_BINARY_DIR is not set (run the test through ctest)";
  return fs::path(dir == nullptr ? "." : dir) / "bin" / "crossgate";
}

// Runs `crossgate import aws ARGS...` in `cwd` with the given umask and, when not 0, a file
// size limit (writes past it fail with EFBIG) to make writing fail part-way.
CliRun importAws(const std::vector<std::string>& args, const fs::path& cwd, mode_t mask = 022,
                 rlim_t max_file_size = 0) {
  TempDir io;
  const fs::path out = io.path() / "out";
  const fs::path err = io.path() / "err";
  const std::string exe = binary().string();
  std::vector<std::string> all = {exe, "import", "aws"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::umask(mask);
    if (max_file_size != 0) {
      const rlimit limit{max_file_size, max_file_size};
      ::signal(SIGXFSZ, SIG_IGN);
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || e < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0 || ::chdir(cwd.c_str()) != 0) {
      ::_exit(126);
    }
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = readFile(out);
  r.err = readFile(err);
  return r;
}

std::string samplePath(std::string_view name) { return (samplesDir() / name).string(); }

mode_t modeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// Every entry under `dir`, relative, sorted.
std::set<std::string> tree(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); ++it) {
    out.insert(fs::relative(it->path(), dir).string());
  }
  return out;
}

void writeText(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

const char* const kPrefix = "crossgate import aws: ";

TEST(AwsImportCli, PrintsTheFragmentAndWritesNothingWithoutOut) {
  TempDir cwd;
  const CliRun r = importAws(
      {samplePath(k05), "--name", "aws-prod", "--if-id-base", "7", "--remote-network",
       "10.10.0.0/16", "--local-network", "10.20.0.0/16", "--local-network", "10.21.0.0/16"},
      cwd.path());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "# crossgate VPN fragment, written by `crossgate import aws` from "
            "05_synthetic_ikev2_static.txt.\n"
            "# AWS VPN connection vpn-0a1b2c3d4e5f60718, virtual private gateway "
            "vgw-0123456789abcdef0, static routing.\n"
            "# Customer gateway (set [appliance] public_ip to it): 203.0.113.10\n"
            "# AWS's file lists only its minimum algorithms; stronger proposals come first.\n"
            "# Tunnels are ordered by AWS outside address (t1 = the lower one).\n"
            "\n"
            "[[vpn]]\n"
            "name = \"aws-prod\"\n"
            "vpn_connection_id = \"vpn-0a1b2c3d4e5f60718\"\n"
            "mode = \"active-standby\"\n"
            "remote_networks = [\"10.10.0.0/16\"]\n"
            "local_networks = [\"10.20.0.0/16\", \"10.21.0.0/16\"]\n"
            "\n"
            "  [[vpn.tunnel]]\n"
            "  name = \"aws-prod-t1\"\n"
            "  aws_outside_ip = \"198.51.100.17\"\n"
            "  inside_cidr = \"169.254.44.0/30\"\n"
            "  psk_file = \"secrets/aws-prod-t1.psk\"\n"
            "  if_id = 7\n"
            "  priority = 100\n"
            "  ike_proposals = [\"aes256gcm16-prfsha384-ecp384\", \"aes256-sha256-modp2048\", "
            "\"aes128-sha1-modp1024\"]\n"
            "  esp_proposals = [\"aes256gcm16-ecp384\", \"aes256-sha256-modp2048\", "
            "\"aes128-sha1-modp1024\"]\n"
            "  ike_lifetime_s = 28800\n"
            "  esp_lifetime_s = 3600\n"
            "  dpd_interval_s = 10\n"
            "  dpd_retries = 3\n"
            "  mtu = 1436\n"
            "  tcp_mss = 1379\n"
            "\n"
            "  [[vpn.tunnel]]\n"
            "  name = \"aws-prod-t2\"\n"
            "  aws_outside_ip = \"198.51.100.201\"\n"
            "  inside_cidr = \"169.254.45.0/30\"\n"
            "  psk_file = \"secrets/aws-prod-t2.psk\"\n"
            "  if_id = 8\n"
            "  priority = 101\n"
            "  ike_proposals = [\"aes256gcm16-prfsha384-ecp384\", \"aes256-sha256-modp2048\", "
            "\"aes128-sha1-modp1024\"]\n"
            "  esp_proposals = [\"aes256gcm16-ecp384\", \"aes256-sha256-modp2048\", "
            "\"aes128-sha1-modp1024\"]\n"
            "  ike_lifetime_s = 28800\n"
            "  esp_lifetime_s = 3600\n"
            "  dpd_interval_s = 10\n"
            "  dpd_retries = 3\n"
            "  mtu = 1436\n"
            "  tcp_mss = 1379\n");
  EXPECT_TRUE(tree(cwd.path()).empty());
}

TEST(AwsImportCli, BgpFragmentAndEmptyNetworksNote) {
  TempDir cwd;
  const CliRun r = importAws({samplePath(k06)}, cwd.path());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("remote_networks = []\n"), std::string::npos);
  EXPECT_NE(r.out.find("# FILL IN: the AWS VPC CIDRs"), std::string::npos);
  EXPECT_NE(r.out.find("    [vpn.tunnel.bgp]\n    customer_asn = 65060\n    aws_asn = 64512\n"
                       "    neighbor_ip = \"169.254.61.1\"\n    hold_time_s = 30\n"),
            std::string::npos);
  EXPECT_EQ(r.err,
            std::string(kPrefix) +
                "note: the XML describes IKEv1 tunnels; they are imported for IKEv2, which AWS "
                "tunnels accept unless their IKE versions option was limited to ikev1\n" +
                kPrefix + "note: the XML carries no tunnel MTU; using AWS's 1436\n" + kPrefix +
                "note: remote_networks/local_networks are empty: AWS's file does not name them, "
                "and the config does not validate until they are filled in (or pass "
                "--remote-network CIDR and --local-network CIDR)\n");
  EXPECT_EQ(r.out.find("sixOneKey"), std::string::npos);
}

TEST(AwsImportCli, JsonShape) {
  TempDir cwd;
  const json tunnel1 = {{"aws_outside_ip", "13.209.231.134"},
                        {"customer_outside_ip", "54.255.135.113"},
                        {"aws_inside_cidr", "169.254.191.153/30"},
                        {"customer_inside_cidr", "169.254.191.154/30"},
                        {"psk", "***"},
                        {"ike_version", 1},
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
                        {"tcp_mss", 1379},
                        {"mtu", 1436},
                        {"bgp", nullptr}};
  json tunnel2 = tunnel1;
  tunnel2["aws_outside_ip"] = "15.164.154.116";
  tunnel2["aws_inside_cidr"] = "169.254.213.201/30";
  tunnel2["customer_inside_cidr"] = "169.254.213.202/30";
  json expected = {{"vpn_connection_id", "vpn-006dfdf3f4989c4df"},
                   {"routing", "static"},
                   {"tunnels", {tunnel1, tunnel2}}};

  const CliRun masked = importAws({samplePath(k01), "--json"}, cwd.path());
  EXPECT_EQ(masked.code, 0) << masked.err;
  EXPECT_EQ(json::parse(masked.out), expected);
  EXPECT_EQ(masked.out.find("bIben5l33"), std::string::npos);

  const CliRun shown = importAws({samplePath(k01), "--json", "--show-secrets"}, cwd.path());
  EXPECT_EQ(shown.code, 0) << shown.err;
  expected["tunnels"][0]["psk"] = "bIben5l33KgXpzShJdwNKlO3rG3ryq01";
  expected["tunnels"][1]["psk"] = "abs4CQtJ63ryaw9KaFiix12_us7Vje.r";
  EXPECT_EQ(json::parse(shown.out), expected);
  EXPECT_TRUE(tree(cwd.path()).empty());
}

TEST(AwsImportCli, PlaceholdersFilledFromOptions) {
  TempDir cwd;
  std::string text = replaceNth(sample(k02), "- Virtual Private Gateway  : 72.21.209.193",
                                "- Virtual Private Gateway  : 72.21.209.225", 2);
  writeText(cwd.path() / "bgp.txt", text);
  const CliRun r = importAws(
      {"bgp.txt", "--json", "--customer-ip", "203.0.113.5", "--customer-asn", "65001"}, cwd.path());
  EXPECT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["tunnels"][0]["customer_outside_ip"], "203.0.113.5");
  EXPECT_EQ(j["tunnels"][1]["bgp"], (json{{"customer_asn", 65001},
                                          {"aws_asn", 7224},
                                          {"neighbor_ip", "169.254.255.5"},
                                          {"hold_time_s", 30}}));
}

// AWS's static documentation example: its keys are outside AWS's documented alphabet, which
// gives notes on stderr (naming tunnel and line, never the key); they are written as given.
TEST(AwsImportCli, DocExampleKeysAreImportedWithNotes) {
  TempDir cwd;
  const CliRun r =
      importAws({samplePath(k03), "--out", "conf", "--name", "doc", "--customer-ip", "203.0.113.5",
                 "--remote-network", "10.10.0.0/16", "--local-network", "10.20.0.0/16"},
                cwd.path());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "wrote conf/secrets/doc-t1.psk\nwrote conf/secrets/doc-t2.psk\nwrote conf/doc.toml\n");
  EXPECT_EQ(r.err,
            std::string(kPrefix) +
                "note: the file describes IKEv1 tunnels; they are imported for IKEv2, which AWS "
                "tunnels accept unless their IKE versions option was limited to ikev1\n" +
                kPrefix +
                "note: line 32: tunnel #1 (AWS 72.21.209.193): Pre-Shared Key: has characters "
                "outside AWS's documented A-Z a-z 0-9 . _; imported as given\n" +
                kPrefix +
                "note: line 123: tunnel #2 (AWS 72.21.209.225): Pre-Shared Key: has characters "
                "outside AWS's documented A-Z a-z 0-9 . _; imported as given\n");
  const fs::path conf = cwd.path() / "conf";
  EXPECT_EQ(modeOf(conf / "secrets/doc-t1.psk"), 0600u);
  EXPECT_EQ(readFile(conf / "secrets/doc-t1.psk"), "PRE-SHARED-KEY-IN-PLAIN-TEXT");
  EXPECT_EQ(readFile(conf / "secrets/doc-t2.psk"), "PRE-SHARED-KEY-IN-PLAIN-TEXT");
  EXPECT_EQ(readFile(conf / "doc.toml").find("PRE-SHARED"), std::string::npos);
}

TEST(AwsImportCli, WritesFragmentAndKeysWithTheirModes) {
  for (mode_t mask : {mode_t{0}, mode_t{022}, mode_t{077}}) {
    SCOPED_TRACE("umask " + std::to_string(mask));
    TempDir cwd;
    const CliRun r =
        importAws({samplePath(k01), "--out", "conf", "--name", "lab"}, cwd.path(), mask);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(
        r.out,
        "wrote conf/secrets/lab-t1.psk\nwrote conf/secrets/lab-t2.psk\nwrote conf/lab.toml\n");
    const fs::path conf = cwd.path() / "conf";
    EXPECT_EQ(tree(conf), (std::set<std::string>{"lab.toml", "secrets", "secrets/lab-t1.psk",
                                                 "secrets/lab-t2.psk"}));
    EXPECT_EQ(modeOf(conf / "secrets"), 0700u);
    EXPECT_EQ(modeOf(conf / "secrets/lab-t1.psk"), 0600u);
    EXPECT_EQ(modeOf(conf / "secrets/lab-t2.psk"), 0600u);
    EXPECT_EQ(modeOf(conf / "lab.toml"), 0644u);
    EXPECT_EQ(readFile(conf / "secrets/lab-t1.psk"), "bIben5l33KgXpzShJdwNKlO3rG3ryq01");
    EXPECT_EQ(readFile(conf / "secrets/lab-t2.psk"), "abs4CQtJ63ryaw9KaFiix12_us7Vje.r");
    const std::string toml = readFile(conf / "lab.toml");
    EXPECT_NE(toml.find("psk_file = \"secrets/lab-t1.psk\""), std::string::npos);
    EXPECT_EQ(toml.find("bIben5l33"), std::string::npos);
  }
}

TEST(AwsImportCli, RefusesToOverwriteWithoutForce) {
  TempDir cwd;
  const fs::path conf = cwd.path() / "conf";
  ASSERT_EQ(importAws({samplePath(k05), "--out", "conf"}, cwd.path()).code, 0);
  const fs::path t1 = conf / "secrets/vpn-0a1b2c3d4e5f60718-t1.psk";
  writeText(t1, "changedKey123");
  const std::set<std::string> before = tree(conf);

  const CliRun again = importAws({samplePath(k05), "--out", "conf"}, cwd.path());
  EXPECT_EQ(again.code, 3);
  EXPECT_EQ(again.out, "");
  EXPECT_EQ(again.err.substr(again.err.rfind(kPrefix)),
            std::string(kPrefix) +
                "would overwrite conf/secrets/vpn-0a1b2c3d4e5f60718-t1.psk, "
                "conf/secrets/vpn-0a1b2c3d4e5f60718-t2.psk, conf/vpn-0a1b2c3d4e5f60718.toml; "
                "nothing written (use --force to replace)\n");
  EXPECT_EQ(readFile(t1), "changedKey123");
  EXPECT_EQ(tree(conf), before);

  const CliRun forced = importAws({samplePath(k05), "--out", "conf", "--force"}, cwd.path());
  EXPECT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(readFile(t1), "Xk2p9QwErTy7uIoP4aSdFgH1jKlZxCvB");
  EXPECT_EQ(modeOf(t1), 0600u);
  EXPECT_EQ(tree(conf), before);  // no temporaries or backups left behind
}

// A write that fails part-way (the fragment is larger than the file size limit, the keys are
// not) leaves nothing behind: created directories and temporaries are removed, replaced files
// are restored.
TEST(AwsImportCli, FailedWriteLeavesNothingBehind) {
  TempDir cwd;
  const std::string f = samplePath(k05);
  const CliRun fresh = importAws({f, "--out", "conf", "--name", "x"}, cwd.path(), 022, 1000);
  EXPECT_EQ(fresh.code, 3);
  EXPECT_NE(fresh.err.find(": cannot write: File too large"), std::string::npos) << fresh.err;
  EXPECT_TRUE(tree(cwd.path()).empty());

  const fs::path conf = cwd.path() / "conf";
  ASSERT_EQ(importAws({f, "--out", "conf", "--name", "x"}, cwd.path()).code, 0);
  writeText(conf / "secrets/x-t1.psk", "oldKeyValue1");
  writeText(conf / "x.toml", "# old fragment\n");
  const std::set<std::string> before = tree(conf);
  const CliRun forced =
      importAws({f, "--out", "conf", "--name", "x", "--force"}, cwd.path(), 022, 1000);
  EXPECT_EQ(forced.code, 3);
  EXPECT_EQ(readFile(conf / "secrets/x-t1.psk"), "oldKeyValue1");
  EXPECT_EQ(readFile(conf / "x.toml"), "# old fragment\n");
  EXPECT_EQ(tree(conf), before);
}

TEST(AwsImportCli, OneExistingKeyBlocksEverything) {
  TempDir cwd;
  const fs::path secrets = cwd.path() / "conf/secrets";
  fs::create_directories(secrets);
  fs::permissions(secrets, fs::perms::owner_all);
  writeText(secrets / "x-t2.psk", "keepThisKey1");
  const CliRun r = importAws({samplePath(k05), "--out", "conf", "--name", "x"}, cwd.path());
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(tree(cwd.path() / "conf"), (std::set<std::string>{"secrets", "secrets/x-t2.psk"}));
  EXPECT_EQ(readFile(secrets / "x-t2.psk"), "keepThisKey1");
}

TEST(AwsImportCli, ForceReplacesASymlinkNotItsTarget) {
  TempDir cwd;
  const fs::path secrets = cwd.path() / "conf/secrets";
  fs::create_directories(secrets);
  fs::permissions(secrets, fs::perms::owner_all);
  writeText(cwd.path() / "victim", "do not touch");
  fs::create_symlink(cwd.path() / "victim", secrets / "x-t1.psk");
  EXPECT_EQ(importAws({samplePath(k05), "--out", "conf", "--name", "x"}, cwd.path()).code, 3);
  const CliRun r =
      importAws({samplePath(k05), "--out", "conf", "--name", "x", "--force"}, cwd.path());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(readFile(cwd.path() / "victim"), "do not touch");
  EXPECT_FALSE(fs::is_symlink(secrets / "x-t1.psk"));
  EXPECT_EQ(modeOf(secrets / "x-t1.psk"), 0600u);
}

TEST(AwsImportCli, OpenKeyDirectoryIsRefused) {
  TempDir cwd;
  fs::create_directories(cwd.path() / "conf/secrets");
  fs::permissions(cwd.path() / "conf/secrets", fs::perms(0755));
  const CliRun r = importAws({samplePath(k05), "--out", "conf"}, cwd.path());
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err.substr(r.err.rfind(kPrefix)),
            std::string(kPrefix) +
                "conf/secrets: mode 0755 lets other users in; the key directory must be 0700 "
                "(chmod 700 conf/secrets)\n");
  EXPECT_EQ(tree(cwd.path() / "conf"), std::set<std::string>{"secrets"});
}

TEST(AwsImportCli, ErrorsWriteNothing) {
  TempDir cwd;
  const CliRun r02 = importAws({samplePath(k02), "--out", "conf"}, cwd.path());
  EXPECT_EQ(r02.code, 1);
  EXPECT_EQ(r02.out, "");
  const std::string f = samplePath(k02);
  EXPECT_EQ(r02.err,
            kPrefix + f +
                ":85: tunnel #1 (AWS 72.21.209.193): Outside IP Addresses: Customer Gateway: "
                "\"YOUR_UPLINK_ADDRESS\" is a placeholder, not an IP address; pass --customer-ip "
                "IP\n" +
                kPrefix + f +
                ":104: tunnel #1 (AWS 72.21.209.193): Customer Gateway ASN: \"YOUR_BGP_ASN\" is "
                "a placeholder, not an ASN; pass --customer-asn N\n" +
                kPrefix + f +
                ":179: tunnel #2 (AWS 72.21.209.193): Outside IP Addresses: Customer Gateway: "
                "\"YOUR_UPLINK_ADDRESS\" is a placeholder, not an IP address; pass --customer-ip "
                "IP\n" +
                kPrefix + f +
                ":180: tunnel #2 (AWS 72.21.209.193): Outside IP Addresses: Virtual Private "
                "Gateway: same AWS outside address as tunnel #1 (line 86); every tunnel of an "
                "AWS VPN connection has its own, so the tunnels cannot be told apart "
                "(anonymised or edited file?)\n" +
                kPrefix + f +
                ":198: tunnel #2 (AWS 72.21.209.193): Customer Gateway ASN: \"YOUR_BGP_ASN\" is "
                "a placeholder, not an ASN; pass --customer-asn N\n" +
                kPrefix + f + ": 5 problems; nothing written\n");

  const CliRun r04 = importAws({samplePath(k04), "--out", "conf", "--json"}, cwd.path());
  EXPECT_EQ(r04.code, 1);
  EXPECT_EQ(r04.out, "");
  const std::string f4 = samplePath(k04);
  EXPECT_EQ(r04.err, kPrefix + f4 +
                         ":76: tunnel #2 (AWS 1.1.1.1): vpn_gateway/tunnel_outside_address/"
                         "ip_address: same AWS outside address as tunnel #1 (line 23); every "
                         "tunnel of an AWS VPN connection has its own, so the tunnels cannot be "
                         "told apart (anonymised or edited file?)\n" +
                         kPrefix + f4 + ": 1 problem; nothing written\n");

  writeText(cwd.path() / "cut.txt", sample(k01).substr(0, 6000));
  const CliRun cut = importAws({"cut.txt", "--out", "conf"}, cwd.path());
  EXPECT_EQ(cut.code, 1);
  EXPECT_NE(cut.err.find("cut.txt:"), std::string::npos);

  const CliRun missing = importAws({"nope.txt", "--out", "conf"}, cwd.path());
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err,
            std::string(kPrefix) + "nope.txt: cannot open: No such file or directory\n");
  EXPECT_EQ(tree(cwd.path()), std::set<std::string>{"cut.txt"});
}

TEST(AwsImportCli, BadOptionValues) {
  TempDir cwd;
  const std::string f = samplePath(k05);
  const struct {
    std::vector<std::string> args;
    std::string err;
  } cases[] = {
      {{f, "--customer-ip", "YOUR_UPLINK_ADDRESS"},
       "--customer-ip YOUR_UPLINK_ADDRESS: not an IP address"},
      {{f, "--customer-asn", "0"}, "--customer-asn 0: not an ASN (1..4294967294)"},
      {{f, "--customer-asn", "-5"}, "--customer-asn -5: not an ASN (1..4294967294)"},
      {{f, "--remote-network", "10.0.0.1/8"},
       "--remote-network 10.0.0.1/8: host bits are set; did you mean 10.0.0.0/8?"},
      {{f, "--local-network", "10.0.0.0"},
       "--local-network 10.0.0.0: expected an address with a prefix length, such as "
       "10.0.0.0/16"},
      {{f, "--name", "Prod"}, "--name Prod: use 1-32 characters of a-z 0-9 -"},
      {{f, "--if-id-base", "0"}, "--if-id-base 0: out of range 1..4294967292"},
      {{f, "--if-id-base", "4294967293"}, "--if-id-base 4294967293: out of range 1..4294967292"},
  };
  for (const auto& c : cases) {
    const CliRun r = importAws(c.args, cwd.path());
    EXPECT_EQ(r.code, 2) << c.err;
    EXPECT_EQ(r.err, kPrefix + c.err + "\n");
  }
  EXPECT_TRUE(tree(cwd.path()).empty());
}

TEST(AwsImportCli, IfIdsAvoidOtherFragments) {
  TempDir cwd;
  const fs::path conf = cwd.path() / "conf";
  fs::create_directories(conf);
  writeText(conf / "other.toml",
            "[[vpn]]\nname = \"other\"\n[[vpn.tunnel]]\nif_id = 1\n[[vpn.tunnel]]\nif_id = 3\n");
  const CliRun r = importAws({samplePath(k05), "--out", "conf", "--name", "b"}, cwd.path());
  EXPECT_EQ(r.code, 0) << r.err;
  const std::string toml = readFile(conf / "b.toml");
  EXPECT_NE(toml.find("  name = \"b-t1\"\n  aws_outside_ip = \"198.51.100.17\"\n  inside_cidr = "
                      "\"169.254.44.0/30\"\n  psk_file = \"secrets/b-t1.psk\"\n  if_id = 2\n"),
            std::string::npos);
  EXPECT_NE(toml.find("  if_id = 4\n"), std::string::npos);
  // Re-importing the same name replaces its own fragment: its if_ids do not count as taken.
  const CliRun again =
      importAws({samplePath(k05), "--out", "conf", "--name", "b", "--force"}, cwd.path());
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(readFile(conf / "b.toml"), toml);

  writeText(conf / "broken.toml", "[[vpn]\n");
  const CliRun bad = importAws({samplePath(k05), "--out", "conf", "--name", "c"}, cwd.path());
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.err.substr(0, bad.err.find(':', bad.err.find("broken.toml"))),
            std::string(kPrefix) + "conf/broken.toml");
  EXPECT_NE(bad.err.find("cannot tell which if_ids are free (pass --if-id-base N)"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(conf / "c.toml"));
}

#ifdef CROSSGATE_HAVE_CONFIG_LOADER
// The fragment as written loads with the config loader, included from a minimal main file.
TEST(AwsImportCli, FragmentLoadsWithTheConfigLoader) {
  for (std::string_view name : {k01, k05, k06}) {
    SCOPED_TRACE(std::string(name));
    TempDir cwd;
    writeText(cwd.path() / "crossgate.toml",
              "include = [\"vpn.d/*.toml\"]\n\n[appliance]\nname = \"crossgate-1\"\n"
              "wan_interface = \"eth0\"\nlan_interface = \"eth1\"\n"
              "public_ip = \"203.0.113.10\"\n");
    const CliRun r = importAws({samplePath(name), "--out", "vpn.d", "--remote-network",
                                "10.10.0.0/16", "--local-network", "10.20.0.0/16"},
                               cwd.path());
    ASSERT_EQ(r.code, 0) << r.err;
    const config::LoadResult loaded = config::loadFile(cwd.path() / "crossgate.toml");
    for (const auto& d : loaded.errors) {
      ADD_FAILURE() << d.toString();
    }
    ASSERT_TRUE(loaded.ok());
    ASSERT_EQ(loaded.config->vpns.size(), 1u);
    const config::Vpn& vpn = loaded.config->vpns[0];
    ASSERT_EQ(vpn.tunnels.size(), 2u);
    EXPECT_EQ(vpn.tunnels[0].if_id, 1u);
    EXPECT_EQ(vpn.tunnels[1].if_id, 2u);
    EXPECT_EQ(vpn.tunnels[0].psk_file,
              (cwd.path() / "vpn.d/secrets" / (vpn.name + "-t1.psk")).lexically_normal());
    EXPECT_EQ(vpn.tunnels[0].bgp.has_value(), name == k06);
  }
}

// Without networks the fragment is written, and the loader says what is missing.
TEST(AwsImportCli, FragmentWithoutNetworksNeedsThem) {
  TempDir cwd;
  writeText(cwd.path() / "crossgate.toml",
            "include = [\"vpn.d/*.toml\"]\n\n[appliance]\nname = \"crossgate-1\"\n"
            "wan_interface = \"eth0\"\nlan_interface = \"eth1\"\npublic_ip = \"203.0.113.10\"\n");
  ASSERT_EQ(importAws({samplePath(k05), "--out", "vpn.d", "--name", "a"}, cwd.path()).code, 0);
  const config::LoadResult loaded = config::loadFile(cwd.path() / "crossgate.toml");
  EXPECT_FALSE(loaded.ok());
  std::string all;
  for (const auto& d : loaded.errors) {
    all += d.toString() + "\n";
  }
  EXPECT_NE(all.find("remote_networks"), std::string::npos) << all;
  EXPECT_NE(all.find("local_networks"), std::string::npos) << all;
}
#endif

}  // namespace
}  // namespace crossgate::aws_import
