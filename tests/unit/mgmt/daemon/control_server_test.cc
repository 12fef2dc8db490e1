#include "crossgate/mgmt/daemon/control_server.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <thread>

#include "crossgate/mgmt/client/control_client.h"

namespace crossgate::mgmtd {
namespace {

nlohmann::json echo(const std::string& cmd, const nlohmann::json& request) {
  if (cmd == "status") {
    return {{"tunnels", nlohmann::json::array()}};
  }
  return {{"error", "unknown command"}, {"request", request}};
}

TEST(ControlRequestLine, RejectsBadInput) {
  auto parse = [](std::string_view line) {
    return nlohmann::json::parse(handleRequestLine(line, echo));
  };
  EXPECT_EQ(parse("{")["error"], "request is not valid JSON");
  EXPECT_EQ(parse("[1,2]")["error"], "request must be a JSON object");
  EXPECT_EQ(parse("{\"cmd\": 5}")["error"], "request needs a string \"cmd\"");
  EXPECT_EQ(parse("{}")["error"], "request needs a string \"cmd\"");
  EXPECT_EQ(parse(std::string(kMaxRequestLine + 1, ' '))["error"],
            "request longer than 65536 bytes");
  EXPECT_TRUE(parse("{\"cmd\":\"status\"}\r").contains("tunnels"));
  // Non-ASCII input is echoed back intact.
  auto odd = parse("{\"cmd\":\"x\",\"v\":\"\\u00e9\"}");
  EXPECT_EQ(odd["error"], "unknown command");
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cgt-ike-ctl-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Serves on a thread while `body` runs the client side.
  void withServer(const std::filesystem::path& path, const std::function<void()>& body) {
    boost::asio::io_context io;
    ControlServer server(io.get_executor(), echo);
    ASSERT_TRUE(server.listen(path).ok());
    auto work = boost::asio::make_work_guard(io);
    std::thread t([&] { io.run(); });
    body();
    boost::asio::post(io, [&] {
      server.close();
      work.reset();
      io.stop();
    });
    t.join();
  }

  std::filesystem::path dir_;
};

TEST_F(ControlServerTest, ServesJsonLinesWithModes) {
  const auto path = dir_ / "run" / "crossgate" / "control.sock";
  withServer(path, [&] {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    ASSERT_EQ(::stat(path.parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);

    auto status = mgmt::controlRequest(path, {{"cmd", "status"}});
    ASSERT_TRUE(status.ok()) << status.error().message;
    EXPECT_TRUE((*status)["tunnels"].is_array());
    auto unknown = mgmt::controlRequest(path, {{"cmd", "frobnicate"}, {"x", 1}});
    ASSERT_TRUE(unknown.ok());
    EXPECT_EQ((*unknown)["error"], "unknown command");
    EXPECT_EQ((*unknown)["request"]["x"], 1);

    // A second server on a live socket refuses to steal it.
    boost::asio::io_context io2;
    ControlServer second(io2.get_executor(), echo);
    auto s = second.listen(path);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::kAlreadyExists);
  });
  EXPECT_FALSE(std::filesystem::exists(path));  // removed on close
}

TEST_F(ControlServerTest, ReplacesAStaleSocketFile) {
  const auto path = dir_ / "control.sock";
  {
    boost::asio::io_context io;
    boost::asio::local::stream_protocol::acceptor stale(io);
    stale.open(boost::asio::local::stream_protocol());
    stale.bind(boost::asio::local::stream_protocol::endpoint(path.string()));
    // closed without unlinking: a crashed daemon's leftover
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  withServer(path, [&] {
    auto status = mgmt::controlRequest(path, {{"cmd", "status"}});
    EXPECT_TRUE(status.ok());
  });
}

}  // namespace
}  // namespace crossgate::mgmtd
