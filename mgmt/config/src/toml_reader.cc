#include "toml_reader.h"

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "values.h"

namespace crossgate::config::detail {
namespace {

bool isBareKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// A key as TOML would spell it: bare, or in double quotes with '"', '\' and control
// characters escaped.
std::string displayKey(std::string_view key) {
  if (isBareKey(key)) {
    return std::string(key);
  }
  std::string out = "\"";
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// "vpn[0].tunnel" -> "vpn.tunnel": the name of a table header for messages.
std::string headerName(std::string_view path) {
  std::string out;
  bool in_index = false;
  for (char c : path) {
    if (c == '[') {
      in_index = true;
    } else if (c == ']') {
      in_index = false;
    } else if (!in_index) {
      out += c;
    }
  }
  return out;
}

bool isSecretKey(std::string_view key) {
  std::string lower;
  for (char c : key) {
    lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return lower == "psk" || lower == "pre_shared_key" || lower == "secret";
}

}  // namespace

std::string Loc::where() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) {
      out += ":" + std::to_string(column);
    }
  }
  return out;
}

void Diagnostics::add(const Loc& loc, std::string message) {
  entries_.push_back(
      Entry{loc.doc, Diagnostic{loc.file, loc.line, loc.column, loc.path, std::move(message)}});
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  std::vector<Entry> entries = entries_;
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.doc, a.diagnostic.line, a.diagnostic.column) <
           std::tie(b.doc, b.diagnostic.line, b.diagnostic.column);
  });
  std::vector<Diagnostic> out;
  out.reserve(entries.size());
  for (auto& e : entries) {
    out.push_back(std::move(e.diagnostic));
  }
  return out;
}

std::string childPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) {
    return displayKey(key);
  }
  return std::string(parent) + "." + displayKey(key);
}

std::string indexPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

Loc Document::locate(const toml::source_region& source, std::string path) const {
  return Loc{index, file, static_cast<int>(source.begin.line),
             static_cast<int>(source.begin.column), std::move(path)};
}

std::string_view describe(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

TableReader::TableReader(const Document& doc, const toml::table& table, std::string path)
    : doc_(doc), table_(table), path_(std::move(path)) {}

TableReader::~TableReader() { finish(); }

Loc TableReader::loc() const {
  if (path_.empty()) {  // the root table: no useful position
    return Loc{doc_.index, doc_.file, 0, 0, ""};
  }
  return doc_.locate(table_.source(), path_);
}

Loc TableReader::keyLoc(std::string_view key) const {
  if (const toml::node* node = table_.get(key)) {
    return doc_.locate(node->source(), childPath(path_, key));
  }
  Loc at = loc();
  at.path = childPath(path_, key);
  return at;
}

bool TableReader::has(std::string_view key) {
  known_.emplace(key);
  return table_.contains(key);
}

void TableReader::error(std::string_view key, std::string message) const {
  doc_.error(keyLoc(key), std::move(message));
}

const toml::node* TableReader::get(std::string_view key, Need need) {
  known_.emplace(key);
  const toml::node* node = table_.get(key);
  if (node == nullptr && need == Need::kRequired) {
    error(key, "required key is missing");
  }
  return node;
}

void TableReader::typeError(std::string_view key, const toml::node& node,
                            std::string_view expected) {
  error(key, "expected " + std::string(expected) + ", found " + std::string(describe(node.type())));
}

std::optional<Located<std::string>> TableReader::string(std::string_view key, Need need) {
  const toml::node* node = get(key, need);
  if (node == nullptr) {
    return std::nullopt;
  }
  const auto* value = node->as_string();
  if (value == nullptr) {
    typeError(key, *node, "a string");
    return std::nullopt;
  }
  if (hasControlCharacter(value->get())) {
    error(key, "control characters are not allowed");
    return std::nullopt;
  }
  return Located<std::string>{value->get(), keyLoc(key)};
}

std::optional<bool> TableReader::boolean(std::string_view key, bool* out) {
  const toml::node* node = get(key, Need::kOptional);
  if (node == nullptr) {
    return std::nullopt;
  }
  const auto* value = node->as_boolean();
  if (value == nullptr) {
    typeError(key, *node, "a boolean (true or false)");
    return std::nullopt;
  }
  *out = value->get();
  return *out;
}

std::optional<uint32_t> TableReader::u32(std::string_view key, uint32_t* out, uint32_t min,
                                         uint32_t max, Need need, std::string_view what) {
  const toml::node* node = get(key, need);
  if (node == nullptr) {
    return std::nullopt;
  }
  const auto* value = node->as_integer();
  if (value == nullptr) {
    typeError(key, *node, "an integer");
    return std::nullopt;
  }
  const int64_t v = value->get();
  if (v < static_cast<int64_t>(min) || v > static_cast<int64_t>(max)) {
    error(key, "must be " + std::to_string(min) + ".." + std::to_string(max) + std::string(what) +
                   ", found " + std::to_string(v));
    return std::nullopt;
  }
  *out = static_cast<uint32_t>(v);
  return *out;
}

std::optional<std::vector<Located<std::string>>> TableReader::strings(std::string_view key,
                                                                      Need need, bool non_empty) {
  const toml::node* node = get(key, need);
  if (node == nullptr) {
    return std::nullopt;
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    typeError(key, *node, "an array of strings");
    return std::nullopt;
  }
  if (non_empty && array->empty()) {
    error(key, "must list at least one value");
    return std::nullopt;
  }
  std::vector<Located<std::string>> out;
  const std::string base = childPath(path_, key);
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const Loc at = doc_.locate(element.source(), indexPath(base, i));
    const auto* value = element.as_string();
    if (value == nullptr) {
      doc_.error(at, "expected a string, found " + std::string(describe(element.type())));
    } else if (hasControlCharacter(value->get())) {
      doc_.error(at, "control characters are not allowed");
    } else {
      out.push_back(Located<std::string>{value->get(), at});
    }
  }
  return out;
}

const toml::table* TableReader::table(std::string_view key, Need need) {
  known_.emplace(key);
  const toml::node* node = table_.get(key);
  const std::string header = "[" + headerName(childPath(path_, key)) + "]";
  if (node == nullptr) {
    if (need == Need::kRequired) {
      error(key, "required table " + header + " is missing");
    }
    return nullptr;
  }
  const auto* table = node->as_table();
  if (table == nullptr) {
    typeError(key, *node, "a table " + header);
  }
  return table;
}

const toml::array* TableReader::tables(std::string_view key, Need need) {
  known_.emplace(key);
  const toml::node* node = table_.get(key);
  const std::string header = "[[" + headerName(childPath(path_, key)) + "]]";
  if (node == nullptr) {
    if (need == Need::kRequired) {
      error(key, "at least one " + header + " table is required");
    }
    return nullptr;
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    typeError(key, *node, "an array of tables " + header);
    return nullptr;
  }
  const std::string base = childPath(path_, key);
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    if (!element.is_table()) {
      doc_.error(doc_.locate(element.source(), indexPath(base, i)),
                 "expected a table " + header + ", found " + std::string(describe(element.type())));
    }
  }
  return array;
}

std::optional<Located<IpAddress>> TableReader::ip(std::string_view key, Need need) {
  auto text = string(key, need);
  if (!text) {
    return std::nullopt;
  }
  std::string why;
  auto ip = parseIp(text->value, &why);
  if (!ip) {
    doc_.error(text->loc, why);
    return std::nullopt;
  }
  return Located<IpAddress>{*ip, text->loc};
}

std::optional<Located<Cidr>> TableReader::cidr(std::string_view key, Need need) {
  auto text = string(key, need);
  if (!text) {
    return std::nullopt;
  }
  std::string why;
  auto cidr = parseCidr(text->value, &why);
  if (!cidr) {
    doc_.error(text->loc, why);
    return std::nullopt;
  }
  return Located<Cidr>{*cidr, text->loc};
}

std::vector<Located<Cidr>> TableReader::cidrs(std::string_view key, Need need) {
  std::vector<Located<Cidr>> out;
  for (const auto& text :
       strings(key, need, need == Need::kRequired).value_or(std::vector<Located<std::string>>{})) {
    std::string why;
    if (auto cidr = parseCidr(text.value, &why)) {
      out.push_back(Located<Cidr>{*cidr, text.loc});
    } else {
      doc_.error(text.loc, why);
    }
  }
  return out;
}

std::vector<IpAddress> TableReader::ips(std::string_view key) {
  std::vector<IpAddress> out;
  for (const auto& text : strings(key).value_or(std::vector<Located<std::string>>{})) {
    std::string why;
    if (auto ip = parseIp(text.value, &why)) {
      out.push_back(*ip);
    } else {
      doc_.error(text.loc, why);
    }
  }
  return out;
}

std::vector<DnsEndpoint> TableReader::endpoints(std::string_view key, Need need) {
  std::vector<DnsEndpoint> out;
  for (const auto& text :
       strings(key, need, need == Need::kRequired).value_or(std::vector<Located<std::string>>{})) {
    std::string why;
    if (auto endpoint = parseEndpoint(text.value, 53, &why)) {
      out.push_back(*endpoint);
    } else {
      doc_.error(text.loc, why);
    }
  }
  return out;
}

std::optional<std::string> TableReader::dnsName(std::string_view key, Need need) {
  auto text = string(key, need);
  if (!text) {
    return std::nullopt;
  }
  std::string why;
  auto name = normalizeDnsName(text->value, &why);
  if (!name) {
    doc_.error(text->loc, why);
  }
  return name;
}

void TableReader::absolutePath(std::string_view key, std::filesystem::path* out, bool is_socket) {
  auto text = string(key);
  if (!text) {
    return;
  }
  std::string why;
  if (!isValidAbsolutePath(text->value, is_socket, &why)) {
    doc_.error(text->loc, why);
    return;
  }
  *out = text->value;
}

void TableReader::reportUnknown(const toml::key& key) {
  const Loc at = doc_.locate(key.source(), childPath(path_, key.str()));
  if (isSecretKey(key.str())) {
    doc_.error(at,
               "secrets do not belong in the config file: write the pre-shared key to a file "
               "with mode 0600 and name that file with psk_file");
    return;
  }
  if (doc_.only_vpn_tables && path_.empty()) {
    doc_.error(
        at, "not allowed in an included file: " + doc_.file + " may contain only [[vpn]] tables");
    return;
  }
  const std::string shown =
      isBareKey(key.str()) ? "'" + std::string(key.str()) + "'" : displayKey(key.str());
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const auto& candidate : known_) {
    const size_t d = editDistance(key.str(), candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  if (best_distance <= 2 && best_distance < key.str().size()) {
    doc_.error(at, "unknown key " + shown + "; did you mean '" + best + "'?");
    return;
  }
  std::string allowed;
  for (const auto& candidate : known_) {
    allowed += (allowed.empty() ? "" : ", ") + candidate;
  }
  doc_.error(at, "unknown key " + shown + "; allowed keys: " + allowed);
}

void TableReader::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  for (const auto& [key, node] : table_) {
    if (known_.find(key.str()) == known_.end()) {
      reportUnknown(key);
    }
  }
}

bool Registry::claim(const Document& doc, std::string_view kind, std::string_view what,
                     const std::string& value, const Loc& loc) {
  std::string slot = std::string(kind) + '\n' + value;
  auto [it, inserted] = claims_.emplace(std::move(slot), loc);
  if (!inserted) {
    doc.error(loc, std::string(what) + " '" + value + "' is already used by " + it->second.path +
                       " (" + it->second.where() + ")");
  }
  return inserted;
}

void Registry::addNetwork(size_t vpn, bool remote, const Located<Cidr>& cidr) {
  networks_.push_back(Network{vpn, remote, cidr});
}

void Registry::checkNetworks(Diagnostics& diagnostics) const {
  for (size_t j = 0; j < networks_.size(); ++j) {
    const Network& b = networks_[j];
    for (size_t i = 0; i < j; ++i) {
      const Network& a = networks_[i];
      if (a.remote == b.remote || !a.cidr.value.overlaps(b.cidr.value)) {
        continue;
      }
      diagnostics.add(b.cidr.loc, "overlaps " + std::string(a.remote ? "remote" : "local") +
                                      " network " + a.cidr.value.toString() + " (" +
                                      a.cidr.loc.path + " at " + a.cidr.loc.where() +
                                      "); remote and local networks must not overlap");
    }
  }
}

}  // namespace crossgate::config::detail
