// The VICI client and the tunnel mapping against a real charon 5.9.8 (needs root: charon runs
// in its own network and mount namespace, see testing/charon_process.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "crossgate/ikev2/tunnel_mapping.h"
#include "crossgate/ikev2/vici_client.h"
#include "testing/await.h"
#include "testing/charon_process.h"

namespace crossgate::vici {
namespace {

using crossgate::testing::await;
using crossgate::testing::CharonProcess;
using crossgate::testing::runUntil;

config::Appliance appliance() {
  config::Appliance a;
  a.public_ip = *IpAddress::parse("203.0.113.10");
  return a;
}

config::Tunnel tunnel(const std::string& name, const std::string& ip, uint32_t if_id) {
  config::Tunnel t;
  t.name = name;
  t.aws_outside_ip = *IpAddress::parse(ip);
  t.if_id = if_id;
  t.ike_proposals = {"aes256gcm16-prfsha384-ecp384", "aes128-sha1-modp2048"};
  t.esp_proposals = {"aes256gcm16-ecp384", "aes128-sha1-modp2048"};
  return t;
}

class CharonViciTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(charon_.start()) << charon_.log();
    ASSERT_TRUE(await(io_, conn_.connect(charon_.socketPath())).ok());
  }
  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "---- charon log ----\n%s\n", charon_.log().c_str());
    }
  }

  Message request(const std::string& cmd, const Message& m = {}) {
    auto r = await(io_, conn_.request(cmd, m));
    EXPECT_TRUE(r.ok()) << cmd << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r).value() : Message();
  }

  std::vector<Message> streamed(const std::string& cmd, const std::string& event,
                                const Message& m = {}) {
    std::vector<Message> events;
    auto r = await(
        io_, conn_.streamedRequest(cmd, event, m, [&](const Message& e) { events.push_back(e); }));
    EXPECT_TRUE(r.ok()) << cmd << ": " << (r.ok() ? "" : r.error().message);
    return events;
  }

  void loadTunnel(const config::Tunnel& t) {
    const Secret psk("a-test-key-for-" + t.name);
    Message shared = ikev2::buildLoadShared(appliance(), t, psk);
    EXPECT_EQ(request("load-shared", shared).value("success"), "yes");
    auto conn = ikev2::buildLoadConn(appliance(), t);
    ASSERT_TRUE(conn.ok());
    Message reply = request("load-conn", *conn);
    EXPECT_EQ(reply.value("success"), "yes") << reply.toString();
  }

  CharonProcess charon_;
  asio::io_context io_;
  Connection conn_{io_.get_executor()};
};

TEST_F(CharonViciTest, VersionAndStats) {
  Message version = request("version");
  EXPECT_EQ(version.value("daemon"), "charon");
  EXPECT_EQ(version.value("version"), "5.9.8");
  Message stats = request("stats");
  ASSERT_NE(stats.section("ikesas"), nullptr) << stats.toString();
  EXPECT_EQ(stats.section("ikesas")->value("total"), "0");
  ASSERT_NE(stats.list("plugins"), nullptr);
  const auto& plugins = *stats.list("plugins");
  for (const char* p : {"vici", "kernel-libipsec", "kernel-netlink", "socket-default"}) {
    EXPECT_NE(std::find(plugins.begin(), plugins.end(), p), plugins.end()) << p;
  }
  ASSERT_NE(stats.section("uptime"), nullptr);
  EXPECT_TRUE(stats.section("uptime")->value("since").has_value());
}

TEST_F(CharonViciTest, UnknownCommandIsAnError) {
  auto r = await(io_, conn_.request("no-such-command"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  // The connection stays usable.
  EXPECT_EQ(request("version").value("daemon"), "charon");
  auto reg = await(io_, conn_.registerEvent("no-such-event"));
  ASSERT_FALSE(reg.ok());
  EXPECT_EQ(reg.error().code, Errc::kNotFound);
  EXPECT_EQ(request("version").value("daemon"), "charon");
}

TEST_F(CharonViciTest, LoadsListsAndUnloadsTunnels) {
  loadTunnel(tunnel("aws-t1", "198.51.100.17", 1));
  loadTunnel(tunnel("aws-t2", "198.51.100.18", 2));

  Message conns = request("get-conns");
  ASSERT_NE(conns.list("conns"), nullptr);
  EXPECT_EQ(*conns.list("conns"), (std::vector<std::string>{"aws-t1", "aws-t2"}));

  std::vector<Message> listed = streamed("list-conns", "list-conn");
  ASSERT_EQ(listed.size(), 2u);
  const Section* t2 = listed[1].section("aws-t2");
  ASSERT_NE(t2, nullptr) << listed[1].toString();
  ASSERT_NE(t2->list("remote_addrs"), nullptr);
  EXPECT_EQ(t2->list("remote_addrs")->front(), "198.51.100.18");
  EXPECT_EQ(t2->valueOr("unique", ""), "UNIQUE_REPLACE");
  EXPECT_EQ(t2->valueOr("dpd_delay", ""), "10");
  ASSERT_NE(t2->section("children"), nullptr);
  const Section* child = t2->section("children")->section("aws-t2");
  ASSERT_NE(child, nullptr) << t2->toString();
  EXPECT_EQ(child->valueOr("rekey_time", ""), "3240");
  EXPECT_EQ(child->valueOr("mode", ""), "TUNNEL");
  // charon 5.9.8's list-conn names ACTION_RESTART "start" (action_names).
  EXPECT_EQ(child->valueOr("dpd_action", ""), "start") << child->toString();
  EXPECT_EQ(child->valueOr("close_action", ""), "start");
  EXPECT_EQ(t2->section("local-1") != nullptr ? t2->section("local-1")->valueOr("id", "") : "",
            "203.0.113.10")
      << t2->toString();

  Message shared = request("get-shared");
  ASSERT_NE(shared.list("keys"), nullptr) << shared.toString();
  std::vector<std::string> keys = *shared.list("keys");
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"crossgate-psk-aws-t1", "crossgate-psk-aws-t2"}));

  // start_action = start: charon initiates at once; list-sas streams the CONNECTING IKE_SAs.
  std::vector<Message> sas;
  ASSERT_TRUE(runUntil(io_, [&] {
    Message noblock;
    noblock.add("noblock", "yes");
    sas = streamed("list-sas", "list-sa", noblock);
    return sas.size() == 2;
  }));
  for (const Message& sa : sas) {
    ASSERT_EQ(sa.size(), 1u);
    const Entry& ike = sa.entries().front();
    EXPECT_TRUE(ike.name == "aws-t1" || ike.name == "aws-t2") << ike.name;
    EXPECT_EQ(ike.section.valueOr("state", ""), "CONNECTING") << sa.toString();
    EXPECT_EQ(ike.section.valueOr("remote-host", ""),
              ike.name == "aws-t1" ? "198.51.100.17" : "198.51.100.18");
    EXPECT_EQ(ike.section.valueOr("if-id-in", ""), ike.name == "aws-t1" ? "00000001" : "00000002");
  }

  Message unload;
  unload.add("name", "aws-t1");
  EXPECT_EQ(request("unload-conn", unload).value("success"), "yes");
  Message unshare;
  unshare.add("id", "crossgate-psk-aws-t1");
  EXPECT_EQ(request("unload-shared", unshare).value("success"), "yes");
  conns = request("get-conns");
  EXPECT_EQ(*conns.list("conns"), (std::vector<std::string>{"aws-t2"}));
  shared = request("get-shared");
  EXPECT_EQ(*shared.list("keys"), (std::vector<std::string>{"crossgate-psk-aws-t2"}));
}

TEST_F(CharonViciTest, BadProposalIsReportedByCharon) {
  config::Tunnel t = tunnel("aws-bad", "198.51.100.19", 3);
  t.ike_proposals = {"aes999-nonsense"};
  auto conn = ikev2::buildLoadConn(appliance(), t);
  ASSERT_TRUE(conn.ok());
  Message reply = request("load-conn", *conn);
  EXPECT_EQ(reply.value("success"), "no");
  EXPECT_NE(reply.valueOr("errmsg", "").find("proposals"), std::string::npos) << reply.toString();
}

TEST_F(CharonViciTest, EventsAndReconnectAfterCharonRestart) {
  int connected = 0;
  int disconnected = 0;
  std::vector<std::string> logs;
  EventMonitor monitor(
      io_.get_executor(), charon_.socketPath(), defaultEvents(),
      {.on_connected = [&] { ++connected; },
       .on_disconnected = [&](const Error&) { ++disconnected; },
       .on_event =
           [&](const std::string& name, const Message& m) {
             if (name == "log") {
               logs.push_back(m.valueOr("ikesa-name", "") + ": " + m.valueOr("msg", ""));
             }
           }});
  monitor.start();
  ASSERT_TRUE(runUntil(io_, [&] { return connected == 1; }));
  EXPECT_TRUE(monitor.connected());

  auto saw = [&](const std::string& text) {
    return std::any_of(logs.begin(), logs.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  loadTunnel(tunnel("aws-t1", "198.51.100.17", 1));
  ASSERT_TRUE(runUntil(io_, [&] { return saw("aws-t1: initiating IKE_SA aws-t1[1]"); }))
      << ::testing::PrintToString(logs);

  // charon goes away: the monitor notices, retries with backoff, re-registers on its return.
  charon_.stop();
  conn_.close();
  ASSERT_TRUE(runUntil(io_, [&] { return disconnected == 1; }));
  EXPECT_FALSE(monitor.connected());
  ASSERT_TRUE(charon_.start());
  ASSERT_TRUE(runUntil(io_, [&] { return connected == 2; }));
  ASSERT_TRUE(await(io_, conn_.connect(charon_.socketPath())).ok());
  logs.clear();
  loadTunnel(tunnel("aws-t2", "198.51.100.18", 2));
  ASSERT_TRUE(runUntil(io_, [&] { return saw("aws-t2: initiating IKE_SA aws-t2[1]"); }))
      << ::testing::PrintToString(logs);
  monitor.stop();
}

}  // namespace
}  // namespace crossgate::vici
