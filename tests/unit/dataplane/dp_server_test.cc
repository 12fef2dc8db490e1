// DpServer over a real SOCK_SEQPACKET socket in a temporary directory: permissions, sessions,
// replies, events (EXPIRE from lifetimes, IKE_RX, MAPPING) and cleanup on disconnect.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "dp_server.h"
#include "dp_test_util.h"

namespace crossgate::dataplane {
namespace {

using namespace testing;  // NOLINT

class DpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cgt-dp-XXXXXX";
    dir_ = mkdtemp(tmpl);
    DpServer::Options o;
    o.socket_path = dir_ + "/run/dataplane.sock";
    o.expire_tick_ms = 50;
    auto s = DpServer::create(o, table_, [this](const cg_dp_ike&, std::span<const uint8_t> p) {
      ike_tx_bytes_ += p.size();
      return true;
    });
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  int connectClient() {
    int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string p = server_->socketPath();
    std::memcpy(a.sun_path, p.c_str(), p.size() + 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    return fd;
  }
  // Receives one message (waits up to timeout_ms); empty on timeout or EOF.
  static std::vector<uint8_t> receive(int fd, int timeout_ms = 3000) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) {
      return {};
    }
    std::vector<uint8_t> buf(CG_DP_MAX_MSG);
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }
  static uint16_t typeOf(const std::vector<uint8_t>& m) {
    cg_dp_hdr h{};
    std::memcpy(&h, m.data(), sizeof(h));
    return h.type;
  }
  std::vector<uint8_t> roundTrip(int fd, const std::vector<uint8_t>& m) {
    EXPECT_EQ(::send(fd, m.data(), m.size(), 0), static_cast<ssize_t>(m.size()));
    return receive(fd);
  }

  std::string dir_;
  SaTable table_{1};
  std::unique_ptr<DpServer> server_;
  std::thread thread_;
  std::atomic<size_t> ike_tx_bytes_{0};
};

TEST_F(DpServerTest, SocketIsPrivateAndParentIsCreated) {
  struct stat st {};
  ASSERT_EQ(::stat(server_->socketPath().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST_F(DpServerTest, VersionMismatchClosesTheSession) {
  int fd = connectClient();
  auto r = roundTrip(fd, hello(1, 2));
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(replyOf(r).status, EPROTO);
  EXPECT_TRUE(receive(fd).empty());  // EOF
  ::close(fd);
}

TEST_F(DpServerTest, GarbageEndsTheSessionAndMalformedRequestsGetEinval) {
  int fd = connectClient();
  ASSERT_EQ(replyOf(roundTrip(fd, hello(1))).status, 0);
  auto bad = addSa(2, saId(0xc0000001, true), true);
  bad.pop_back();
  uint32_t len = static_cast<uint32_t>(bad.size());
  std::memcpy(bad.data() + 4, &len, 4);
  auto r = roundTrip(fd, bad);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(replyOf(r).status, EINVAL);
  std::vector<uint8_t> garbage{1, 2, 3};
  ASSERT_EQ(::send(fd, garbage.data(), garbage.size(), 0), 3);
  EXPECT_TRUE(receive(fd).empty());
  ::close(fd);
}

TEST_F(DpServerTest, DisconnectDropsTheClientsSas) {
  int fd = connectClient();
  ASSERT_EQ(replyOf(roundTrip(fd, hello(1))).status, 0);
  ASSERT_EQ(replyOf(roundTrip(fd, addSa(2, saId(0xc0000001, true), true))).status, 0);
  ASSERT_EQ(replyOf(roundTrip(fd, addSa(3, saId(0x5678, false), false))).status, 0);
  EXPECT_EQ(table_.snapshot()->entries().size(), 2u);
  ::close(fd);
  for (int i = 0; i < 100 && !table_.snapshot()->entries().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(table_.snapshot()->entries().empty());
}

TEST_F(DpServerTest, TimeLimitsRaiseSoftThenHardExpireOnce) {
  int fd = connectClient();
  ASSERT_EQ(replyOf(roundTrip(fd, hello(1))).status, 0);
  cg_dp_lifetime lt{};
  lt.time_soft_s = 1;
  lt.time_hard_s = 2;
  cg_dp_sa_id id = saId(0xc0000077, true);
  ASSERT_EQ(replyOf(roundTrip(fd, addSa(2, id, true, lt))).status, 0);
  std::vector<cg_dp_ev_expire> got;
  for (auto m = receive(fd, 4000); !m.empty(); m = receive(fd, 1500)) {
    ASSERT_EQ(typeOf(m), CG_DP_EV_EXPIRE);
    cg_dp_ev_expire ev{};
    std::memcpy(&ev, m.data() + sizeof(cg_dp_hdr), sizeof(ev));
    got.push_back(ev);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].hard, 0);
  EXPECT_EQ(got[1].hard, 1);
  EXPECT_EQ(got[0].spi, id.spi);
  EXPECT_EQ(got[0].reqid, 7u);
  EXPECT_EQ(got[1].dst.family, 4);
  ::close(fd);
}

TEST_F(DpServerTest, PostedIkeAndMappingReachTheClientAndIkeTxIsSent) {
  int fd = connectClient();
  ASSERT_EQ(replyOf(roundTrip(fd, hello(1))).status, 0);
  cg_dp_sa_id id = saId(0xc0000099, true);
  ASSERT_EQ(replyOf(roundTrip(fd, addSa(2, id, true))).status, 0);
  std::vector<uint8_t> payload{0, 0, 0, 0, 0x21, 0x20};
  server_->postIkeRx(v4("192.0.2.1", 4500), v4("198.51.100.1", 4500), payload);
  auto m = receive(fd);
  ASSERT_FALSE(m.empty());
  ASSERT_EQ(typeOf(m), CG_DP_EV_IKE_RX);
  cg_dp_ike ike{};
  std::memcpy(&ike, m.data() + sizeof(cg_dp_hdr), sizeof(ike));
  EXPECT_EQ(ike.payload_len, payload.size());
  EXPECT_EQ(ike.remote.port, 4500);
  EXPECT_EQ(0, std::memcmp(m.data() + sizeof(cg_dp_hdr) + sizeof(ike), payload.data(), 6));
  server_->postMapping(id.spi, id.dst, v4("198.51.100.1", 61000));
  m = receive(fd);
  ASSERT_FALSE(m.empty());
  ASSERT_EQ(typeOf(m), CG_DP_EV_MAPPING);
  cg_dp_ev_mapping mp{};
  std::memcpy(&mp, m.data() + sizeof(cg_dp_hdr), sizeof(mp));
  EXPECT_EQ(mp.spi, id.spi);
  EXPECT_EQ(mp.new_remote.port, 61000);
  cg_dp_ike tx{};
  tx.remote = v4("198.51.100.1", 500);
  tx.payload_len = 3;
  std::vector<uint8_t> p3{7, 7, 7};
  auto tm = msg(CG_DP_IKE_TX, 0, bytesOf(tx), p3);
  ASSERT_EQ(::send(fd, tm.data(), tm.size(), 0), static_cast<ssize_t>(tm.size()));
  for (int i = 0; i < 100 && ike_tx_bytes_ == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ike_tx_bytes_, 3u);
  ::close(fd);
}

}  // namespace
}  // namespace crossgate::dataplane
