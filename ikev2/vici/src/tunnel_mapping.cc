#include "crossgate/ikev2/tunnel_mapping.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "crossgate/common/unique_fd.h"

namespace crossgate::ikev2 {

namespace {

constexpr size_t kMaxPskFileSize = 4096;
constexpr const char* kAnyNetwork = "0.0.0.0/0";

std::string num(uint64_t v) { return std::to_string(v); }

}  // namespace

Lifetimes computeLifetimes(const config::Tunnel& tunnel) {
  Lifetimes l;
  l.ike_rekey_s = static_cast<uint32_t>(uint64_t{tunnel.ike_lifetime_s} * 9 / 10);
  l.ike_over_s = tunnel.ike_lifetime_s - l.ike_rekey_s;
  l.ike_rand_s = tunnel.ike_lifetime_s / 20;
  l.child_rekey_s = static_cast<uint32_t>(uint64_t{tunnel.esp_lifetime_s} * 9 / 10);
  l.child_life_s = tunnel.esp_lifetime_s;
  l.child_rand_s = tunnel.esp_lifetime_s / 20;
  return l;
}

std::string secretId(const config::Tunnel& tunnel) { return "crossgate-psk-" + tunnel.name; }

Result<vici::Message> buildLoadConn(const config::Appliance& appliance,
                                    const config::Tunnel& tunnel) {
  if (tunnel.name.empty() || tunnel.name.size() > vici::kMaxNameLength) {
    return makeError(Errc::kInvalidArgument,
                     fmt::format("tunnel name '{}' cannot name a charon connection", tunnel.name));
  }
  if (tunnel.if_id == 0) {
    return makeError(Errc::kInvalidArgument,
                     fmt::format("tunnel {}: if_id must not be 0", tunnel.name));
  }
  const Lifetimes life = computeLifetimes(tunnel);
  const std::string if_id = num(tunnel.if_id);
  const std::string local_id = appliance.public_ip.toString();
  const std::string remote_ip = tunnel.aws_outside_ip.toString();

  vici::Message message;
  vici::Section& conn = message.addSection(tunnel.name);
  conn.add("version", "2");
  conn.addList("remote_addrs", {remote_ip});
  if (!tunnel.ike_proposals.empty()) {
    conn.addList("proposals", tunnel.ike_proposals);
  }
  conn.add("encap", "yes");
  conn.add("mobike", "no");
  conn.add("unique", "replace");
  conn.add("dpd_delay", num(tunnel.dpd_interval_s));
  conn.add("keyingtries", "0");
  conn.add("rekey_time", num(life.ike_rekey_s));
  conn.add("over_time", num(life.ike_over_s));
  conn.add("rand_time", num(life.ike_rand_s));
  conn.add("reauth_time", "0");
  conn.add("if_id_in", if_id);
  conn.add("if_id_out", if_id);
  conn.addSection("local").add("auth", "psk").add("id", local_id);
  conn.addSection("remote").add("auth", "psk").add("id", remote_ip);

  vici::Section& child = conn.addSection("children").addSection(tunnel.name);
  child.add("mode", "tunnel");
  if (!tunnel.esp_proposals.empty()) {
    child.addList("esp_proposals", tunnel.esp_proposals);
  }
  child.addList("local_ts", {kAnyNetwork});
  child.addList("remote_ts", {kAnyNetwork});
  child.add("rekey_time", num(life.child_rekey_s));
  child.add("life_time", num(life.child_life_s));
  child.add("rand_time", num(life.child_rand_s));
  child.add("start_action", "start");
  child.add("dpd_action", "restart");
  child.add("close_action", "restart");
  child.add("if_id_in", if_id);
  child.add("if_id_out", if_id);
  child.add("replay_window", num(tunnel.replay_window));
  return message;
}

vici::Message buildLoadShared(const config::Appliance& appliance, const config::Tunnel& tunnel,
                              const Secret& psk) {
  vici::Message message;
  message.add("id", secretId(tunnel));
  message.add("type", "IKE");
  message.addSecret("data", psk.view());
  message.addList("owners", {appliance.public_ip.toString(), tunnel.aws_outside_ip.toString()});
  return message;
}

Result<Secret> readPskFile(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    return makeError(Errc::kIo,
                     fmt::format("{}: cannot open PSK file: {}", path.string(), strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return makeError(Errc::kInvalidArgument,
                     fmt::format("{}: PSK file is not a regular file", path.string()));
  }
  if (static_cast<size_t>(st.st_size) > kMaxPskFileSize) {
    return makeError(Errc::kInvalidArgument, fmt::format("{}: PSK file is larger than {} bytes",
                                                         path.string(), kMaxPskFileSize));
  }
  std::vector<uint8_t> buf(kMaxPskFileSize + 1);
  size_t len = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data() + len, buf.size() - len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      explicit_bzero(buf.data(), buf.size());
      return makeError(Errc::kIo,
                       fmt::format("{}: cannot read PSK file: {}", path.string(), strerror(errno)));
    }
    if (n == 0 || len + static_cast<size_t>(n) >= buf.size()) {
      len += static_cast<size_t>(n);
      break;
    }
    len += static_cast<size_t>(n);
  }
  if (len > kMaxPskFileSize) {
    explicit_bzero(buf.data(), buf.size());
    return makeError(Errc::kInvalidArgument, fmt::format("{}: PSK file is larger than {} bytes",
                                                         path.string(), kMaxPskFileSize));
  }
  if (len > 0 && buf[len - 1] == '\n') {
    --len;
    if (len > 0 && buf[len - 1] == '\r') {
      --len;
    }
  }
  Secret secret(std::span<const uint8_t>(buf.data(), len));
  explicit_bzero(buf.data(), buf.size());
  if (secret.empty()) {
    return makeError(Errc::kInvalidArgument, fmt::format("{}: PSK file is empty", path.string()));
  }
  return secret;
}

}  // namespace crossgate::ikev2
