#include "crossgate/ikev2/tunnel_mapping.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace crossgate::ikev2 {
namespace {

config::Appliance appliance() {
  config::Appliance a;
  a.name = "crossgate-1";
  a.public_ip = *IpAddress::parse("203.0.113.10");
  return a;
}

config::Tunnel tunnel() {
  config::Tunnel t;
  t.name = "aws-prod-t2";
  t.aws_outside_ip = *IpAddress::parse("198.51.100.18");
  t.if_id = 2;
  t.ike_proposals = {"aes256gcm16-prfsha384-ecp384", "aes128-sha1-modp1024"};
  t.esp_proposals = {"aes256gcm16-ecp384", "aes128-sha1-modp1024"};
  t.ike_lifetime_s = 28800;
  t.esp_lifetime_s = 3600;
  t.dpd_interval_s = 10;
  t.replay_window = 1024;
  return t;
}

TEST(TunnelMapping, LoadConnIsExactlyTheAwsProfile) {
  auto built = buildLoadConn(appliance(), tunnel());
  ASSERT_TRUE(built.ok()) << built.error().message;

  vici::Message expected;
  vici::Section& conn = expected.addSection("aws-prod-t2");
  conn.add("version", "2");
  conn.addList("remote_addrs", {"198.51.100.18"});
  conn.addList("proposals", {"aes256gcm16-prfsha384-ecp384", "aes128-sha1-modp1024"});
  conn.add("encap", "yes");
  conn.add("mobike", "no");
  conn.add("unique", "replace");
  conn.add("dpd_delay", "10");
  conn.add("keyingtries", "0");
  conn.add("rekey_time", "25920");  // 90% of 28800: before AWS
  conn.add("over_time", "2880");    // hard IKE lifetime = 28800, never beyond AWS's
  conn.add("rand_time", "1440");
  conn.add("reauth_time", "0");
  conn.add("if_id_in", "2");
  conn.add("if_id_out", "2");
  conn.addSection("local").add("auth", "psk").add("id", "203.0.113.10");
  conn.addSection("remote").add("auth", "psk").add("id", "198.51.100.18");
  vici::Section& child = conn.addSection("children").addSection("aws-prod-t2");
  child.add("mode", "tunnel");
  child.addList("esp_proposals", {"aes256gcm16-ecp384", "aes128-sha1-modp1024"});
  child.addList("local_ts", {"0.0.0.0/0"});
  child.addList("remote_ts", {"0.0.0.0/0"});
  child.add("rekey_time", "3240");
  child.add("life_time", "3600");
  child.add("rand_time", "180");
  child.add("start_action", "start");
  child.add("dpd_action", "restart");
  child.add("close_action", "restart");
  child.add("if_id_in", "2");
  child.add("if_id_out", "2");
  child.add("replay_window", "1024");

  EXPECT_EQ(*built, expected) << built->toString() << "\n" << expected.toString();
  std::vector<uint8_t> wire;
  EXPECT_TRUE(vici::encodeMessage(*built, wire).ok());
}

TEST(TunnelMapping, RekeysBeforeAwsForOtherLifetimes) {
  config::Tunnel t = tunnel();
  t.ike_lifetime_s = 3600;
  t.esp_lifetime_s = 900;
  const Lifetimes l = computeLifetimes(t);
  EXPECT_EQ(l.ike_rekey_s, 3240u);
  EXPECT_EQ(l.ike_rekey_s + l.ike_over_s, 3600u);
  EXPECT_LT(l.ike_rand_s, l.ike_rekey_s);
  EXPECT_EQ(l.child_rekey_s, 810u);
  EXPECT_EQ(l.child_life_s, 900u);
  EXPECT_EQ(l.child_rand_s, 45u);
}

TEST(TunnelMapping, RejectsUnusableTunnels) {
  config::Tunnel t = tunnel();
  t.if_id = 0;
  EXPECT_FALSE(buildLoadConn(appliance(), t).ok());
  t = tunnel();
  t.name = std::string(256, 'a');
  EXPECT_FALSE(buildLoadConn(appliance(), t).ok());
}

TEST(TunnelMapping, LoadSharedOwnersAndMaskedKey) {
  const Secret psk("s3cr3t.Key_1");
  vici::Message m = buildLoadShared(appliance(), tunnel(), psk);
  EXPECT_EQ(m.value("id"), "crossgate-psk-aws-prod-t2");
  EXPECT_EQ(m.value("type"), "IKE");
  EXPECT_EQ(m.value("data"), "s3cr3t.Key_1");
  ASSERT_NE(m.list("owners"), nullptr);
  EXPECT_EQ(*m.list("owners"), (std::vector<std::string>{"203.0.113.10", "198.51.100.18"}));
  EXPECT_EQ(m.toString().find("s3cr3t"), std::string::npos);
}

class PskFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cgt-ike-psk-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& name, const std::string& content) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::filesystem::path dir_;
};

TEST_F(PskFileTest, ReadsKeyAndDropsOneNewline) {
  auto a = readPskFile(write("a.psk", "abc.DEF_123\n"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->view(), "abc.DEF_123");
  auto b = readPskFile(write("b.psk", "key\r\n"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->view(), "key");
  auto c = readPskFile(write("c.psk", "nonewline"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->view(), "nonewline");
}

TEST_F(PskFileTest, ErrorsNameTheFileNotTheKey) {
  auto empty = readPskFile(write("e.psk", "\n"));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("e.psk: PSK file is empty"), std::string::npos);
  auto big = readPskFile(write("big.psk", std::string(5000, 'k')));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message.find("kkkk"), std::string::npos);
  auto missing = readPskFile(dir_ / "missing.psk");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing.psk"), std::string::npos);
  auto dir = readPskFile(dir_);
  EXPECT_FALSE(dir.ok());
}

}  // namespace
}  // namespace crossgate::ikev2
