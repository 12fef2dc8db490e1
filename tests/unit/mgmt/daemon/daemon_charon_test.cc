// crossgated's core (Daemon: IkeManager + control socket) against real charons: the appliance's
// charon in namespace cgt-ike-app, two AWS-like responders (cgt-ike-aws1, cgt-ike-aws2) linked
// to it by veth pairs. Needs root. Covers: both tunnels up from cold, the status JSON over the
// control socket and the CLI, a changed PSK re-establishing only that tunnel, a wrong PSK
// reported as an authentication error, a restarted charon re-converged without help.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "crossgate/ikev2/vici_client.h"
#include "crossgate/mgmt/client/control_client.h"
#include "crossgate/mgmt/daemon/daemon.h"
#include "testing/await.h"
#include "testing/charon_process.h"

namespace crossgate::mgmtd {
namespace {

using crossgate::testing::await;
using crossgate::testing::CharonProcess;
using crossgate::testing::runUntil;
using nlohmann::json;

constexpr const char* kPublicIp = "203.0.113.10";
const std::vector<std::string> kIkeProposals = {"aes256gcm16-prfsha384-ecp384",
                                                "aes128-sha1-modp2048"};
const std::vector<std::string> kEspProposals = {"aes256gcm16-ecp384", "aes128-sha1-modp2048"};

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

void removeNamespaces() {
  sh("ip netns del cgt-ike-app 2>/dev/null; ip netns del cgt-ike-aws1 2>/dev/null; "
     "ip netns del cgt-ike-aws2 2>/dev/null");
}

struct Aws {
  std::string ns;
  std::string ip;
  std::unique_ptr<CharonProcess> charon;
};

class DaemonCharonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    removeNamespaces();
    ASSERT_EQ(sh("set -e; ip netns add cgt-ike-app; ip -n cgt-ike-app link set lo up;"
                 "for i in 1 2; do ip netns add cgt-ike-aws$i; ip -n cgt-ike-aws$i link set lo up;"
                 " ip link add cgt-ike-a$i netns cgt-ike-app type veth peer name cgt-ike-w$i"
                 " netns cgt-ike-aws$i; done;"
                 "ip -n cgt-ike-app addr add 198.51.100.18/30 dev cgt-ike-a1;"
                 "ip -n cgt-ike-app addr add 198.51.100.22/30 dev cgt-ike-a2;"
                 "ip -n cgt-ike-aws1 addr add 198.51.100.17/30 dev cgt-ike-w1;"
                 "ip -n cgt-ike-aws2 addr add 198.51.100.21/30 dev cgt-ike-w2;"
                 "for i in 1 2; do ip -n cgt-ike-app link set cgt-ike-a$i up;"
                 " ip -n cgt-ike-aws$i link set cgt-ike-w$i up; done"),
              0);
    char tmpl[] = "/tmp/cgt-ike-daemon-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    aws_[0] = {"cgt-ike-aws1", "198.51.100.17",
               std::make_unique<CharonProcess>("", "cgt-ike-aws1")};
    aws_[1] = {"cgt-ike-aws2", "198.51.100.21",
               std::make_unique<CharonProcess>("", "cgt-ike-aws2")};
    app_ = std::make_unique<CharonProcess>("", "cgt-ike-app");
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(aws_[i].charon->start()) << aws_[i].charon->log();
      writePsk(i, "initial-key-" + std::to_string(i + 1));
      loadResponder(i, "initial-key-" + std::to_string(i + 1));
    }
    ASSERT_TRUE(app_->start()) << app_->log();
    buildConfig();
  }

  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "---- appliance charon ----\n%s\n", app_->log().c_str());
      for (auto& a : aws_) {
        std::fprintf(stderr, "---- %s charon ----\n%s\n", a.ns.c_str(), a.charon->log().c_str());
      }
    }
    daemon_.reset();
    app_.reset();
    for (auto& a : aws_) {
      a.charon.reset();
    }
    removeNamespaces();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path pskPath(int i) const {
    return dir_ / ("t" + std::to_string(i + 1) + ".psk");
  }

  void writePsk(int i, const std::string& key) {
    std::ofstream(pskPath(i)) << key << "\n";
    ::chmod(pskPath(i).c_str(), 0600);
  }

  // The AWS side: a responder for the appliance's public IP, as the lab configures it.
  void loadResponder(int i, const std::string& key) {
    const std::string name = "aws-t" + std::to_string(i + 1);
    vici::Connection c(io_.get_executor());
    ASSERT_TRUE(await(io_, c.connect(aws_[i].charon->socketPath())).ok());
    vici::Message shared;
    shared.add("id", "aws").add("type", "IKE").addSecret("data", key);
    shared.addList("owners", {aws_[i].ip, kPublicIp});
    auto r = await(io_, c.request("load-shared", shared));
    ASSERT_TRUE(r.ok() && r->value("success") == "yes");
    vici::Message conn;
    vici::Section& s = conn.addSection(name);
    s.add("version", "2").addList("local_addrs", {aws_[i].ip}).addList("proposals", kIkeProposals);
    s.add("dpd_delay", "10");
    s.addSection("local").add("auth", "psk").add("id", aws_[i].ip);
    s.addSection("remote").add("auth", "psk").add("id", kPublicIp);
    vici::Section& child = s.addSection("children").addSection(name);
    child.addList("esp_proposals", kEspProposals);
    child.addList("local_ts", {"0.0.0.0/0"}).addList("remote_ts", {"0.0.0.0/0"});
    r = await(io_, c.request("load-conn", conn));
    ASSERT_TRUE(r.ok() && r->value("success") == "yes") << (r.ok() ? r->toString() : "");
  }

  void buildConfig() {
    config_.source = dir_ / "crossgate.toml";
    config_.appliance.name = "crossgate-test";
    config_.appliance.public_ip = *IpAddress::parse(kPublicIp);
    config::Vpn vpn;
    vpn.name = "aws";
    for (int i = 0; i < 2; ++i) {
      config::Tunnel t;
      t.name = "aws-t" + std::to_string(i + 1);
      t.aws_outside_ip = *IpAddress::parse(aws_[i].ip);
      t.if_id = static_cast<uint32_t>(i + 1);
      t.psk_file = pskPath(i);
      t.ike_proposals = kIkeProposals;
      t.esp_proposals = kEspProposals;
      vpn.tunnels.push_back(t);
    }
    config_.vpns.push_back(vpn);
    config_.mgmt.vici_socket = app_->socketPath();
    config_.mgmt.control_socket = dir_ / "run" / "control.sock";
  }

  void startDaemon() {
    Daemon::Options options;
    options.config_path = config_.source;
    options.ike.initiate_backoff_min = std::chrono::milliseconds(1000);
    daemon_ = std::make_unique<Daemon>(io_, options, [this](const std::filesystem::path&) {
      config::LoadResult r;
      r.config = config_;
      return r;
    });
    ASSERT_TRUE(daemon_->start().ok());
  }

  json tunnel(const std::string& name) {
    const json status = daemon_->ike().statusJson();
    for (const json& t : status["tunnels"]) {
      if (t["name"] == name) {
        return t;
      }
    }
    return json::object();
  }
  bool up(const std::string& name) { return tunnel(name).value("up", false); }
  uint64_t ikeId(const std::string& name) {
    for (const TunnelStatus& s : daemon_->ike().tunnelStatus()) {
      if (s.name == name && s.ike) {
        return s.ike->uniqueid;
      }
    }
    return 0;
  }

  // Runs a shell command while the daemon keeps serving; returns its stdout.
  std::string runCommand(const std::string& cmd) {
    std::string out;
    std::atomic<bool> done = false;
    std::thread t([&] {
      FILE* p = ::popen(cmd.c_str(), "r");
      char buf[4096];
      size_t n = 0;
      while (p != nullptr && (n = std::fread(buf, 1, sizeof(buf), p)) > 0) {
        out.append(buf, n);
      }
      if (p != nullptr) {
        ::pclose(p);
      }
      done = true;
    });
    runUntil(io_, [&] { return done.load(); });
    t.join();
    return out;
  }

  boost::asio::io_context io_;
  std::filesystem::path dir_;
  Aws aws_[2];
  std::unique_ptr<CharonProcess> app_;
  config::Config config_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(DaemonCharonTest, TunnelsComeUpAndFollowConfigAndCharon) {
  startDaemon();
  ASSERT_TRUE(runUntil(
      io_, [&] { return up("aws-t1") && up("aws-t2"); }, std::chrono::seconds(20)))
      << daemon_->ike().statusJson().dump(2);

  // The status over the control socket (as `crossgate status --json` fetches it).
  std::optional<Result<json>> reply;
  std::thread client([&] {
    reply = mgmt::controlRequest(config_.mgmt.control_socket, {{"cmd", "status"}});
  });
  runUntil(io_, [&] { return reply.has_value(); });
  client.join();
  ASSERT_TRUE(reply->ok()) << reply->error().message;
  const json& status = reply->value();
  ASSERT_EQ(status["tunnels"].size(), 2u);
  for (const json& t : status["tunnels"]) {
    EXPECT_EQ(t["ike_state"], "ESTABLISHED") << t.dump();
    EXPECT_EQ(t["child_state"], "INSTALLED");
    EXPECT_EQ(t["up"], true);
    EXPECT_EQ(t["local_id"], kPublicIp);
    EXPECT_TRUE(t["last_error"].is_null());
    EXPECT_EQ(t["spi_in"].get<std::string>().size(), 8u);
    EXPECT_EQ(t["encryption"], "AES_GCM_16-256");
    EXPECT_TRUE(t["bytes_in"].is_number());
  }
  EXPECT_EQ(status["tunnels"][0]["aws_outside_ip"], "198.51.100.17");
  EXPECT_EQ(status["charon"]["connected"], true);
  struct stat st {};
  ASSERT_EQ(::stat(config_.mgmt.control_socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  // The CLI (`crossgate tunnels` / `status --json`) over the same socket.
  if (const char* bin = std::getenv("CROSSGATE_BIN")) {
    const std::string cli = std::string(bin) + "/crossgate";
    const std::string table =
        runCommand(cli + " tunnels --socket " + config_.mgmt.control_socket.string());
    EXPECT_NE(table.find("TUNNEL"), std::string::npos) << table;
    EXPECT_NE(table.find("aws-t2           198.51.100.21   ESTABLISHED"), std::string::npos)
        << table;
    const json cli_json = json::parse(
        runCommand(cli + " status --json --socket " + config_.mgmt.control_socket.string()),
        nullptr, false);
    ASSERT_TRUE(cli_json.is_object());
    EXPECT_EQ(cli_json["tunnels"][1]["up"], true);
  }

  // A changed PSK (both sides) re-establishes that tunnel only.
  const uint64_t t1 = ikeId("aws-t1");
  const uint64_t t2 = ikeId("aws-t2");
  loadResponder(1, "second-key-2");
  writePsk(1, "second-key-2");
  EXPECT_TRUE(daemon_->reload().empty());
  ASSERT_TRUE(runUntil(
      io_, [&] { return up("aws-t2") && ikeId("aws-t2") != t2; }, std::chrono::seconds(20)))
      << daemon_->ike().statusJson().dump(2);
  EXPECT_EQ(ikeId("aws-t1"), t1);
  EXPECT_TRUE(up("aws-t1"));
  EXPECT_EQ(daemon_->ike().loadCount("aws-t1"), 1u);
  EXPECT_EQ(daemon_->ike().loadCount("aws-t2"), 2u);

  // A reload without changes touches nothing.
  EXPECT_TRUE(daemon_->reload().empty());
  runUntil(
      io_, [] { return false; }, std::chrono::seconds(3));
  EXPECT_EQ(daemon_->ike().loadCount("aws-t1"), 1u);
  EXPECT_EQ(daemon_->ike().loadCount("aws-t2"), 2u);

  // A wrong PSK on the appliance: down, with the authentication error.
  writePsk(0, "wrong-key");
  EXPECT_TRUE(daemon_->reload().empty());
  ASSERT_TRUE(runUntil(
      io_,
      [&] {
        const json t = tunnel("aws-t1");
        return !t.value("up", true) && t["last_error"].is_string() &&
               t["last_error"].get<std::string>().find("AUTHENTICATION_FAILED") !=
                   std::string::npos;
      },
      std::chrono::seconds(20)))
      << daemon_->ike().statusJson().dump(2);
  EXPECT_TRUE(up("aws-t2"));

  // Fixed again: back up without operator action beyond the reload.
  writePsk(0, "initial-key-1");
  EXPECT_TRUE(daemon_->reload().empty());
  ASSERT_TRUE(runUntil(
      io_, [&] { return up("aws-t1"); }, std::chrono::seconds(20)))
      << daemon_->ike().statusJson().dump(2);
  EXPECT_TRUE(tunnel("aws-t1")["last_error"].is_null());

  // The appliance's charon restarts: crossgated reconnects, reloads, both come back.
  app_->stop();
  ASSERT_TRUE(runUntil(
      io_, [&] { return !up("aws-t1") && !up("aws-t2"); }, std::chrono::seconds(10)));
  ASSERT_TRUE(app_->start());
  ASSERT_TRUE(runUntil(
      io_, [&] { return up("aws-t1") && up("aws-t2"); }, std::chrono::seconds(30)))
      << daemon_->ike().statusJson().dump(2);
}

TEST_F(DaemonCharonTest, InvalidReloadKeepsTheRunningConfiguration) {
  startDaemon();
  ASSERT_TRUE(runUntil(
      io_, [&] { return up("aws-t1") && up("aws-t2"); }, std::chrono::seconds(20)));
  std::filesystem::remove(pskPath(1));
  auto problems = daemon_->reload();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("t2.psk"), std::string::npos) << problems[0];
  runUntil(
      io_, [] { return false; }, std::chrono::seconds(3));
  EXPECT_TRUE(up("aws-t1"));
  EXPECT_TRUE(up("aws-t2"));
  EXPECT_EQ(daemon_->ike().loadCount("aws-t2"), 1u);
}

}  // namespace
}  // namespace crossgate::mgmtd
