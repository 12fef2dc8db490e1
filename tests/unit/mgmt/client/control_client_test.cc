#include "crossgate/mgmt/client/control_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "crossgate/common/unique_fd.h"

namespace crossgate::mgmt {
namespace {

class ControlClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cgt-ike-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ / "control.sock";
  }
  void TearDown() override {
    if (server_.joinable()) {
      server_.join();
    }
    std::filesystem::remove_all(dir_);
  }

  // A one-connection server: reads the request line, then runs `reply` on the client fd.
  void serveOnce(std::function<void(int fd, const std::string& request)> reply) {
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.string().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(listener_.get(), 1), 0);
    server_ = std::thread([this, reply] {
      UniqueFd client(::accept(listener_.get(), nullptr, nullptr));
      std::string request;
      char c = 0;
      while (::read(client.get(), &c, 1) == 1 && c != '\n') {
        request += c;
      }
      reply(client.get(), request);
    });
  }

  std::filesystem::path dir_, path_;
  UniqueFd listener_;
  std::thread server_;
};

TEST_F(ControlClientTest, SendsOneLineAndParsesTheReply) {
  std::string seen;
  serveOnce([&](int fd, const std::string& request) {
    seen = request;
    const std::string reply = "{\"tunnels\":[]}\n";
    ASSERT_EQ(::write(fd, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
  });
  auto r = controlRequest(path_, {{"cmd", "status"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE((*r)["tunnels"].is_array());
  server_.join();
  EXPECT_EQ(seen, "{\"cmd\":\"status\"}");
}

TEST_F(ControlClientTest, NoDaemon) {
  auto r = controlRequest(path_, {{"cmd", "status"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kUnavailable);
  EXPECT_NE(r.error().message.find(path_.string()), std::string::npos);
  EXPECT_NE(r.error().message.find("is crossgated running?"), std::string::npos);
}

TEST_F(ControlClientTest, ClosedWithoutReply) {
  serveOnce([](int, const std::string&) {});
  auto r = controlRequest(path_, {{"cmd", "status"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kProtocol);
}

TEST_F(ControlClientTest, MalformedReply) {
  serveOnce([](int fd, const std::string&) { ASSERT_EQ(::write(fd, "[1]\n", 4), 4); });
  auto r = controlRequest(path_, {{"cmd", "status"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("malformed response"), std::string::npos);
}

TEST_F(ControlClientTest, Timeout) {
  serveOnce(
      [](int, const std::string&) { std::this_thread::sleep_for(std::chrono::milliseconds(500)); });
  auto r = controlRequest(path_, {{"cmd", "status"}}, std::chrono::milliseconds(100));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kTimeout);
}

}  // namespace
}  // namespace crossgate::mgmt
