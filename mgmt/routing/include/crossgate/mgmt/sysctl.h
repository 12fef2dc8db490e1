// sysctls behind an interface: ProcSysctl writes /proc/sys, MemorySysctl keeps a map for tests.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "crossgate/common/result.h"

namespace crossgate::routing {

class Sysctl {
 public:
  virtual ~Sysctl() = default;
  // `key` in dotted form ("net.ipv4.ip_forward"); interface names may contain dots only if
  // passed through sysctlKey().
  virtual Status write(const std::string& key, const std::string& value) = 0;
  virtual Result<std::string> read(const std::string& key) = 0;
};

class ProcSysctl : public Sysctl {
 public:
  explicit ProcSysctl(std::filesystem::path root = "/proc/sys") : root_(std::move(root)) {}
  Status write(const std::string& key, const std::string& value) override;
  Result<std::string> read(const std::string& key) override;

 private:
  Result<std::filesystem::path> pathOf(const std::string& key) const;
  std::filesystem::path root_;
};

class MemorySysctl : public Sysctl {
 public:
  Status write(const std::string& key, const std::string& value) override;
  Result<std::string> read(const std::string& key) override;
  std::map<std::string, std::string> values;
};

// net.ipv4.ip_forward = 1; net.ipv4.conf.<if>.rp_filter = 2 (loose) for every tunnel interface
// (and "all" stays as it is: the kernel uses max(all, if)).
Status applyRoutingSysctls(Sysctl& sysctl, const std::vector<std::string>& tunnel_interfaces);

}  // namespace crossgate::routing
