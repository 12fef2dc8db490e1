// Reading TOML tables into the config model while collecting every problem: typed getters that
// know their key path and source position, unknown-key detection, and a registry for checks
// that span the whole configuration (unique names, overlapping networks).
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "crossgate/mgmt/config_loader.h"

namespace crossgate::config::detail {

// Where a value is: file, position and key path.
struct Loc {
  size_t doc = 0;  // index of the document in load order (for sorting diagnostics)
  std::string file;
  int line = 0;
  int column = 0;
  std::string path;

  // "file:line:column" (position parts omitted when 0).
  std::string where() const;
};

template <typename T>
struct Located {
  T value;
  Loc loc;
};

// All diagnostics of one load, from every document.
class Diagnostics {
 public:
  void add(const Loc& loc, std::string message);
  bool empty() const { return entries_.empty(); }
  // Sorted by document, line, column (insertion order among equals).
  std::vector<Diagnostic> sorted() const;

 private:
  struct Entry {
    size_t doc;
    Diagnostic diagnostic;
  };
  std::vector<Entry> entries_;
};

// "appliance.name", "vpn[0]", quoting keys that are not bare TOML keys.
std::string childPath(std::string_view parent, std::string_view key);
std::string indexPath(std::string_view parent, size_t index);

// One TOML document being read (the main file or an included one).
struct Document {
  size_t index = 0;
  std::string file;                // as shown in diagnostics
  std::filesystem::path base_dir;  // absolute; relative paths in the file resolve against it
  bool only_vpn_tables = false;    // an included file: [[vpn]] tables only
  const LoadOptions* options = nullptr;
  Diagnostics* diagnostics = nullptr;

  Loc locate(const toml::source_region& source, std::string path) const;
  void error(const Loc& loc, std::string message) const {
    diagnostics->add(loc, std::move(message));
  }
};

enum class Need { kOptional, kRequired };

// Reads one table. Every getter marks its key as known; finish() (or the destructor) reports
// the keys nobody asked for as unknown, suggesting the closest known key.
class TableReader {
 public:
  TableReader(const Document& doc, const toml::table& table, std::string path);
  ~TableReader();
  TableReader(const TableReader&) = delete;
  TableReader& operator=(const TableReader&) = delete;

  const Document& doc() const { return doc_; }
  const std::string& path() const { return path_; }
  Loc loc() const;                         // the table itself
  Loc keyLoc(std::string_view key) const;  // the key's value, or the table if absent
  // Whether `key` is present; marks it as known like the getters do.
  bool has(std::string_view key);
  void error(std::string_view key, std::string message) const;

  std::optional<Located<std::string>> string(std::string_view key, Need need = Need::kOptional);
  std::optional<bool> boolean(std::string_view key, bool* out);
  // Integer in [min, max]; `what` completes "must be <min>..<max><what>".
  std::optional<uint32_t> u32(std::string_view key, uint32_t* out, uint32_t min, uint32_t max,
                              Need need = Need::kOptional, std::string_view what = {});
  // An array of strings, each with its own location ("key[i]"). Nullopt if absent or not an
  // array of strings; elements of the wrong type are reported and skipped.
  std::optional<std::vector<Located<std::string>>> strings(std::string_view key,
                                                           Need need = Need::kOptional,
                                                           bool non_empty = false);
  const toml::table* table(std::string_view key, Need need = Need::kOptional);
  // An array of tables ([[key]] or key = [{...}]).
  const toml::array* tables(std::string_view key, Need need = Need::kOptional);

  // Typed values parsed from strings (errors reported at the value).
  std::optional<Located<IpAddress>> ip(std::string_view key, Need need = Need::kOptional);
  std::optional<Located<Cidr>> cidr(std::string_view key, Need need = Need::kOptional);
  std::vector<Located<Cidr>> cidrs(std::string_view key, Need need = Need::kOptional);
  std::vector<IpAddress> ips(std::string_view key);
  std::vector<DnsEndpoint> endpoints(std::string_view key, Need need = Need::kOptional);
  std::optional<std::string> dnsName(std::string_view key, Need need = Need::kOptional);
  // An absolute path (sockets: also short enough for sun_path).
  void absolutePath(std::string_view key, std::filesystem::path* out, bool is_socket);

  void finish();

 private:
  const toml::node* get(std::string_view key, Need need);
  void typeError(std::string_view key, const toml::node& node, std::string_view expected);
  void reportUnknown(const toml::key& key);

  const Document& doc_;
  const toml::table& table_;
  std::string path_;
  std::set<std::string, std::less<>> known_;
  bool finished_ = false;
};

// "a string", "an integer", ... for messages.
std::string_view describe(toml::node_type type);

// Values that must be unique across the whole configuration, and the networks to compare.
class Registry {
 public:
  // Records `value` in the namespace `kind` at `loc`. If it was recorded before, reports
  // "<what> '<value>' is already used by <first path> (<first position>)" at `loc`.
  bool claim(const Document& doc, std::string_view kind, std::string_view what,
             const std::string& value, const Loc& loc);

  struct Network {
    size_t vpn;
    bool remote;
    Located<Cidr> cidr;
  };
  void addNetwork(size_t vpn, bool remote, const Located<Cidr>& cidr);
  // Remote and local networks must not overlap, within a VPN or across VPNs.
  void checkNetworks(Diagnostics& diagnostics) const;

 private:
  std::map<std::string, Loc, std::less<>> claims_;
  std::vector<Network> networks_;
};

}  // namespace crossgate::config::detail
