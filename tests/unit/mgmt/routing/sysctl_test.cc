#include "crossgate/mgmt/sysctl.h"

#include <gtest/gtest.h>

#include <fstream>

namespace crossgate::routing {
namespace {

TEST(Sysctl, RoutingValues) {
  MemorySysctl s;
  ASSERT_TRUE(applyRoutingSysctls(s, {"cgt1", "cgt2"}));
  EXPECT_EQ(s.values["net.ipv4.ip_forward"], "1");
  EXPECT_EQ(s.values["net.ipv4.conf.cgt1.rp_filter"], "2");
  EXPECT_EQ(s.values["net.ipv4.conf.cgt2.rp_filter"], "2");
  EXPECT_FALSE(applyRoutingSysctls(s, {"bad.name"}));
}

TEST(Sysctl, ProcWritesUnderRoot) {
  auto root =
      std::filesystem::temp_directory_path() / ("cgt-rt-sysctl-" + std::to_string(getpid()));
  std::filesystem::create_directories(root / "net/ipv4/conf/cgt1");
  { std::ofstream(root / "net/ipv4/ip_forward") << "0\n"; }
  { std::ofstream(root / "net/ipv4/conf/cgt1/rp_filter") << "1\n"; }
  ProcSysctl s(root);
  ASSERT_TRUE(applyRoutingSysctls(s, {"cgt1"}));
  EXPECT_EQ(*s.read("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(*s.read("net.ipv4.conf.cgt1.rp_filter"), "2");
  auto missing = applyRoutingSysctls(s, {"cgt9"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cgt9"), std::string::npos);
  EXPECT_FALSE(s.write("net/../../etc", "1"));
  EXPECT_FALSE(s.write("net..ipv4", "1"));
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace crossgate::routing
