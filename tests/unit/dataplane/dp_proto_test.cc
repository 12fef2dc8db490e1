// The plugin protocol: strict decoding and the request semantics of DpState.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <set>

#include "dp_state.h"
#include "dp_test_util.h"

namespace crossgate::dataplane {
namespace {

using namespace testing;  // NOLINT

TEST(DpCodec, AcceptsWellFormedMessages) {
  Request req;
  std::string err;
  auto h = hello(1);
  ASSERT_TRUE(decodeRequest(h, &req, &err)) << err;
  EXPECT_EQ(req.type(), CG_DP_HELLO);
  EXPECT_EQ(req.body.hello.version, CG_DP_PROTO_VERSION);
  auto a = addSa(2, saId(0xc0000001, true), true);
  ASSERT_TRUE(decodeRequest(a, &req, &err)) << err;
  EXPECT_EQ(req.enc_key.size(), 20u);
  EXPECT_EQ(req.src_ts.size(), sizeof(cg_dp_ts));
  EXPECT_EQ(req.dst_ts.size(), sizeof(cg_dp_ts));
}

TEST(DpCodec, RejectsEveryTruncationAndExtension) {
  Request req;
  std::string err;
  for (const auto& m : {hello(1), addSa(2, saId(0xc0000001, true), true)}) {
    for (size_t cut = 0; cut < m.size(); ++cut) {
      std::vector<uint8_t> t(m.begin(), m.begin() + static_cast<long>(cut));
      if (t.size() >= sizeof(cg_dp_hdr)) {
        uint32_t len = static_cast<uint32_t>(t.size());
        std::memcpy(t.data() + 4, &len, 4);  // a consistent header over a short body
      }
      EXPECT_FALSE(decodeRequest(t, &req, &err)) << "cut at " << cut;
    }
    std::vector<uint8_t> longer = m;
    longer.push_back(0);
    uint32_t len = static_cast<uint32_t>(longer.size());
    std::memcpy(longer.data() + 4, &len, 4);
    EXPECT_FALSE(decodeRequest(longer, &req, &err));
  }
}

TEST(DpCodec, RejectsBadHeadersAndFields) {
  Request req;
  std::string err;
  auto m = hello(0);  // req_id 0 on a request
  EXPECT_FALSE(decodeRequest(m, &req, &err));
  m = hello(1);
  m[2] = 1;  // flags
  EXPECT_FALSE(decodeRequest(m, &req, &err));
  m = hello(1);
  m[0] = 99;  // unknown type
  EXPECT_FALSE(decodeRequest(m, &req, &err));
  EXPECT_NE(err.find("unknown message type"), std::string::npos);
  cg_dp_sa_id id = saId(0xc0000001, true);
  id.proto = 51;
  EXPECT_FALSE(decodeRequest(addSa(3, id, true), &req, &err));
  id = saId(0xc0000001, true);
  id.dst.family = 5;
  EXPECT_FALSE(decodeRequest(addSa(3, id, true), &req, &err));
  // Key length beyond CG_DP_MAX_KEY.
  auto a = addSa(3, saId(0xc0000001, true), true);
  uint16_t big = 65;
  std::memcpy(a.data() + sizeof(cg_dp_hdr) + offsetof(cg_dp_add_sa, enc_key_len), &big, 2);
  EXPECT_FALSE(decodeRequest(a, &req, &err));
  // IKE_TX: payload_len must match, req_id must be 0.
  cg_dp_ike ike{};
  ike.remote = v4("198.51.100.1", 500);
  ike.payload_len = 4;
  std::vector<uint8_t> payload{1, 2, 3, 4};
  EXPECT_TRUE(decodeRequest(msg(CG_DP_IKE_TX, 0, bytesOf(ike), payload), &req, &err)) << err;
  EXPECT_FALSE(decodeRequest(msg(CG_DP_IKE_TX, 5, bytesOf(ike), payload), &req, &err));
  ike.payload_len = 5;
  EXPECT_FALSE(decodeRequest(msg(CG_DP_IKE_TX, 0, bytesOf(ike), payload), &req, &err));
}

class DpStateTest : public ::testing::Test {
 protected:
  std::vector<uint8_t> call(ClientId client, const std::vector<uint8_t>& m, bool* closed = nullptr) {
    Request req;
    std::string err;
    EXPECT_TRUE(decodeRequest(m, &req, &err)) << err;
    HandleResult r = state_.handle(client, req, out_);
    if (closed) {
      *closed = r.close;
    }
    return {out_.begin(), out_.begin() + static_cast<long>(r.reply_len)};
  }
  int32_t status(ClientId client, const std::vector<uint8_t>& m) {
    auto r = call(client, m);
    EXPECT_GE(r.size(), sizeof(cg_dp_hdr) + sizeof(cg_dp_reply));
    return replyOf(r).status;
  }

  uint64_t now_ = 100;
  SaTable table_{2};
  std::vector<std::pair<cg_dp_ike, std::vector<uint8_t>>> sent_;
  DpState state_{table_, [this] { return now_; },
                 [this](const cg_dp_ike& m, std::span<const uint8_t> p) {
                   sent_.emplace_back(m, std::vector<uint8_t>(p.begin(), p.end()));
                   return true;
                 }};
  std::vector<uint8_t> out_ = std::vector<uint8_t>(CG_DP_MAX_MSG);
};

TEST_F(DpStateTest, HelloComesFirstAndVersionMustMatch) {
  bool closed = false;
  cg_dp_get_spi g{v4("198.51.100.1"), v4("192.0.2.1"), 50, {}};
  auto r = call(1, msg(CG_DP_GET_SPI, 9, bytesOf(g)), &closed);
  EXPECT_EQ(replyOf(r).status, EPROTO);
  EXPECT_TRUE(closed);
  r = call(2, hello(1, 99), &closed);
  EXPECT_EQ(replyOf(r).status, EPROTO);
  EXPECT_TRUE(closed);
  r = call(3, hello(1), &closed);
  EXPECT_EQ(replyOf(r).status, 0);
  EXPECT_FALSE(closed);
  EXPECT_EQ(replyBody<cg_dp_hello>(r).version, CG_DP_PROTO_VERSION);
  EXPECT_EQ(state_.eventClient(), 3u);
}

TEST_F(DpStateTest, GetSpiGivesUniqueSpisInRangeAndDelSaReleasesThem) {
  ASSERT_EQ(status(1, hello(1)), 0);
  cg_dp_get_spi g{v4("198.51.100.1"), v4("192.0.2.1"), 50, {}};
  std::set<uint32_t> seen;
  for (uint32_t i = 0; i < 200; ++i) {
    auto r = call(1, msg(CG_DP_GET_SPI, 10 + i, bytesOf(g)));
    ASSERT_EQ(replyOf(r).status, 0);
    const uint32_t spi = ntohl(replyBody<uint32_t>(r));
    EXPECT_GE(spi, 0xc0000000u);
    EXPECT_LE(spi, 0xcfffffffu);
    EXPECT_TRUE(seen.insert(spi).second);
  }
  EXPECT_EQ(state_.saCount(), 200u);
  // The reservation turns into an SA with CG_DP_SA_UPDATE, and DEL_SA frees it.
  const uint32_t spi = *seen.begin();
  cg_dp_sa_id id = saId(spi, true);
  EXPECT_EQ(status(1, addSa(500, id, true, {}, CG_DP_SA_UPDATE)), 0);
  EXPECT_EQ(state_.saCount(), 200u);
  cg_dp_del_sa d{id};
  EXPECT_EQ(status(1, msg(CG_DP_DEL_SA, 501, bytesOf(d))), 0);
  EXPECT_EQ(state_.saCount(), 199u);
  EXPECT_EQ(status(1, msg(CG_DP_DEL_SA, 502, bytesOf(d))), ENOENT);
}

TEST_F(DpStateTest, AddQueryUpdateDeleteSa) {
  ASSERT_EQ(status(1, hello(1)), 0);
  cg_dp_sa_id in = saId(0xc0001234, true);
  cg_dp_sa_id out = saId(0x11112222, false);
  EXPECT_EQ(status(1, addSa(2, in, true)), 0);
  EXPECT_EQ(status(1, addSa(3, out, false)), 0);
  EXPECT_EQ(status(1, addSa(4, out, false)), EEXIST);
  cg_dp_query_sa q{in};
  auto r = call(1, msg(CG_DP_QUERY_SA, 5, bytesOf(q)));
  ASSERT_EQ(replyOf(r).status, 0);
  EXPECT_EQ(replyBody<cg_dp_sa_stats>(r).packets, 0u);
  EXPECT_EQ(replyBody<cg_dp_sa_stats>(r).use_time, 0u);
  // The peer moved behind a NAT: new port, the SA stays (same SPI, same counters).
  cg_dp_update_sa u{};
  u.id = in;
  u.new_src = v4("198.51.100.1", 34567);
  u.new_dst = in.dst;
  u.flags = CG_DP_SA_ENCAP;
  EXPECT_EQ(status(1, msg(CG_DP_UPDATE_SA, 6, bytesOf(u))), 0);
  auto snap = table_.snapshot();
  const SaEntry* e = snap->findInbound(in.spi);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->src.port, 34567);
  cg_dp_del_sa d{in};
  EXPECT_EQ(status(1, msg(CG_DP_DEL_SA, 7, bytesOf(d))), 0);
  EXPECT_EQ(status(1, msg(CG_DP_QUERY_SA, 8, bytesOf(q))), ENOENT);
}

TEST_F(DpStateTest, RefusesUnsupportedTransforms) {
  ASSERT_EQ(status(1, hello(1)), 0);
  auto m = addSa(2, saId(0xc0000042, true), true);
  uint16_t alg = 3;  // 3DES
  std::memcpy(m.data() + sizeof(cg_dp_hdr) + offsetof(cg_dp_add_sa, enc_alg), &alg, 2);
  EXPECT_NE(status(1, m), 0);
  EXPECT_EQ(state_.saCount(), 0u);
}

TEST_F(DpStateTest, PoliciesAreRefcountedAndPriorityOrdered) {
  ASSERT_EQ(status(1, hello(1)), 0);
  cg_dp_policy low = policy(CG_DP_DIR_OUT, 100);
  cg_dp_policy high = policy(CG_DP_DIR_OUT, 50);
  high.reqid = 8;
  EXPECT_EQ(status(1, msg(CG_DP_ADD_POLICY, 2, bytesOf(low))), 0);
  EXPECT_EQ(status(1, msg(CG_DP_ADD_POLICY, 3, bytesOf(high))), 0);
  EXPECT_EQ(status(1, msg(CG_DP_ADD_POLICY, 4, bytesOf(low))), 0);
  EXPECT_EQ(state_.policyCount(), 3u);
  const PolicyKey key = PolicyKey::of(low);
  ASSERT_NE(state_.activePolicy(key), nullptr);
  EXPECT_EQ(state_.activePolicy(key)->priority, 50u);
  EXPECT_EQ(status(1, msg(CG_DP_DEL_POLICY, 5, bytesOf(high))), 0);
  EXPECT_EQ(state_.activePolicy(key)->priority, 100u);
  auto r = call(1, msg(CG_DP_QUERY_POLICY, 6, bytesOf(low)));
  EXPECT_EQ(replyOf(r).status, 0);
  EXPECT_EQ(replyBody<cg_dp_policy_stats>(r).use_time, 0u);
  EXPECT_EQ(status(1, msg(CG_DP_DEL_POLICY, 7, bytesOf(low))), 0);
  EXPECT_EQ(status(1, msg(CG_DP_DEL_POLICY, 8, bytesOf(low))), 0);
  EXPECT_EQ(status(1, msg(CG_DP_DEL_POLICY, 9, bytesOf(low))), ENOENT);
  EXPECT_EQ(status(1, msg(CG_DP_QUERY_POLICY, 10, bytesOf(low))), ENOENT);
  // Different if_id or direction: a different policy.
  cg_dp_policy other = policy(CG_DP_DIR_IN, 100, 2);
  EXPECT_EQ(status(1, msg(CG_DP_ADD_POLICY, 11, bytesOf(other))), 0);
  EXPECT_EQ(status(1, msg(CG_DP_DEL_POLICY, 12, bytesOf(low))), ENOENT);
}

TEST_F(DpStateTest, DisconnectDropsOnlyThatClientsState) {
  ASSERT_EQ(status(1, hello(1)), 0);
  ASSERT_EQ(status(2, hello(1)), 0);
  EXPECT_EQ(status(1, addSa(2, saId(0xc0000010, true), true)), 0);
  EXPECT_EQ(status(2, addSa(2, saId(0xc0000020, true), true)), 0);
  cg_dp_get_spi g{v4("198.51.100.1"), v4("192.0.2.1"), 50, {}};
  EXPECT_EQ(replyOf(call(1, msg(CG_DP_GET_SPI, 3, bytesOf(g)))).status, 0);
  cg_dp_policy p = policy(CG_DP_DIR_OUT, 10);
  EXPECT_EQ(status(1, msg(CG_DP_ADD_POLICY, 4, bytesOf(p))), 0);
  EXPECT_EQ(status(2, msg(CG_DP_ADD_POLICY, 4, bytesOf(p))), 0);
  state_.clientGone(1);
  EXPECT_EQ(state_.saCount(), 1u);
  EXPECT_EQ(state_.policyCount(), 1u);
  EXPECT_EQ(table_.snapshot()->entries().size(), 1u);
  EXPECT_NE(table_.snapshot()->findInbound(htonl(0xc0000020)), nullptr);
  EXPECT_EQ(state_.eventClient(), 2u);
}

TEST_F(DpStateTest, FlushDropsEverything) {
  ASSERT_EQ(status(1, hello(1)), 0);
  EXPECT_EQ(status(1, addSa(2, saId(0xc0000010, true), true)), 0);
  cg_dp_policy p = policy(CG_DP_DIR_IN, 10);
  EXPECT_EQ(status(1, msg(CG_DP_ADD_POLICY, 3, bytesOf(p))), 0);
  EXPECT_EQ(status(1, msg(CG_DP_FLUSH, 4, {})), 0);
  EXPECT_EQ(state_.saCount(), 0u);
  EXPECT_EQ(state_.policyCount(), 0u);
  EXPECT_TRUE(table_.snapshot()->entries().empty());
}

TEST_F(DpStateTest, IkeTxGoesToTheSenderWithoutReply) {
  ASSERT_EQ(status(1, hello(1)), 0);
  cg_dp_ike ike{};
  ike.local = v4("192.0.2.1", 4500);
  ike.remote = v4("198.51.100.1", 4500);
  ike.dscp = 46;
  std::vector<uint8_t> payload{0, 0, 0, 0, 9, 9};
  ike.payload_len = static_cast<uint32_t>(payload.size());
  auto r = call(1, msg(CG_DP_IKE_TX, 0, bytesOf(ike), payload));
  EXPECT_TRUE(r.empty());
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].first.dscp, 46);
  EXPECT_EQ(sent_[0].second, payload);
}

}  // namespace
}  // namespace crossgate::dataplane
