// Helpers for the config loader tests: a temporary directory, files with a given mode, a small
// valid configuration to derive broken ones from, and line-level edits of it.
#pragma once

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "crossgate/mgmt/config_loader.h"

namespace crossgate::config::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cg-config-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void writeFile(const std::filesystem::path& path, const std::string& content,
                      mode_t mode = 0644) {
  std::filesystem::create_directories(path.parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }
  if (::chmod(path.c_str(), mode) != 0) {
    throw std::runtime_error("chmod failed");
  }
}

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A minimal valid configuration. Line numbers matter to the tests:
//   1 [appliance]            7 [[vpn]]           12 [[vpn.tunnel]]      18 [[vpn.tunnel]]
//   13 aws_outside_ip        14 inside_cidr      15 psk_file            16 if_id
//   19 aws_outside_ip        20 inside_cidr      21 psk_file            22 if_id
inline const char* kBaseConfig = R"([appliance]
name = "cg-1"
wan_interface = "eth0"
lan_interface = "eth1"
public_ip = "203.0.113.10"

[[vpn]]
name = "prod"
remote_networks = ["10.10.0.0/16"]
local_networks = ["10.20.0.0/16"]

[[vpn.tunnel]]
aws_outside_ip = "198.51.100.17"
inside_cidr = "169.254.44.0/30"
psk_file = "secrets/t1.psk"
if_id = 1

[[vpn.tunnel]]
aws_outside_ip = "198.51.100.18"
inside_cidr = "169.254.45.0/30"
psk_file = "secrets/t2.psk"
if_id = 2
)";

inline std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    lines.push_back(line);
  }
  return lines;
}

inline std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    out += line + "\n";
  }
  return out;
}

// Replaces line `n` (1-based) with `text` (which may hold several lines).
inline std::string replaceLine(const std::string& config, size_t n, const std::string& text) {
  auto lines = splitLines(config);
  lines.at(n - 1) = text;
  return joinLines(lines);
}

// Inserts `text` after line `n` (0 = at the top).
inline std::string insertAfter(const std::string& config, size_t n, const std::string& text) {
  auto lines = splitLines(config);
  lines.insert(lines.begin() + static_cast<long>(n), text);
  return joinLines(lines);
}

inline std::vector<std::string> messages(const LoadResult& result) {
  std::vector<std::string> out;
  for (const auto& d : result.errors) {
    out.push_back(d.toString());
  }
  return out;
}

// A directory holding crossgate.toml (written by load()) and the two PSK files of kBaseConfig.
class ConfigDir {
 public:
  ConfigDir() {
    writeFile(dir_ / "secrets/t1.psk", "key-one\n", 0600);
    writeFile(dir_ / "secrets/t2.psk", "key-two\n", 0600);
  }
  std::filesystem::path file() const { return dir_ / "crossgate.toml"; }
  const TempDir& dir() const { return dir_; }
  // Writes `text` as crossgate.toml and loads it; diagnostics name the file by its full path.
  LoadResult load(const std::string& text, const LoadOptions& options = {}) const {
    writeFile(file(), text);
    return loadFile(file(), options);
  }
  // The prefix of every diagnostic about crossgate.toml at line:column.
  std::string at(int line, int column) const {
    return file().string() + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  }

 private:
  TempDir dir_;
};

}  // namespace crossgate::config::testing
