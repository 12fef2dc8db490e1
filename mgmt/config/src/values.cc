#include "values.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

namespace crossgate::config::detail {
namespace {

bool isLower(char c) { return c >= 'a' && c <= 'z'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
char toLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool fail(std::string* error, std::string message) {
  if (error != nullptr) {
    *error = std::move(message);
  }
  return false;
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

// Parses "1".."65535" (digits only, no sign, no leading zero).
std::optional<uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p != text.data() + text.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

struct HostPort {
  std::string_view host;
  std::optional<std::string_view> port;
};

// Splits "host", "host:port", "[v6]:port", "[v6]" or a bare IPv6 literal. Nullopt if the
// brackets do not pair up.
std::optional<HostPort> splitHostPort(std::string_view text) {
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty()) {
      return HostPort{host, std::nullopt};
    }
    if (rest.front() != ':' || host.find(':') == std::string_view::npos) {
      return std::nullopt;  // junk after ']', or brackets around an IPv4 address
    }
    return HostPort{host, rest.substr(1)};
  }
  const size_t colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    return HostPort{text.substr(0, colon), text.substr(colon + 1)};
  }
  return HostPort{text, std::nullopt};  // no colon, or a bare IPv6 literal
}

}  // namespace

bool hasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::optional<IpAddress> parseIp(std::string_view text, std::string* error) {
  std::optional<IpAddress> ip;
  if (!hasControlCharacter(text)) {
    ip = IpAddress::parse(text);
  }
  if (!ip) {
    std::string message = "invalid IP address " + quoted(text);
    if (text.find('/') != std::string_view::npos) {
      message += " (an address here, without a prefix length)";
    }
    fail(error, std::move(message));
  }
  return ip;
}

std::optional<Cidr> parseCidr(std::string_view text, std::string* error) {
  std::string why;
  std::optional<Cidr> cidr;
  if (hasControlCharacter(text)) {
    why = "control characters are not allowed";
  } else {
    cidr = Cidr::parse(text, /*allow_host_bits=*/false, &why);
  }
  if (!cidr) {
    fail(error, "invalid CIDR " + quoted(text) + ": " + why);
  }
  return cidr;
}

std::optional<DnsEndpoint> parseEndpoint(std::string_view text, uint16_t default_port,
                                         std::string* error) {
  const std::string usage = "expected ip, ip:port or [ipv6]:port";
  const auto split = hasControlCharacter(text) ? std::nullopt : splitHostPort(text);
  if (!split) {
    fail(error, "invalid address " + quoted(text) + ": " + usage);
    return std::nullopt;
  }
  const auto ip = IpAddress::parse(split->host);
  if (!ip) {
    fail(error, "invalid address " + quoted(text) + ": " + quoted(split->host) +
                    " is not an IP address (" + usage + ")");
    return std::nullopt;
  }
  DnsEndpoint endpoint{*ip, default_port};
  if (split->port) {
    const auto port = parsePort(*split->port);
    if (!port) {
      fail(error, "invalid address " + quoted(text) + ": port " + quoted(*split->port) +
                      " must be 1..65535");
      return std::nullopt;
    }
    endpoint.port = *port;
  }
  return endpoint;
}

bool isValidListenAddress(std::string_view text, std::string* error) {
  const auto split = hasControlCharacter(text) ? std::nullopt : splitHostPort(text);
  if (!split || !split->port) {
    return fail(error, "invalid listen address " + quoted(text) +
                           ": expected ip:port or [ipv6]:port, or \"\" for off");
  }
  return parseEndpoint(text, 0, error).has_value();
}

std::optional<std::string> normalizeDnsName(std::string_view text, std::string* error) {
  std::string name;
  name.reserve(text.size());
  for (char c : text) {
    name.push_back(toLower(c));
  }
  if (!name.empty() && name.back() == '.') {
    name.pop_back();
  }
  auto bad = [&](const std::string& why) -> std::optional<std::string> {
    fail(error, "invalid DNS name " + quoted(text) + ": " + why);
    return std::nullopt;
  };
  if (name.empty()) {
    return bad("the name is empty");
  }
  if (name.size() > 253) {
    return bad("longer than 253 characters");
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) {
      end = name.size();
    }
    const std::string_view label = std::string_view(name).substr(start, end - start);
    if (label.empty()) {
      return bad("empty label");
    }
    if (label.size() > 63) {
      return bad("label '" + std::string(label) + "' is longer than 63 characters");
    }
    for (char c : label) {
      if (!isLower(c) && !isDigit(c) && c != '-' && c != '_') {
        return bad("only letters, digits, '-' and '_' are allowed in a label");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return bad("label '" + std::string(label) + "' starts or ends with '-'");
    }
    start = end + 1;
  }
  return name;
}

bool isPrivateEndpointName(std::string_view name, std::string* error) {
  static constexpr std::array<std::string_view, 6> kServices = {"blob",  "dfs",   "file",
                                                                "queue", "table", "web"};
  static constexpr std::string_view kSuffix = ".core.windows.net";
  const std::string usage =
      "expected <account>.privatelink.<service>.core.windows.net with service one of blob, dfs, "
      "file, queue, table, web";
  std::vector<std::string_view> labels;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) {
      end = name.size();
    }
    labels.push_back(name.substr(start, end - start));
    start = end + 1;
  }
  const bool core_suffix = name.size() > kSuffix.size() && name.ends_with(kSuffix);
  const auto is_service = [](std::string_view s) {
    return std::find(kServices.begin(), kServices.end(), s) != kServices.end();
  };
  if (labels.size() == 6 && core_suffix && labels[1] == "privatelink" && is_service(labels[2])) {
    return true;
  }
  std::string message = quoted(name) + " is not a private-endpoint name: " + usage;
  if (labels.size() == 5 && core_suffix && is_service(labels[1])) {
    message += "; did you mean '" + std::string(labels[0]) + ".privatelink." +
               std::string(labels[1]) + std::string(kSuffix) + "'?";
  } else if (labels.size() == 6 && core_suffix && labels[1] == "privatelink") {
    message += " (found service '" + std::string(labels[2]) + "')";
  }
  return fail(error, message);
}

bool isValidInterfaceName(std::string_view name, std::string* error) {
  if (name.empty() || name.size() > 15) {
    return fail(error, "interface name " + quoted(name) + " must be 1..15 characters (found " +
                           std::to_string(name.size()) + ")");
  }
  if (name == "." || name == "..") {
    return fail(error, "interface name " + quoted(name) + " is not allowed");
  }
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || u <= 0x20 || u >= 0x7f) {
      return fail(error, "interface name " + quoted(name) +
                             " may contain only printable ASCII other than '/', ':' and spaces");
    }
  }
  return true;
}

bool isValidName(std::string_view name, size_t max_len, std::string* error) {
  const bool chars_ok = std::all_of(name.begin(), name.end(),
                                    [](char c) { return isLower(c) || isDigit(c) || c == '-'; });
  if (name.empty() || name.size() > max_len || !chars_ok || name.front() == '-' ||
      name.back() == '-') {
    return fail(error, "invalid name " + quoted(name) + ": use 1.." + std::to_string(max_len) +
                           " characters of a-z, 0-9 and '-', not starting or ending with '-'");
  }
  return true;
}

bool isValidProposal(std::string_view proposal, std::string* error) {
  const bool chars_ok = std::all_of(proposal.begin(), proposal.end(),
                                    [](char c) { return isLower(c) || isDigit(c) || c == '-'; });
  if (proposal.empty() || !chars_ok || proposal.front() == '-' || proposal.back() == '-' ||
      proposal.find("--") != std::string_view::npos) {
    return fail(error, "invalid proposal " + quoted(proposal) +
                           ": use strongSwan syntax, lower-case algorithms joined by '-' (e.g. "
                           "aes256-sha256-modp2048)");
  }
  return true;
}

bool isValidUserName(std::string_view name, std::string* error) {
  const bool first_ok = !name.empty() && (isLower(name[0]) || name[0] == '_');
  const bool rest_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return isLower(c) || isDigit(c) || c == '_' || c == '-';
  });
  if (!first_ok || !rest_ok || name.size() > 32) {
    return fail(error, "invalid user name " + quoted(name) +
                           ": use up to 32 characters of a-z, 0-9, '_' and '-', starting with a "
                           "letter or '_'");
  }
  return true;
}

bool isValidAbsolutePath(std::string_view path, bool is_socket, std::string* error) {
  if (path.empty() || path.front() != '/' || hasControlCharacter(path)) {
    return fail(error, "path " + quoted(path) + " must be absolute (start with '/')");
  }
  if (is_socket && path.size() > 107) {
    return fail(error, "socket path is " + std::to_string(path.size()) +
                           " bytes long; a unix socket path must be at most 107");
  }
  return true;
}

std::string defaultInterfaceName(uint32_t if_id) { return "cgt" + std::to_string(if_id); }

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1);
  std::vector<size_t> cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace crossgate::config::detail
