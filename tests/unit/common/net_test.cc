#include "crossgate/common/net.h"

#include <gtest/gtest.h>

namespace crossgate {
namespace {

TEST(IpAddress, ParsesStrictIpv4) {
  auto ip = IpAddress::parse("192.0.2.10");
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->isV4());
  EXPECT_EQ(ip->v4HostOrder(), 0xC000020Au);
  EXPECT_EQ(ip->toString(), "192.0.2.10");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d",
                          "1..2.3", "1.2.3.", "YOUR_UPLINK_ADDRESS"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(IpAddress, ParsesIpv6) {
  auto ip = IpAddress::parse("fd00::1");
  ASSERT_TRUE(ip);
  EXPECT_FALSE(ip->isV4());
  EXPECT_EQ(ip->toString(), "fd00::1");
  EXPECT_FALSE(IpAddress::parse("fd00::1::2"));
  EXPECT_FALSE(IpAddress::parse(std::string_view("::1\0junk", 9)));
}

TEST(Cidr, ParsesAndRejectsHostBits) {
  std::string error;
  auto c = Cidr::parse("169.254.44.0/30", false, &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->prefixLen(), 30);
  EXPECT_FALSE(Cidr::parse("169.254.44.2/30", false, &error));
  EXPECT_EQ(error, "host bits are set; did you mean 169.254.44.0/30?");
  EXPECT_TRUE(Cidr::parse("169.254.44.2/30", true));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33", false, &error));
  EXPECT_EQ(error, "prefix length '33' must be 0..32");
  EXPECT_FALSE(Cidr::parse("10.0.0.0", false, &error));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/", false, &error));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/08", false, &error));
}

TEST(Cidr, ContainsAndOverlaps) {
  auto a = *Cidr::parse("10.10.0.0/16");
  auto b = *Cidr::parse("10.10.1.0/24");
  auto c = *Cidr::parse("10.20.0.0/16");
  EXPECT_TRUE(a.contains(b));
  EXPECT_FALSE(b.contains(a));
  EXPECT_TRUE(a.overlaps(b));
  EXPECT_TRUE(b.overlaps(a));
  EXPECT_FALSE(a.overlaps(c));
  EXPECT_TRUE(a.contains(*IpAddress::parse("10.10.255.255")));
  EXPECT_FALSE(a.contains(*IpAddress::parse("10.11.0.0")));
  EXPECT_FALSE(a.contains(*IpAddress::parse("::1")));
}

}  // namespace
}  // namespace crossgate
