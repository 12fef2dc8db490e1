// Test helper: a real charon (Debian's /usr/lib/ipsec/charon) in its own network and mount
// namespace, configured by the appliance's strongswan.conf fragment plus a private VICI socket.
// charon 5.9.8 hard-codes its pid file (/var/run/charon.pid -> /run), so each instance gets a
// tmpfs on /run in a private mount namespace; the VICI socket lives in a temp dir, reachable
// from the test (path-based unix sockets cross network namespaces). The namespace has only
// loopback and a veth pair whose peer end drops everything, so an initiating connection sends
// nothing beyond it. Needs root.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace crossgate::testing {

class CharonProcess {
 public:
  // With `netns` empty, charon gets a fresh network namespace of its own (loopback plus a veth
  // pair that drops everything); otherwise it runs in that named namespace (ip netns).
  explicit CharonProcess(std::string extra_settings = "", std::string netns = "")
      : extra_(std::move(extra_settings)), netns_(std::move(netns)) {
    char tmpl[] = "/tmp/cgt-ike-charon-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) {
      dir_ = tmpl;
    }
    const char* src = getenv("CROSSGATE_SOURCE_DIR");
    const std::filesystem::path fragment =
        std::filesystem::path(src != nullptr ? src : CROSSGATE_TEST_SOURCE_DIR) / "ikev2" / "conf" /
        "crossgate.conf";
    std::ofstream conf(dir_ / "strongswan.conf");
    conf << "include " << fragment.string() << "\n"
         << "charon {\n"
         // No crossgate-dataplane here: the product's list with kernel-libipsec and
         // socket-default in place of the crossgate plugin.
         << "  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey revocation constraints "
            "sha1 sha2 aes gcm hmac kdf curve25519 gmp vici counters kernel-libipsec "
            "kernel-netlink socket-default\n"
         << "  plugins {\n    vici {\n      socket = unix://" << socketPath().string()
         << "\n    }\n  }\n"
         << extra_ << "\n}\n";
  }
  ~CharonProcess() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  CharonProcess(const CharonProcess&) = delete;
  CharonProcess& operator=(const CharonProcess&) = delete;

  std::filesystem::path socketPath() const { return dir_ / "charon.vici"; }
  std::filesystem::path logPath() const { return dir_ / "charon.log"; }
  const std::filesystem::path& dir() const { return dir_; }

  // Starts charon and waits until its VICI socket accepts connections.
  bool start() {
    std::error_code ec;
    std::filesystem::remove(socketPath(), ec);
    const std::string own_netns =
        "ip link set lo up && ip link add cgt-ike-v0 type veth peer name cgt-ike-v1 && "
        "ip link set cgt-ike-v0 up && ip link set cgt-ike-v1 up && "
        "ip addr add 192.0.2.1/24 dev cgt-ike-v0 && ip route add default via 192.0.2.2 && ";
    const std::string script = (netns_.empty() ? own_netns : std::string()) +
                               "mount -t tmpfs tmpfs /run && exec /usr/lib/ipsec/charon";
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive a crashed test
      const int log = ::open(logPath().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
      }
      setenv("STRONGSWAN_CONF", (dir_ / "strongswan.conf").c_str(), 1);
      if (netns_.empty()) {
        execlp("unshare", "unshare", "-m", "-n", "--propagation", "private", "sh", "-c",
               script.c_str(), static_cast<char*>(nullptr));
      } else {
        execlp("ip", "ip", "netns", "exec", netns_.c_str(), "unshare", "-m", "--propagation",
               "private", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
      }
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (canConnect()) {
        return true;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void stop(int sig = SIGTERM) {
    if (pid_ <= 0) {
      return;
    }
    kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
  }

  pid_t pid() const { return pid_; }

  std::string log() const {
    std::ifstream in(logPath());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  bool canConnect() const {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = socketPath().string();
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    return ok;
  }

  std::string extra_;
  std::string netns_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

}  // namespace crossgate::testing
