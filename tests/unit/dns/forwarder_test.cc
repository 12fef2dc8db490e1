// The forwarder against upstreams on loopback (ephemeral ports): answers and caching, ignoring
// responses with the wrong ID, failover after a silent server, SERVFAIL within the budget, TCP
// after a truncated response, a local CNAME chain merged with the upstream answer.
#include "crossgate/dns/forwarder.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "test_util.h"

namespace crossgate::dns {
namespace {

using namespace testing;  // NOLINT
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

std::vector<uint8_t> answerFor(const uint8_t* q, size_t len, const char* rr_text, bool tc) {
  ldns_pkt* pkt = nullptr;
  EXPECT_EQ(ldns_wire2pkt(&pkt, q, len), LDNS_STATUS_OK);
  ldns_pkt_set_qr(pkt, true);
  ldns_pkt_set_tc(pkt, tc);
  if (!tc) {
    ldns_rr* rr = nullptr;
    ldns_rr_new_frm_str(&rr, rr_text, 0, nullptr, nullptr);
    ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
  }
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_pkt2wire(&wire, pkt, &size);
  std::vector<uint8_t> out(wire, wire + size);
  free(wire);
  ldns_pkt_free(pkt);
  return out;
}

enum class Mode { kAnswer, kWrongIdFirst, kSilent, kTruncated };

// A scripted upstream on 127.0.0.1: UDP (and TCP on the same port).
class Upstream {
 public:
  Upstream(asio::io_context& io, Mode mode)
      : udp_(io, udp::endpoint(asio::ip::address_v4::loopback(), 0)), tcp_(io), mode_(mode) {
    port_ = udp_.local_endpoint().port();
    tcp_.open(tcp::v4());
    tcp_.set_option(tcp::acceptor::reuse_address(true));
    tcp_.bind(tcp::endpoint(asio::ip::address_v4::loopback(), port_));
    tcp_.listen();
    receive();
    acceptTcp();
  }
  uint16_t port() const { return port_; }
  int udp_queries = 0;
  int tcp_queries = 0;
  std::string rr = "example.org. 300 IN A 203.0.113.7";

 private:
  void receive() {
    udp_.async_receive_from(
        asio::buffer(buf_), peer_, [this](const boost::system::error_code& ec, size_t n) {
          if (ec) {
            return;
          }
          ++udp_queries;
          if (mode_ != Mode::kSilent) {
            if (mode_ == Mode::kWrongIdFirst) {
              auto bad = answerFor(buf_.data(), n, "example.org. 300 IN A 198.51.100.66", false);
              writeU16(bad.data(), static_cast<uint16_t>(readU16(bad.data()) + 1));
              udp_.send_to(asio::buffer(bad), peer_);
            }
            auto r = answerFor(buf_.data(), n, rr.c_str(), mode_ == Mode::kTruncated);
            udp_.send_to(asio::buffer(r), peer_);
          }
          receive();
        });
  }
  void acceptTcp() {
    tcp_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec) {
        return;
      }
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      auto len = std::make_shared<std::array<uint8_t, 2>>();
      asio::async_read(
          *sock, asio::buffer(*len), [this, sock, len](const boost::system::error_code& e, size_t) {
            if (e) {
              return;
            }
            auto body = std::make_shared<std::vector<uint8_t>>(readU16(len->data()));
            asio::async_read(*sock, asio::buffer(*body),
                             [this, sock, body](const boost::system::error_code& e2, size_t) {
                               if (e2) {
                                 return;
                               }
                               ++tcp_queries;
                               auto r = answerFor(body->data(), body->size(),
                                                  "example.org. 300 IN TXT \"via tcp\"", false);
                               auto msg = std::make_shared<std::vector<uint8_t>>(r.size() + 2);
                               writeU16(msg->data(), static_cast<uint16_t>(r.size()));
                               std::memcpy(msg->data() + 2, r.data(), r.size());
                               asio::async_write(
                                   *sock, asio::buffer(*msg),
                                   [sock, msg](const boost::system::error_code&, size_t) {});
                             });
          });
      acceptTcp();
    });
  }

  udp::socket udp_;
  tcp::acceptor tcp_;
  Mode mode_;
  uint16_t port_ = 0;
  std::array<uint8_t, 4096> buf_{};
  udp::endpoint peer_;
};

class ForwarderTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Tables> tablesWith(std::vector<uint16_t> ports, uint32_t timeout_ms = 600,
                                           uint32_t retries = 2) {
    config::Dns dns = sampleConfig();
    dns.upstreams.clear();
    for (uint16_t p : ports) {
      dns.upstreams.push_back({ip("127.0.0.1"), p});
    }
    dns.timeout_ms = timeout_ms;
    dns.retries = retries;
    return build(dns);
  }

  // Handles the query as the aws view and forwards it; returns the client's response.
  Pkt resolve(const std::shared_ptr<const Tables>& tables, const std::vector<uint8_t>& q,
              double* elapsed_ms = nullptr) {
    ForwardRequest req;
    std::vector<uint8_t> out(kMaxMessage);
    const HandleResult r = handleQuery(*tables, &cache_, q.data(), q.size(), ip("10.10.1.10"),
                                       false, monotonicMs(), out.data(), &req, stats_.get());
    if (r.verdict == Verdict::kReply) {
      return parse(out.data(), r.length);
    }
    EXPECT_EQ(r.verdict, Verdict::kForward);
    std::vector<uint8_t> got;
    const auto start = std::chrono::steady_clock::now();
    fwd_.forward(tables, req, [&](const uint8_t* d, size_t l) {
      got.assign(d, d + l);
      io_.stop();
    });
    io_.restart();
    io_.run_for(std::chrono::seconds(5));
    if (elapsed_ms != nullptr) {
      *elapsed_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
    }
    return got.empty() ? nullptr : parse(got.data(), got.size());
  }

  asio::io_context io_;
  Cache cache_{100};
  std::unique_ptr<ThreadStats> stats_ = std::make_unique<ThreadStats>();
  Forwarder fwd_{io_, &cache_, stats_.get()};
};

TEST_F(ForwarderTest, AnswersAndCaches) {
  Upstream up(io_, Mode::kAnswer);
  auto tables = tablesWith({up.port()});
  auto p =
      resolve(tables, makeQuery("Example.ORG", LDNS_RR_TYPE_A, {.id = 4242, .edns_size = 1232}));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_id(p.get()), 4242);
  EXPECT_FALSE(ldns_pkt_aa(p.get()));
  EXPECT_TRUE(ldns_pkt_ra(p.get()));
  EXPECT_EQ(ldns_pkt_edns_udp_size(p.get()), kAdvertisedUdpSize);
  // The owner name is compressed against the question, so it carries the client's case too.
  EXPECT_EQ(section(p.get(), LDNS_SECTION_ANSWER),
            (std::vector<std::string>{"Example.ORG.\t300\tIN\tA\t203.0.113.7"}));
  char* q = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p.get()), 0)));
  EXPECT_STREQ(q, "Example.ORG.");  // the client's case
  free(q);
  // Second time from the cache: the upstream sees nothing new.
  auto again = resolve(tables, makeQuery("example.org", LDNS_RR_TYPE_A));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(up.udp_queries, 1);
  EXPECT_EQ(stats_->global.cache_hits.get(), 1u);
}

TEST_F(ForwarderTest, IgnoresResponsesWithTheWrongId) {
  Upstream up(io_, Mode::kWrongIdFirst);
  auto p = resolve(tablesWith({up.port()}), makeQuery("example.org", LDNS_RR_TYPE_A));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(section(p.get(), LDNS_SECTION_ANSWER),
            (std::vector<std::string>{"example.org.\t300\tIN\tA\t203.0.113.7"}));
  EXPECT_GE(stats_->global.upstream_errors.get(), 1u);
}

TEST_F(ForwarderTest, FailsOverFromASilentServer) {
  Upstream silent(io_, Mode::kSilent);
  Upstream good(io_, Mode::kAnswer);
  auto p = resolve(tablesWith({silent.port(), good.port()}, 900, 2),
                   makeQuery("example.org", LDNS_RR_TYPE_A));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(silent.udp_queries, 1);
  EXPECT_EQ(good.udp_queries, 1);
  EXPECT_EQ(stats_->global.upstream_timeouts.get(), 1u);
}

TEST_F(ForwarderTest, ServfailWithinTheTimeoutWhenEveryServerFails) {
  Upstream silent(io_, Mode::kSilent);
  double ms = 0;
  auto p =
      resolve(tablesWith({silent.port()}, 400, 1), makeQuery("example.org", LDNS_RR_TYPE_A), &ms);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_SERVFAIL);
  EXPECT_EQ(silent.udp_queries, 2);  // one retry
  EXPECT_LE(ms, 400 + 100);
  EXPECT_GE(ms, 300);
}

TEST_F(ForwarderTest, TruncatedUpstreamAnswerIsRetriedOverTcp) {
  Upstream up(io_, Mode::kTruncated);
  auto p = resolve(tablesWith({up.port()}), makeQuery("example.org", LDNS_RR_TYPE_TXT));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(up.tcp_queries, 1);
  EXPECT_EQ(section(p.get(), LDNS_SECTION_ANSWER),
            (std::vector<std::string>{"example.org.\t300\tIN\tTXT\t\"via tcp\""}));
}

TEST_F(ForwarderTest, LocalCnameChainIsMergedWithTheUpstreamAnswer) {
  Upstream up(io_, Mode::kAnswer);
  up.rr = "www.example.org. 120 IN A 203.0.113.9";
  auto p = resolve(tablesWith({up.port()}), makeQuery("out.corp.example", LDNS_RR_TYPE_A));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(section(p.get(), LDNS_SECTION_ANSWER),
            (std::vector<std::string>{"out.corp.example.\t60\tIN\tCNAME\twww.example.org.",
                                      "www.example.org.\t120\tIN\tA\t203.0.113.9"}));
}

TEST_F(ForwarderTest, NoUpstreamsIsServfail) {
  auto p = resolve(tablesWith({}), makeQuery("example.org", LDNS_RR_TYPE_A));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_SERVFAIL);
}

}  // namespace
}  // namespace crossgate::dns
