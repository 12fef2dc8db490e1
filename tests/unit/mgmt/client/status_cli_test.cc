// `crossgate status` (the real build/bin/crossgate) against a one-shot control socket: the
// routing section, and the first-boot failure marker ($CROSSGATE_FIRSTBOOT_FAILED).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "crossgate/common/unique_fd.h"

namespace crossgate::mgmt {
namespace {

using nlohmann::json;

const json kStatus = json::parse(R"js({
  "charon": {"connected": true, "version": "5.9.8"},
  "config": "/etc/crossgate/crossgate.toml",
  "tunnels": [{"name": "aws-t1", "aws_outside_ip": "198.51.100.17", "ike_state": "ESTABLISHED",
               "child_state": "INSTALLED", "up": true}],
  "routing": {
    "running": true,
    "firewall": {"table": "inet crossgate", "applied": true, "reapplied": 2},
    "route_errors": 0, "routes_restored": 1,
    "vpns": [{"name": "aws", "mode": "active-standby", "remote_networks": ["10.10.0.0/16"],
              "active_path": ["aws-t2"], "switches": 3,
              "last_switch": {"from": ["aws-t1"], "to": ["aws-t2"], "ago_s": 12,
                              "reason": "aws-t1: 3 probes missed (last answer 640 ms ago)"},
              "tunnels": [
                {"name": "aws-t1", "interface": "cgt1", "child_sa_installed": true,
                 "healthy": false, "active": false, "rtt_last_ms": 1.25, "rtt_avg_ms": 1.5,
                 "loss_percent": 12.0, "probes_sent": 50, "probes_answered": 44},
                {"name": "aws-t2", "interface": "cgt2", "child_sa_installed": true,
                 "healthy": true, "active": true, "rtt_last_ms": 0.75, "rtt_avg_ms": null,
                 "loss_percent": 0.0, "probes_sent": 50, "probes_answered": 50}]}]}
})js");

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

class StatusCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cgt-rd-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ / "control.sock";
    marker_ = dir_ / "firstboot.failed";
  }
  void TearDown() override {
    if (server_.joinable()) {
      server_.join();
    }
    std::filesystem::remove_all(dir_);
  }

  // Answers one request with `reply` (one JSON line).
  void serveOnce(const json& reply) {
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socket_.string().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(listener_.get(), 1), 0);
    server_ = std::thread([this, line = reply.dump() + "\n"] {
      UniqueFd client(::accept(listener_.get(), nullptr, nullptr));
      char c = 0;
      while (::read(client.get(), &c, 1) == 1 && c != '\n') {
      }
      (void)!::write(client.get(), line.data(), line.size());
    });
  }

  CliRun crossgate(const std::string& args) {
    const char* build = std::getenv("CROSSGATE_BINARY_DIR");
    EXPECT_NE(build, nullptr) << "CROSSGATE_BINARY_DIR is not set (run through ctest)";
    const std::string cmd = "CROSSGATE_FIRSTBOOT_FAILED='" + marker_.string() + "' '" +
                            std::string(build ? build : ".") + "/bin/crossgate' -c '" +
                            (dir_ / "absent.toml").string() + "' " + args + " --socket '" +
                            socket_.string() + "' >'" + (dir_ / "out").string() + "' 2>'" +
                            (dir_ / "err").string() + "'";
    const int rc = std::system(cmd.c_str());
    CliRun r;
    r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    r.out = slurp(dir_ / "out");
    r.err = slurp(dir_ / "err");
    return r;
  }

  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path dir_, socket_, marker_;
  UniqueFd listener_;
  std::thread server_;
};

TEST_F(StatusCliTest, ShowsRoutingFirewallAndProbes) {
  serveOnce(kStatus);
  const CliRun r = crossgate("status");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("firstboot_error"), std::string::npos);
  EXPECT_NE(r.out.find("firewall: table inet crossgate applied, re-applied 2 time(s)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("VPN aws (active-standby): 10.10.0.0/16 -> active aws-t2, 3 switch(es)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("last switch 12s ago: aws-t1 -> aws-t2 (aws-t1: 3 probes missed"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("aws-t1           cgt1       yes      no      no         1.2ms     1.5ms"
                       "    12%     44/50"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("aws-t2           cgt2       yes      yes     yes        0.8ms         -"),
            std::string::npos)
      << r.out;
}

TEST_F(StatusCliTest, FirstbootFailureWithoutDaemon) {
  std::ofstream(marker_) << "cloud-init: no custom data\n(import failed)\n";
  const CliRun r = crossgate("status");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out.rfind("firstboot_error: cloud-init: no custom data (import failed)\n", 0), 0u)
      << r.out;
  EXPECT_NE(r.err.find(socket_.string()), std::string::npos) << r.err;  // and why no status

  const CliRun j = crossgate("status --json");
  EXPECT_EQ(j.exit_code, 2);
  const json parsed = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << j.out;
  EXPECT_EQ(parsed["firstboot_error"], "cloud-init: no custom data (import failed)");
  EXPECT_TRUE(parsed["error"].is_string());
}

TEST_F(StatusCliTest, FirstbootFailureWithDaemonStillExitsNonZero) {
  std::ofstream(marker_) << "";  // an empty marker still means the first boot failed
  serveOnce(kStatus);
  const CliRun j = crossgate("status --json");
  EXPECT_EQ(j.exit_code, 2);
  const json parsed = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << j.out;
  EXPECT_EQ(parsed["firstboot_error"], "(no reason recorded)");
  EXPECT_EQ(parsed["routing"]["vpns"][0]["switches"], 3);
}

TEST_F(StatusCliTest, NoMarkerNoDaemonIsAnError) {
  const CliRun r = crossgate("status");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.find("firstboot_error"), std::string::npos);
}

}  // namespace
}  // namespace crossgate::mgmt
