// Logging: one named spdlog logger per component (dp, nl, ike, vici, dns, mgmt, cli).
// Levels: error = an operator must act, warn = degraded, info = state changes, debug,
// trace = per packet. Never log keys or PSKs.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace crossgate::log {

struct Options {
  std::string level = "info";  // trace|debug|info|warn|error|critical|off
  bool to_stderr = true;       // else stdout
  bool with_time = true;       // systemd's journal adds its own timestamps: false there
};

// Configures the defaults for every logger created afterwards (and the existing ones).
void setup(const Options& options);

// Returns the logger named `component`, creating it on first use. Thread-safe.
std::shared_ptr<spdlog::logger> get(std::string_view component);

// Parses a level name; false if unknown.
bool parseLevel(std::string_view name, spdlog::level::level_enum* out);

}  // namespace crossgate::log
