#include "crossgate/ikev2/vici_message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace crossgate::vici {
namespace {

std::vector<uint8_t> bytesOf(std::initializer_list<int> values) {
  std::vector<uint8_t> out;
  for (int v : values) {
    out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

void putString(std::vector<uint8_t>& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}

// The worked example of strongSwan's vici README ("Encoding example").
std::vector<uint8_t> readmeExampleBytes() {
  std::vector<uint8_t> b;
  auto put = [&](std::initializer_list<int> v) {
    auto x = bytesOf(v);
    b.insert(b.end(), x.begin(), x.end());
  };
  put({3, 4});
  putString(b, "key1");
  put({0, 6});
  putString(b, "value1");
  put({1, 8});
  putString(b, "section1");
  put({1, 11});
  putString(b, "sub-section");
  put({3, 4});
  putString(b, "key2");
  put({0, 6});
  putString(b, "value2");
  put({2});
  put({4, 5});
  putString(b, "list1");
  put({5, 0, 5});
  putString(b, "item1");
  put({5, 0, 5});
  putString(b, "item2");
  put({6});
  put({2});
  return b;
}

Message readmeExampleMessage() {
  Message m;
  m.add("key1", "value1");
  Section& s1 = m.addSection("section1");
  s1.addSection("sub-section").add("key2", "value2");
  s1.addList("list1", {"item1", "item2"});
  return m;
}

TEST(ViciMessage, EncodesReadmeExample) {
  std::vector<uint8_t> out;
  ASSERT_TRUE(encodeMessage(readmeExampleMessage(), out).ok());
  EXPECT_EQ(out, readmeExampleBytes());
}

TEST(ViciMessage, DecodesReadmeExample) {
  auto m = decodeMessage(readmeExampleBytes());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(*m, readmeExampleMessage());
  EXPECT_EQ(m->value("key1"), "value1");
  ASSERT_NE(m->section("section1"), nullptr);
  const Section* sub = m->section("section1")->section("sub-section");
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->value("key2"), "value2");
  const auto* list = m->section("section1")->list("list1");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(*list, (std::vector<std::string>{"item1", "item2"}));
  EXPECT_EQ(m->toString(),
            "{key1=value1 section1={sub-section={key2=value2} list1=[item1, item2]}}");
}

TEST(ViciMessage, EmptyMessageAndEmptyList) {
  auto empty = decodeMessage({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  Message m;
  m.addList("conns", {});
  std::vector<uint8_t> out;
  ASSERT_TRUE(encodeMessage(m, out).ok());
  EXPECT_EQ(out, bytesOf({4, 5, 'c', 'o', 'n', 'n', 's', 6}));
  auto back = decodeMessage(out);
  ASSERT_TRUE(back.ok());
  ASSERT_NE(back->list("conns"), nullptr);
  EXPECT_TRUE(back->list("conns")->empty());
}

TEST(ViciMessage, EncodeRejectsOverlongNameAndValue) {
  std::vector<uint8_t> out{9};
  Message name_too_long;
  name_too_long.add(std::string(256, 'n'), "v");
  auto s = encodeMessage(name_too_long, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("name of 256 bytes"), std::string::npos);
  EXPECT_EQ(out, std::vector<uint8_t>{9});  // untouched on failure

  Message at_limit;
  at_limit.add(std::string(255, 'n'), std::string(65535, 'v'));
  EXPECT_TRUE(encodeMessage(at_limit, out).ok());

  Message value_too_long;
  value_too_long.add("k", std::string(65536, 'v'));
  EXPECT_FALSE(encodeMessage(value_too_long, out).ok());
  Message item_too_long;
  item_too_long.addList("l", {std::string(65536, 'v')});
  EXPECT_FALSE(encodeMessage(item_too_long, out).ok());
}

TEST(ViciMessage, EncodeRejectsDuplicatesAndOversizedMessages) {
  Message dup;
  dup.add("a", "1");
  dup.addList("a", {});
  std::vector<uint8_t> out;
  auto s = encodeMessage(dup, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("a: duplicate name"), std::string::npos);

  Message big;
  for (int i = 0; i < 9; ++i) {
    big.add("k" + std::to_string(i), std::string(60000, 'x'));
  }
  auto p = encodePacket(Packet{PacketType::kCmdRequest, "load-conn", big});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("524288"), std::string::npos);
}

TEST(ViciMessage, EncodeRejectsDeepNesting) {
  Message m;
  Section* s = &m;
  for (size_t i = 0; i < kMaxDepth; ++i) {
    s = &s->addSection("s");
  }
  std::vector<uint8_t> out;
  EXPECT_FALSE(encodeMessage(m, out).ok());
}

struct BadCase {
  const char* what;
  std::vector<uint8_t> bytes;
  const char* expect;
};

TEST(ViciMessage, DecodeRejectsInvalidMessages) {
  const std::vector<BadCase> cases = {
      {"unknown element", bytesOf({0}), "unknown element type 0"},
      {"element 7", bytesOf({7}), "unknown element type 7"},
      {"truncated name", bytesOf({3, 4, 'k'}), "truncated name"},
      {"truncated value", bytesOf({3, 1, 'k', 0, 5, 'v'}), "truncated value"},
      {"missing value length", bytesOf({3, 1, 'k', 0}), "truncated value"},
      {"section not closed", bytesOf({1, 1, 's'}), "section not closed"},
      {"stray section end", bytesOf({2}), "section end without a section"},
      {"list not closed", bytesOf({4, 1, 'l', 5, 0, 0}), "list not closed"},
      {"nested list", bytesOf({4, 1, 'l', 4, 1, 'm', 6, 6}), "inside a list"},
      {"key in list", bytesOf({4, 1, 'l', 3, 1, 'k', 0, 0, 6}), "inside a list"},
      {"section in list", bytesOf({4, 1, 'l', 1, 1, 's', 2, 6}), "inside a list"},
      {"item outside list", bytesOf({5, 0, 0}), "list item outside a list"},
      {"list end outside", bytesOf({6}), "list end outside a list"},
      {"duplicate key", bytesOf({3, 1, 'k', 0, 0, 3, 1, 'k', 0, 0}), "duplicate name 'k'"},
      {"duplicate section", bytesOf({1, 1, 's', 2, 1, 1, 's', 2}), "duplicate name 's'"},
  };
  for (const auto& c : cases) {
    auto m = decodeMessage(c.bytes);
    ASSERT_FALSE(m.ok()) << c.what;
    EXPECT_NE(m.error().message.find(c.expect), std::string::npos)
        << c.what << ": " << m.error().message;
  }
}

TEST(ViciMessage, SameKeyInDifferentSectionsIsFine) {
  auto m = decodeMessage(bytesOf({3, 1, 'k', 0, 0, 1, 1, 's', 3, 1, 'k', 0, 1, 'x', 2}));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->section("s")->value("k"), "x");
}

TEST(ViciMessage, DecodeLimitsDepth) {
  std::vector<uint8_t> deep;
  for (size_t i = 0; i < kMaxDepth; ++i) {
    deep.insert(deep.end(), {1, 1, 's'});
  }
  deep.insert(deep.end(), kMaxDepth, 2);
  auto m = decodeMessage(deep);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("nest deeper"), std::string::npos);
  // One level less decodes.
  std::vector<uint8_t> ok;
  for (size_t i = 0; i + 1 < kMaxDepth; ++i) {
    ok.insert(ok.end(), {1, 1, 's'});
  }
  ok.insert(ok.end(), kMaxDepth - 1, 2);
  EXPECT_TRUE(decodeMessage(ok).ok());
}

TEST(ViciPacket, EncodesNamedRequestWithLengthPrefix) {
  Message m;
  m.add("a", "b");
  auto p = encodePacket(Packet{PacketType::kCmdRequest, "version", m});
  ASSERT_TRUE(p.ok());
  auto expected = bytesOf({0, 0, 0, 15, 0, 7});
  putString(expected, "version");
  auto tail = bytesOf({3, 1, 'a', 0, 1, 'b'});
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_EQ(*p, expected);

  auto back = decodePacket(std::span<const uint8_t>(*p).subspan(4));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->type, PacketType::kCmdRequest);
  EXPECT_EQ(back->name, "version");
  EXPECT_EQ(back->message, m);
}

TEST(ViciPacket, RegisterAndConfirmPackets) {
  auto reg = encodePacket(Packet{PacketType::kEventRegister, "log", {}});
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ(*reg, bytesOf({0, 0, 0, 5, 3, 3, 'l', 'o', 'g'}));
  auto confirm = decodePacket(bytesOf({5}));
  ASSERT_TRUE(confirm.ok());
  EXPECT_EQ(confirm->type, PacketType::kEventConfirm);
  auto bad = decodePacket(bytesOf({5, 0}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("trailing"), std::string::npos);
}

TEST(ViciPacket, DecodeRejectsBrokenPackets) {
  EXPECT_FALSE(decodePacket({}).ok());
  EXPECT_FALSE(decodePacket(bytesOf({8})).ok());
  EXPECT_FALSE(decodePacket(bytesOf({7})).ok());               // named, no name length
  EXPECT_FALSE(decodePacket(bytesOf({7, 3, 'l', 'o'})).ok());  // truncated name
  EXPECT_FALSE(decodePacket(bytesOf({1, 2})).ok());            // response with a bad message
  std::vector<uint8_t> huge(kMaxPacketSize + 1, 0);
  huge[0] = 1;
  EXPECT_FALSE(decodePacket(huge).ok());
  auto ev = decodePacket(bytesOf({7, 1, 'e'}));
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->name, "e");
  EXPECT_TRUE(ev->message.empty());
}

TEST(ViciMessage, SecretsAreMaskedInToString) {
  Message m;
  m.add("type", "IKE").addSecret("data", "hunter2").addList("owners", {"a", "b"});
  EXPECT_EQ(m.toString(), "{type=IKE data=*** owners=[a, b]}");
  std::vector<uint8_t> out;
  ASSERT_TRUE(encodeMessage(m, out).ok());
  wipe(out);
  for (uint8_t b : out) {
    EXPECT_EQ(b, 0);
  }
}

TEST(ViciMessage, ParseBool) {
  EXPECT_EQ(parseBool("yes"), true);
  EXPECT_EQ(parseBool("enabled"), true);
  EXPECT_EQ(parseBool("0"), false);
  EXPECT_EQ(parseBool("no"), false);
  EXPECT_EQ(parseBool("maybe"), std::nullopt);
}

}  // namespace
}  // namespace crossgate::vici
