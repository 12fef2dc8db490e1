// Where a verb finds a daemon's socket: its --socket option, else the key of the config file
// (read without secrets, so that unprivileged status checks work), else the built-in default.
#pragma once

#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "command.h"
#include "crossgate/mgmt/config_loader.h"

namespace crossgate::cli {

// pick(config) returns the socket path the config names.
template <typename Pick>
std::string socketPath(const std::string& option, const GlobalOptions& globals,
                       const char* fallback, Pick pick) {
  if (!option.empty()) {
    return option;
  }
  struct stat st {};
  if (::stat(globals.config_path.c_str(), &st) != 0) {
    return fallback;
  }
  config::LoadOptions load;
  load.check_secret_files = false;
  config::LoadResult result = config::loadFile(globals.config_path, load);
  if (!result.ok()) {
    std::fprintf(stderr, "crossgate: %s is invalid (see `crossgate config check`); using %s\n",
                 globals.config_path.c_str(), fallback);
    return fallback;
  }
  return pick(*result.config);
}

}  // namespace crossgate::cli
