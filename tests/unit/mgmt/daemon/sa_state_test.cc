#include "crossgate/mgmt/daemon/sa_state.h"

#include <gtest/gtest.h>

namespace crossgate::mgmtd {
namespace {

// A list-sa event as charon 5.9.8 streams it (fields of vici_query.c), trimmed.
vici::Message listSaEvent(const std::string& name, uint64_t id, const std::string& ike_state,
                          const std::string& child_state) {
  vici::Message m;
  vici::Section& ike = m.addSection(name);
  ike.add("uniqueid", std::to_string(id)).add("version", "2").add("state", ike_state);
  ike.add("local-host", "10.0.0.4").add("local-port", "4500").add("local-id", "203.0.113.10");
  ike.add("remote-host", "198.51.100.17").add("remote-port", "4500");
  ike.add("remote-id", "198.51.100.17").add("initiator", "yes");
  ike.add("nat-local", "yes").add("nat-any", "yes");
  ike.add("encr-alg", "AES_GCM_16").add("encr-keysize", "256").add("prf-alg", "PRF_HMAC_SHA2_384");
  ike.add("dh-group", "ECP_384").add("established", "321").add("rekey-time", "25000");
  ike.addList("tasks-queued", {});
  vici::Section& children = ike.addSection("child-sas");
  vici::Section& c = children.addSection(name + "-" + std::to_string(id + 1));
  c.add("name", name).add("uniqueid", std::to_string(id + 1)).add("reqid", "1");
  c.add("state", child_state).add("mode", "TUNNEL").add("protocol", "ESP").add("encap", "yes");
  c.add("spi-in", "c1a2b3c4").add("spi-out", "0fa1b2c3");
  c.add("encr-alg", "AES_GCM_16").add("encr-keysize", "256").add("dh-group", "ECP_384");
  c.add("bytes-in", "1048576").add("packets-in", "1024").add("bytes-out", "2048");
  c.add("packets-out", "16").add("rekey-time", "3000").add("life-time", "3500");
  c.add("install-time", "100");
  c.addList("local-ts", {"0.0.0.0/0"});
  c.addList("remote-ts", {"0.0.0.0/0"});
  return m;
}

TEST(SaState, ParsesListSaEvent) {
  auto sas = parseIkeSas(listSaEvent("aws-t1", 5, "ESTABLISHED", "INSTALLED"));
  ASSERT_EQ(sas.size(), 1u);
  const IkeSaInfo& ike = sas[0];
  EXPECT_EQ(ike.name, "aws-t1");
  EXPECT_EQ(ike.uniqueid, 5u);
  EXPECT_EQ(ike.state, "ESTABLISHED");
  EXPECT_EQ(ike.local_port, 4500);
  EXPECT_TRUE(ike.nat_local);
  EXPECT_FALSE(ike.nat_remote);
  EXPECT_EQ(ike.encryption, "AES_GCM_16-256");
  EXPECT_EQ(ike.established_s, 321);
  ASSERT_EQ(ike.children.size(), 1u);
  const ChildSaInfo& c = ike.children[0];
  EXPECT_EQ(c.name, "aws-t1");
  EXPECT_EQ(c.state, "INSTALLED");
  EXPECT_EQ(c.bytes_in, 1048576u);
  EXPECT_EQ(c.packets_out, 16u);
  EXPECT_EQ(c.rekey_in_s, 3000);
  EXPECT_TRUE(c.encap);
}

TEST(SaState, UpdownEventSkipsTheUpFlag) {
  vici::Message m = listSaEvent("aws-t2", 9, "ESTABLISHED", "INSTALLED");
  m.add("up", "yes");
  auto sas = parseIkeSas(m);
  ASSERT_EQ(sas.size(), 1u);
  EXPECT_EQ(sas[0].name, "aws-t2");
}

TEST(SaState, MalformedNumbersAreIgnored) {
  vici::Message m;
  m.addSection("t").add("uniqueid", "12x").add("established", "-").add("state", "CONNECTING");
  auto sas = parseIkeSas(m);
  ASSERT_EQ(sas.size(), 1u);
  EXPECT_EQ(sas[0].uniqueid, 0u);
  EXPECT_FALSE(sas[0].established_s.has_value());
}

TEST(SaState, BestSaPrefersEstablishedWithInstalledChild) {
  std::vector<IkeSaInfo> sas;
  for (auto& m : {listSaEvent("t1", 20, "CONNECTING", "CREATED"),
                  listSaEvent("t1", 10, "ESTABLISHED", "INSTALLED"),
                  listSaEvent("t1", 15, "ESTABLISHED", "REKEYED"),
                  listSaEvent("t2", 30, "ESTABLISHED", "INSTALLED")}) {
    auto parsed = parseIkeSas(m);
    sas.insert(sas.end(), parsed.begin(), parsed.end());
  }
  const IkeSaInfo* best = bestIkeSa(sas, "t1");
  ASSERT_NE(best, nullptr);
  EXPECT_EQ(best->uniqueid, 10u);
  EXPECT_EQ(bestIkeSa(sas, "t3"), nullptr);
  sas.erase(sas.begin() + 1);
  EXPECT_EQ(bestIkeSa(sas, "t1")->uniqueid, 15u);
}

TEST(SaState, StatusJsonForAnUpTunnel) {
  TunnelStatus s;
  s.name = "aws-t1";
  s.aws_outside_ip = "198.51.100.17";
  s.if_id = 1;
  s.loaded = true;
  s.ike = parseIkeSas(listSaEvent("aws-t1", 5, "ESTABLISHED", "INSTALLED"))[0];
  EXPECT_TRUE(isUp(s));
  const nlohmann::json j = toJson(s);
  EXPECT_EQ(j["name"], "aws-t1");
  EXPECT_EQ(j["aws_outside_ip"], "198.51.100.17");
  EXPECT_EQ(j["ike_state"], "ESTABLISHED");
  EXPECT_EQ(j["child_state"], "INSTALLED");
  EXPECT_EQ(j["up"], true);
  EXPECT_EQ(j["bytes_in"], 1048576);
  EXPECT_EQ(j["packets_in"], 1024);
  EXPECT_EQ(j["bytes_out"], 2048);
  EXPECT_EQ(j["packets_out"], 16);
  EXPECT_TRUE(j["last_error"].is_null());
  EXPECT_EQ(j["spi_in"], "c1a2b3c4");
  EXPECT_EQ(j["spi_out"], "0fa1b2c3");
  EXPECT_EQ(j["encryption"], "AES_GCM_16-256");
  EXPECT_EQ(j["established_s"], 321);
  EXPECT_EQ(j["rekey_in_s"], 3000);
  EXPECT_EQ(j["nat_t"], true);
  EXPECT_EQ(j["local_id"], "203.0.113.10");
}

TEST(SaState, StatusJsonForADownTunnel) {
  TunnelStatus s;
  s.name = "aws-t2";
  s.aws_outside_ip = "198.51.100.18";
  s.last_error = "received AUTHENTICATION_FAILED notify error";
  nlohmann::json j = toJson(s);
  EXPECT_EQ(j["ike_state"], "DOWN");
  EXPECT_EQ(j["child_state"], "DOWN");
  EXPECT_EQ(j["up"], false);
  EXPECT_EQ(j["bytes_in"], 0);
  EXPECT_EQ(j["last_error"], "received AUTHENTICATION_FAILED notify error");
  EXPECT_TRUE(j["established_s"].is_null());
  // Established but the CHILD_SA is not installed: not up.
  s.ike = parseIkeSas(listSaEvent("aws-t2", 5, "ESTABLISHED", "REKEYING"))[0];
  EXPECT_FALSE(isUp(s));
  s.ike->children.clear();
  j = toJson(s);
  EXPECT_EQ(j["ike_state"], "ESTABLISHED");
  EXPECT_EQ(j["child_state"], "DOWN");
  EXPECT_EQ(j["up"], false);
}

TEST(SaState, ClassifiesCharonErrors) {
  for (const char* msg :
       {"received AUTHENTICATION_FAILED notify error",
        "tried 1 shared key for '203.0.113.10' - '198.51.100.17', but MAC "
        "mismatched",
        "received NO_PROPOSAL_CHOSEN notify error", "giving up after 4 retransmits",
        "establishing IKE_SA failed, peer not responding",
        "authentication of '198.51.100.17' with pre-shared key failed",
        "establishing CHILD_SA aws-t1{1} failed"}) {
    EXPECT_EQ(classifyLogError(msg), msg) << msg;
  }
  for (const char* msg :
       {"initiating IKE_SA aws-t1[1] to 198.51.100.17",
        "authentication of '203.0.113.10' (myself) with pre-shared key",
        "IKE_SA aws-t1[1] established between ...", "establishing CHILD_SA aws-t1{1} reqid 1"}) {
    EXPECT_EQ(classifyLogError(msg), std::nullopt) << msg;
  }
}

}  // namespace
}  // namespace crossgate::mgmtd
