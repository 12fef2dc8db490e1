// loadFile/loadString: parse the main file and its includes, read every section while
// collecting all problems, then run the whole-configuration checks.
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <system_error>

#include "crossgate/common/unique_fd.h"
#include "crossgate/mgmt/config_loader.h"
#include "sections.h"
#include "toml_reader.h"

namespace crossgate::config {
namespace detail {
namespace {

namespace fs = std::filesystem;

constexpr off_t kMaxFileSize = off_t{16} << 20;

// Reads a whole regular file (at most 16 MiB). On failure sets *error.
std::optional<std::string> readFile(const fs::path& path, std::string* error) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = "not a regular file";
    return std::nullopt;
  }
  if (st.st_size > kMaxFileSize) {
    *error = "larger than 16 MiB";
    return std::nullopt;
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      *error = std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) {
      break;
    }
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > static_cast<size_t>(kMaxFileSize)) {
      *error = "larger than 16 MiB";
      return std::nullopt;
    }
  }
  return text;
}

fs::path absoluteDir(const fs::path& file) {
  std::error_code ec;
  fs::path absolute = fs::absolute(file.empty() ? fs::path("config") : file, ec);
  return ec ? fs::path("/") : absolute.parent_path();
}

Document makeDocument(size_t index, const fs::path& file, bool only_vpn_tables,
                      const LoadOptions& options, Diagnostics& diagnostics) {
  return Document{index, file.string(), absoluteDir(file), only_vpn_tables, &options, &diagnostics};
}

std::optional<toml::table> parseToml(std::string_view text, const Document& doc) {
  try {
    return toml::parse(text, std::string_view(doc.file));
  } catch (const toml::parse_error& e) {
    doc.error(doc.locate(e.source(), ""), std::string(e.description()));
    return std::nullopt;
  }
}

bool hasGlobMagic(std::string_view pattern) {
  return pattern.find_first_of("*?[") != std::string_view::npos;
}

std::string escapeGlob(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

thread_local std::vector<std::string>* glob_errors = nullptr;

int onGlobError(const char* path, int error) {
  if (glob_errors != nullptr && error != ENOENT && error != ENOTDIR) {
    glob_errors->push_back(std::string("cannot read directory '") + path +
                           "': " + std::strerror(error));
  }
  return 0;  // keep going
}

// Expands one include pattern, relative to the main file's directory, into sorted paths. A
// pattern without wildcards must name an existing file; a wildcard may match nothing.
std::vector<std::string> expandInclude(const Document& main, const fs::path& main_file,
                                       const Located<std::string>& pattern) {
  std::string full = pattern.value;
  std::string shown = pattern.value;
  if (!fs::path(pattern.value).is_absolute() && !main_file.parent_path().empty()) {
    full = escapeGlob(main_file.parent_path().string()) + "/" + pattern.value;
    shown = (main_file.parent_path() / pattern.value).string();
  }
  std::vector<std::string> errors;
  glob_errors = &errors;
  glob_t matches{};
  const int rc = ::glob(full.c_str(), 0, onGlobError, &matches);
  glob_errors = nullptr;
  std::vector<std::string> paths;
  if (rc == 0) {
    paths.assign(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
  }
  ::globfree(&matches);
  for (auto& error : errors) {
    main.error(pattern.loc, std::move(error));
  }
  if (rc == GLOB_NOSPACE) {
    main.error(pattern.loc, "out of memory expanding '" + shown + "'");
  } else if (rc == GLOB_NOMATCH && !hasGlobMagic(pattern.value)) {
    main.error(pattern.loc, "cannot read '" + shown + "': No such file or directory");
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

void loadInclude(const std::string& path, const Located<std::string>& pattern, const Document& doc,
                 Config* config, Registry& registry) {
  std::string why;
  const auto text = readFile(path, &why);
  if (!text) {
    doc.diagnostics->add(pattern.loc, "cannot read '" + path + "': " + why);
    return;
  }
  if (auto root = parseToml(*text, doc)) {
    TableReader r(doc, *root, "");
    readVpns(r, &config->vpns, registry);
  }
}

void loadIncludes(const Document& main, const fs::path& main_file,
                  const std::vector<Located<std::string>>& patterns, Config* config,
                  Registry& registry) {
  std::error_code ec;
  const fs::path main_canonical = fs::weakly_canonical(fs::absolute(main_file, ec), ec);
  std::set<fs::path> seen;
  size_t index = main.index;
  for (const auto& pattern : patterns) {
    if (pattern.value.empty()) {
      main.error(pattern.loc, "must be a file name or a glob such as \"vpn.d/*.toml\"");
      continue;
    }
    if (!main.options->follow_includes) {
      continue;
    }
    for (const auto& path : expandInclude(main, main_file, pattern)) {
      const fs::path canonical = fs::weakly_canonical(fs::absolute(path, ec), ec);
      if (!canonical.empty() && canonical == main_canonical) {
        main.error(pattern.loc, "'" + path + "' is the main config file; it cannot include itself");
        continue;
      }
      if (!seen.insert(canonical).second) {
        continue;  // matched by an earlier pattern
      }
      const Document doc = makeDocument(++index, path, true, *main.options, *main.diagnostics);
      loadInclude(path, pattern, doc, config, registry);
    }
  }
}

LoadResult load(std::string_view text, const fs::path& source, const LoadOptions& options) {
  Diagnostics diagnostics;
  Registry registry;
  Config config;
  config.source = source;
  const Document main = makeDocument(0, source, false, options, diagnostics);
  if (auto root = parseToml(text, main)) {
    std::optional<std::vector<Located<std::string>>> includes;
    {
      TableReader r(main, *root, "");
      readAppliance(r, &config.appliance, registry);
      readVpns(r, &config.vpns, registry);
      readNat(r, &config.nat);
      readDns(r, &config.dns, registry);
      readMgmt(r, &config.mgmt);
      includes = r.strings("include");
    }
    if (includes) {
      loadIncludes(main, source, *includes, &config, registry);
    }
  }
  registry.checkNetworks(diagnostics);
  LoadResult result;
  result.errors = diagnostics.sorted();
  if (result.errors.empty()) {
    result.config = std::move(config);
  }
  return result;
}

}  // namespace
}  // namespace detail

LoadResult loadString(std::string_view toml, const std::filesystem::path& source_name,
                      const LoadOptions& options) {
  return detail::load(toml, source_name, options);
}

LoadResult loadFile(const std::filesystem::path& path, const LoadOptions& options) {
  std::string why;
  const auto text = detail::readFile(path, &why);
  if (!text) {
    LoadResult result;
    result.errors.push_back(Diagnostic{path.string(), 0, 0, "", "cannot read file: " + why});
    return result;
  }
  return detail::load(*text, path, options);
}

}  // namespace crossgate::config
