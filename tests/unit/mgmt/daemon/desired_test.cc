#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "crossgate/mgmt/daemon/daemon.h"
#include "crossgate/mgmt/daemon/ike_manager.h"

namespace crossgate::mgmtd {
namespace {

class DesiredTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cgt-ike-cfg-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.appliance.public_ip = *IpAddress::parse("203.0.113.10");
    config::Vpn vpn;
    vpn.name = "aws-prod";
    for (int i = 1; i <= 2; ++i) {
      config::Tunnel t;
      t.name = "aws-prod-t" + std::to_string(i);
      t.aws_outside_ip = *IpAddress::parse("198.51.100." + std::to_string(16 + i));
      t.if_id = static_cast<uint32_t>(i);
      t.psk_file = dir_ / (t.name + ".psk");
      std::ofstream(t.psk_file) << "key-" << i << "\n";
      vpn.tunnels.push_back(t);
    }
    config_.vpns.push_back(vpn);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  config::Config config_;
};

TEST_F(DesiredTest, OneDesiredTunnelPerConfiguredTunnel) {
  std::vector<std::string> errors;
  auto desired = desiredTunnels(config_, &errors);
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(desired.size(), 2u);
  EXPECT_EQ(desired[1].name, "aws-prod-t2");
  EXPECT_EQ(desired[1].aws_outside_ip, "198.51.100.18");
  EXPECT_EQ(desired[1].if_id, 2u);
  EXPECT_EQ(desired[1].secret_id, "crossgate-psk-aws-prod-t2");
  EXPECT_EQ(desired[1].psk.view(), "key-2");
  EXPECT_EQ(desired[1].load_shared.value("data"), "key-2");
  ASSERT_NE(desired[1].load_conn.section("aws-prod-t2"), nullptr);
  DesiredTunnel copy = desired[1].clone();
  EXPECT_TRUE(copy.psk.equals(desired[1].psk));
  EXPECT_EQ(copy.load_conn, desired[1].load_conn);
}

TEST_F(DesiredTest, UnreadablePskFailsTheWholeSet) {
  std::filesystem::remove(config_.vpns[0].tunnels[1].psk_file);
  std::vector<std::string> errors;
  auto desired = desiredTunnels(config_, &errors);
  EXPECT_TRUE(desired.empty());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("tunnel aws-prod-t2: "), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("aws-prod-t2.psk"), std::string::npos) << errors[0];
}

TEST(Diagnostics, FormatLikeTheLoader) {
  config::Diagnostic d{"/etc/crossgate/crossgate.toml", 12, 3, "vpn[0].tunnel[1].psk_file",
                       "not readable"};
  EXPECT_EQ(formatDiagnostic(d),
            "/etc/crossgate/crossgate.toml:12:3: vpn[0].tunnel[1].psk_file: not readable");
  d.line = 0;
  d.key_path.clear();
  EXPECT_EQ(formatDiagnostic(d), "/etc/crossgate/crossgate.toml: not readable");
}

}  // namespace
}  // namespace crossgate::mgmtd
