// The XML CustomerGatewayConfiguration (what `aws ec2 describe-vpn-connections` returns and what
// AWS renders the Generic text file from):
//   <vpn_connection id="vpn-..."> customer_gateway_id, vpn_gateway_id, vpn_connection_type,
//   ipsec_tunnel* { customer_gateway|vpn_gateway { tunnel_outside_address/ip_address,
//   tunnel_inside_address/{ip_address,network_mask,network_cidr}, bgp/{asn,hold_time} },
//   ike/{authentication_protocol,encryption_protocol,lifetime,perfect_forward_secrecy,mode,
//   pre_shared_key}, ipsec/{protocol,authentication_protocol,encryption_protocol,lifetime,
//   perfect_forward_secrecy,mode,tcp_mss_adjustment,dead_peer_detection/{interval,retries}} }
// Parsed with Boost.PropertyTree (rapidxml: no external entities, no network). Line numbers are
// recovered from the raw text by locating each element's start tag inside its tunnel.
#include <algorithm>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "raw.h"

namespace crossgate::aws_import::detail {
namespace {

namespace pt = boost::property_tree;

constexpr int kMaxDepth = 32;

bool isNameEnd(char c) {
  return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int lineAt(std::string_view text, size_t pos);

// A pre-pass over the raw text, before the recursive parser sees it: element nesting is
// bounded (kMaxDepth) and every closing tag must match its opening tag (rapidxml, as
// Boost.PropertyTree runs it, does not check that). Comments, CDATA, declarations and quoted
// attribute values are skipped. Returns an error for the first problem.
std::optional<ImportError> checkStructure(std::string_view s) {
  struct Open {
    std::string_view name;
    size_t pos;
  };
  std::vector<Open> stack;
  size_t i = 0;
  auto skipTo = [&](std::string_view end) {
    const size_t at = s.find(end, i);
    i = at == std::string_view::npos ? s.size() : at + end.size();
  };
  auto nameAt = [&](size_t from) {
    size_t to = from;
    while (to < s.size() && !isNameEnd(s[to])) {
      ++to;
    }
    return s.substr(from, to - from);
  };
  while ((i = s.find('<', i)) != std::string_view::npos) {
    const size_t start = i;
    const std::string_view rest = s.substr(i);
    if (rest.substr(0, 4) == "<!--") {
      skipTo("-->");
    } else if (rest.substr(0, 9) == "<![CDATA[") {
      skipTo("]]>");
    } else if (rest.substr(0, 2) == "<?") {
      skipTo("?>");
    } else if (rest.substr(0, 2) == "<!") {
      int brackets = 0;
      for (++i; i < s.size(); ++i) {
        if (s[i] == '[') {
          ++brackets;
        } else if (s[i] == ']') {
          --brackets;
        } else if (s[i] == '>' && brackets <= 0) {
          break;
        }
      }
    } else if (rest.substr(0, 2) == "</") {
      const std::string_view name = nameAt(i + 2);
      if (stack.empty() || stack.back().name != name) {
        std::string msg = "XML: </" + std::string(name.substr(0, 40)) + "> ";
        msg += stack.empty() ? "closes nothing"
                             : "does not close <" + std::string(stack.back().name.substr(0, 40)) +
                                   "> (line " + std::to_string(lineAt(s, stack.back().pos)) + ")";
        return ImportError{lineAt(s, start), "", "", std::move(msg)};
      }
      stack.pop_back();
      skipTo(">");
    } else {
      const std::string_view name = nameAt(i + 1);
      char quote = 0;
      char prev = 0;
      for (++i; i < s.size(); ++i) {
        const char c = s[i];
        if (quote != 0) {
          quote = c == quote ? 0 : quote;
        } else if (c == '"' || c == '\'') {
          quote = c;
        } else if (c == '>') {
          break;
        }
        prev = c;
      }
      if (prev != '/') {
        stack.push_back({name, start});
        if (stack.size() > static_cast<size_t>(kMaxDepth)) {
          return ImportError{lineAt(s, start), "", "",
                             "XML nested deeper than " + std::to_string(kMaxDepth) +
                                 " levels; not a CustomerGatewayConfiguration"};
        }
      }
    }
  }
  return std::nullopt;
}

int lineAt(std::string_view text, size_t pos) {
  pos = std::min(pos, text.size());
  return static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(pos), '\n')) +
         1;
}

// Finds "<name" followed by a name end in [from, to).
size_t findTag(std::string_view text, std::string_view name, size_t from, size_t to) {
  const std::string open = "<" + std::string(name);
  size_t at = from;
  while ((at = text.find(open, at)) != std::string_view::npos && at < to) {
    const size_t after = at + open.size();
    if (after < text.size() && isNameEnd(text[after])) {
      return at;
    }
    at = after;
  }
  return std::string_view::npos;
}

// Maps element paths of the n-th <ipsec_tunnel> to line numbers.
class LineLocator {
 public:
  explicit LineLocator(std::string_view text) : text_(text) {
    size_t at = 0;
    while ((at = findTag(text_, "ipsec_tunnel", at, text_.size())) != std::string_view::npos) {
      starts_.push_back(at);
      at += 1;
    }
  }

  int tunnelLine(size_t index) const {
    return index < starts_.size() ? lineAt(text_, starts_[index]) : 0;
  }

  // Line of the element at `path` (segments) inside tunnel `index`; the tunnel's line if the
  // tag cannot be located.
  int line(size_t index, const std::vector<std::string_view>& path) const {
    if (index >= starts_.size()) {
      return 0;
    }
    const size_t end = index + 1 < starts_.size() ? starts_[index + 1] : text_.size();
    size_t at = starts_[index];
    for (std::string_view segment : path) {
      const size_t found = findTag(text_, segment, at, end);
      if (found == std::string_view::npos) {
        return tunnelLine(index);
      }
      at = found;
    }
    return lineAt(text_, at);
  }

  int topLine(std::string_view name) const {
    const size_t end = starts_.empty() ? text_.size() : starts_.front();
    const size_t at = findTag(text_, name, 0, end);
    return at == std::string_view::npos ? 1 : lineAt(text_, at);
  }

 private:
  std::string_view text_;
  std::vector<size_t> starts_;
};

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    const size_t slash = std::min(path.find('/', pos), path.size());
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

// The element at `path` ("a/b/c") as text, or nullptr when absent; a repeated element is an
// error (reported through `duplicate`).
const pt::ptree* child(const pt::ptree& node, std::string_view path, bool* duplicate) {
  const pt::ptree* cur = &node;
  for (std::string_view segment : splitPath(path)) {
    const std::string key(segment);
    if (cur->count(key) > 1) {
      *duplicate = true;
    }
    auto it = cur->find(key);
    if (it == cur->not_found()) {
      return nullptr;
    }
    cur = &it->second;
  }
  return cur;
}

struct XmlField {
  Field field;
  std::string_view path;
};

constexpr XmlField kXmlFields[] = {
    {Field::kCustomerOutsideIp, "customer_gateway/tunnel_outside_address/ip_address"},
    {Field::kAwsOutsideIp, "vpn_gateway/tunnel_outside_address/ip_address"},
    {Field::kCustomerAsn, "customer_gateway/bgp/asn"},
    {Field::kAwsAsn, "vpn_gateway/bgp/asn"},
    {Field::kHoldTime, "vpn_gateway/bgp/hold_time"},
    {Field::kIkeIntegrity, "ike/authentication_protocol"},
    {Field::kIkeEncryption, "ike/encryption_protocol"},
    {Field::kIkeLifetime, "ike/lifetime"},
    {Field::kIkeDh, "ike/perfect_forward_secrecy"},
    {Field::kIkeMode, "ike/mode"},
    {Field::kPsk, "ike/pre_shared_key"},
    {Field::kEspProtocol, "ipsec/protocol"},
    {Field::kEspIntegrity, "ipsec/authentication_protocol"},
    {Field::kEspEncryption, "ipsec/encryption_protocol"},
    {Field::kEspLifetime, "ipsec/lifetime"},
    {Field::kEspPfs, "ipsec/perfect_forward_secrecy"},
    {Field::kEspMode, "ipsec/mode"},
    {Field::kTcpMss, "ipsec/tcp_mss_adjustment"},
    {Field::kDpdInterval, "ipsec/dead_peer_detection/interval"},
    {Field::kDpdRetries, "ipsec/dead_peer_detection/retries"},
};

class XmlReader {
 public:
  explicit XmlReader(std::string_view text) : text_(text), lines_(text) {}

  RawConnection run() {
    raw_.format = Format::kXml;
    raw_.last_line = lineAt(text_, text_.size()) - (!text_.empty() && text_.back() == '\n' ? 1 : 0);
    if (auto error = checkStructure(text_)) {
      raw_.errors.push_back(std::move(*error));
      raw_.unreadable = true;
      return std::move(raw_);
    }
    pt::ptree doc;
    try {
      std::istringstream in{std::string(text_)};
      pt::read_xml(in, doc, pt::xml_parser::trim_whitespace | pt::xml_parser::no_comments);
    } catch (const pt::xml_parser_error& e) {
      const int line = static_cast<int>(std::min<unsigned long>(e.line(), raw_.last_line));
      raw_.errors.push_back({std::max(line, 1), "", "", "XML: " + e.message()});
      raw_.unreadable = true;
      return std::move(raw_);
    } catch (const std::exception& e) {
      raw_.errors.push_back({0, "", "", std::string("XML: ") + e.what()});
      raw_.unreadable = true;
      return std::move(raw_);
    }
    const auto root = doc.get_child_optional("vpn_connection");
    if (!root) {
      raw_.errors.push_back({1, "", "vpn_connection",
                             "no <vpn_connection> element; not a CustomerGatewayConfiguration"});
      raw_.unreadable = true;
      return std::move(raw_);
    }
    readHeader(*root);
    size_t index = 0;
    for (const auto& [name, node] : *root) {
      if (name == "ipsec_tunnel") {
        readTunnel(node, index++);
      }
    }
    return std::move(raw_);
  }

 private:
  void readHeader(const pt::ptree& root) {
    const int line = lines_.topLine("vpn_connection");
    if (auto id = root.get_optional<std::string>("<xmlattr>.id")) {
      raw_.vpn_connection_id = RawValue{*id, line};
    }
    if (auto v = root.get_optional<std::string>("vpn_gateway_id")) {
      raw_.vpn_gateway_id = RawValue{*v, lines_.topLine("vpn_gateway_id")};
      raw_.has_vpn_gateway_line = true;
    }
    if (auto v = root.get_optional<std::string>("customer_gateway_id")) {
      raw_.customer_gateway_id = RawValue{*v, lines_.topLine("customer_gateway_id")};
    }
  }

  void readTunnel(const pt::ptree& node, size_t index) {
    RawTunnel tunnel;
    tunnel.number = static_cast<int>(index + 1);
    tunnel.line = lines_.tunnelLine(index);
    tunnel.end_line = tunnel.line;
    for (int s = 1; s <= 4; ++s) {
      tunnel.section_line[s] = tunnel.line;  // sections are a text-file notion
    }
    for (const XmlField& f : kXmlFields) {
      set(tunnel, node, index, f.field, f.path);
    }
    readInside(tunnel, node, index, Field::kCustomerInsideIp, "customer_gateway");
    readInside(tunnel, node, index, Field::kAwsInsideIp, "vpn_gateway");
    tunnel.bgp_section = tunnel.at(Field::kAwsAsn).present() ||
                         tunnel.at(Field::kCustomerAsn).present() ||
                         child(node, "customer_gateway/bgp", &ignored_) != nullptr ||
                         child(node, "vpn_gateway/bgp", &ignored_) != nullptr;
    raw_.tunnels.push_back(std::move(tunnel));
  }

  void set(RawTunnel& tunnel, const pt::ptree& node, size_t index, Field field,
           std::string_view path) {
    bool duplicate = false;
    const pt::ptree* element = child(node, path, &duplicate);
    const int line = lines_.line(index, splitPath(path));
    if (duplicate) {
      raw_.errors.push_back({line, "tunnel #" + std::to_string(index + 1), std::string(path),
                             "appears more than once in this tunnel"});
    }
    if (element != nullptr) {
      tunnel.at(field) = RawValue{element->data(), line};
    }
  }

  // Inside addresses come as ip_address + network_cidr (+ network_mask); they are joined into
  // the text file's "a.b.c.d/n" form.
  void readInside(RawTunnel& tunnel, const pt::ptree& node, size_t index, Field field,
                  std::string_view side) {
    const std::string base = std::string(side) + "/tunnel_inside_address";
    bool duplicate = false;
    const pt::ptree* ip = child(node, base + "/ip_address", &duplicate);
    const pt::ptree* cidr = child(node, base + "/network_cidr", &duplicate);
    const pt::ptree* mask = child(node, base + "/network_mask", &duplicate);
    const int line = lines_.line(index, splitPath(base + "/ip_address"));
    const std::string label = "tunnel #" + std::to_string(index + 1);
    if (duplicate) {
      raw_.errors.push_back({line, label, base, "appears more than once in this tunnel"});
    }
    if (ip == nullptr) {
      return;
    }
    std::string prefix = cidr != nullptr ? cidr->data() : "";
    if (mask != nullptr && mask->data() != "255.255.255.252" && prefix == "30") {
      raw_.errors.push_back({lines_.line(index, splitPath(base + "/network_mask")), label,
                             base + "/network_mask",
                             quoteValue(mask->data()) + " does not match network_cidr 30"});
    }
    if (prefix.empty() && mask != nullptr && mask->data() == "255.255.255.252") {
      prefix = "30";
    }
    tunnel.at(field) = RawValue{prefix.empty() ? ip->data() : ip->data() + "/" + prefix, line};
  }

  std::string_view text_;
  LineLocator lines_;
  RawConnection raw_;
  bool ignored_ = false;
};

}  // namespace

RawConnection parseXmlRaw(std::string_view bytes) { return XmlReader(bytes).run(); }

}  // namespace crossgate::aws_import::detail
