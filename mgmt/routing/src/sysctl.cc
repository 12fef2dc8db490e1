#include "crossgate/mgmt/sysctl.h"

#include <fstream>
#include <sstream>

#include "crossgate/common/log.h"

namespace crossgate::routing {
namespace {

bool validKey(const std::string& key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return key.find("..") == std::string::npos;
}

}  // namespace

Result<std::filesystem::path> ProcSysctl::pathOf(const std::string& key) const {
  if (!validKey(key)) {
    return makeError(Errc::kInvalidArgument, "sysctl: invalid key '" + key + "'");
  }
  std::string rel = key;
  for (char& c : rel) {
    if (c == '.') c = '/';
  }
  return root_ / rel;
}

Status ProcSysctl::write(const std::string& key, const std::string& value) {
  auto path = pathOf(key);
  if (!path) return std::move(path).error();
  std::ofstream out(*path);
  if (!out) {
    return makeError(Errc::kIo, "sysctl " + key + ": cannot open " + path->string());
  }
  out << value << '\n';
  out.flush();
  if (!out) {
    return makeError(Errc::kIo, "sysctl " + key + ": write of '" + value + "' failed");
  }
  return okStatus();
}

Result<std::string> ProcSysctl::read(const std::string& key) {
  auto path = pathOf(key);
  if (!path) return std::move(path).error();
  std::ifstream in(*path);
  if (!in) {
    return makeError(Errc::kNotFound, "sysctl " + key + ": cannot open " + path->string());
  }
  std::string value;
  std::getline(in, value);
  return value;
}

Status MemorySysctl::write(const std::string& key, const std::string& value) {
  if (!validKey(key)) {
    return makeError(Errc::kInvalidArgument, "sysctl: invalid key '" + key + "'");
  }
  values[key] = value;
  return okStatus();
}

Result<std::string> MemorySysctl::read(const std::string& key) {
  auto it = values.find(key);
  if (it == values.end()) return makeError(Errc::kNotFound, "sysctl " + key + ": not set");
  return it->second;
}

Status applyRoutingSysctls(Sysctl& sysctl, const std::vector<std::string>& tunnel_interfaces) {
  auto st = sysctl.write("net.ipv4.ip_forward", "1");
  if (!st) return st;
  for (const auto& ifname : tunnel_interfaces) {
    if (ifname.find('.') != std::string::npos) {
      return makeError(Errc::kInvalidArgument,
                       "sysctl: interface name '" + ifname + "' contains a dot");
    }
    st = sysctl.write("net.ipv4.conf." + ifname + ".rp_filter", "2");
    if (!st) return st;
  }
  log::get("nl")->info("sysctl: ip_forward=1, rp_filter=2 on {} tunnel interfaces",
                       tunnel_interfaces.size());
  return okStatus();
}

}  // namespace crossgate::routing
