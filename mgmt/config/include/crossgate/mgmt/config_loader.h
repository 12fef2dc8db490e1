// Loading and validating the crossgate TOML file: parse -> validate the whole document ->
// immutable Config. Every problem found is reported (not just the first), each naming the file,
// line, column and key path; a document with any error yields no Config.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crossgate/mgmt/config.h"

namespace crossgate::config {

struct Diagnostic {
  std::string file;      // as given to the loader
  int line = 0;          // 1-based; 0 if the problem has no position (e.g. a missing table)
  int column = 0;        // 1-based; 0 if unknown
  std::string key_path;  // e.g. "vpn[0].tunnel[1].psk_file"
  std::string message;   // e.g. "not readable: No such file or directory"

  // "file:line:column: key_path: message" (position parts omitted when 0).
  std::string toString() const;
};

struct LoadOptions {
  // Check that PSK files exist, are regular files, and have mode 0600 or stricter.
  bool check_secret_files = true;
  // Read the files named by the top-level `include` globs. With false, the patterns are still
  // checked but no other file is read (for checking one file alone, and for fuzzing).
  bool follow_includes = true;
};

struct LoadResult {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<Diagnostic> errors;
  bool ok() const { return config.has_value(); }
};

LoadResult loadFile(const std::filesystem::path& path, const LoadOptions& options = {});

// `source_name` is used in diagnostics and as the base for relative paths (its parent dir).
LoadResult loadString(std::string_view toml, const std::filesystem::path& source_name,
                      const LoadOptions& options = {});

}  // namespace crossgate::config
