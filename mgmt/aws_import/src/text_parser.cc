// AWS's "Generic / Vendor Agnostic" text file, read line by line with a small section state
// machine. Layout facts this relies on (and the variants it tolerates):
//   - a header with "Your VPN Connection ID : ...", "Your Virtual Private Gateway ID : ..." (may be
//     empty for a transit gateway) and "Your Customer Gateway ID : ...";
//   - per tunnel an "IPSec Tunnel #n" line, then sections "#1:" (IKE), "#2:" (IPsec), "#3:"
//     (tunnel interface, with "Outside IP Addresses" / "Inside IP Addresses" sub-titles, colon
//     optional) and "#4:" (static routing or BGP);
//   - values as "- Label : value" items, indented or not, padded with any mix of tabs and spaces,
//     sometimes with a stray extra colon ("- Customer Gateway:        : x");
//   - everything else (prose, rules, Markdown image lines) is ignored, so changed paragraphs do
//     not matter; "Additional Notes and Questions" ends the tunnels.
// LF or CRLF line ends; a UTF-8 byte order mark is skipped.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <utility>

#include "raw.h"

namespace crossgate::aws_import::detail {
namespace {

bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

// Collapses every run of blanks into one space and trims both ends.
std::string collapse(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  bool pending_space = false;
  for (char c : line) {
    if (isBlank(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    out.push_back(c);
  }
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isBlank(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isBlank(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// "ipsec tunnel #12" -> 12.
bool parseTunnelHeader(std::string_view lowered, int* number) {
  constexpr std::string_view kPrefix = "ipsec tunnel #";
  if (lowered.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  const std::string_view digits = lowered.substr(kPrefix.size());
  if (digits.empty() || digits.size() > 2 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  *number = std::stoi(std::string(digits));
  return true;
}

// "#3: tunnel interface configuration" -> 3; 0 if the line is no section title.
int sectionNumber(std::string_view lowered) {
  if (lowered.size() >= 3 && lowered[0] == '#' && lowered[1] >= '1' && lowered[1] <= '9' &&
      lowered[2] == ':') {
    return lowered[1] - '0';
  }
  return 0;
}

// Splits "Label : value" at the first colon; later colons that only pad ("Label:   : value")
// are dropped. Returns false if there is no colon.
bool splitItem(std::string_view text, std::string* key, std::string* value) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  *key = lower(trim(text.substr(0, colon)));
  std::string_view rest = trim(text.substr(colon + 1));
  while (!rest.empty() && rest.front() == ':' && (rest.size() == 1 || rest[1] == ' ')) {
    rest = trim(rest.substr(1));
  }
  *value = std::string(rest);
  return true;
}

enum class Sub { kNone, kOutside, kInside };

struct KeyMap {
  int section;
  Sub sub;  // kNone = any
  std::string_view key;
  Field field;
};

constexpr KeyMap kKeys[] = {
    {1, Sub::kNone, "ike version", Field::kIkeVersion},
    {1, Sub::kNone, "authentication method", Field::kAuthMethod},
    {1, Sub::kNone, "pre-shared key", Field::kPsk},
    {1, Sub::kNone, "authentication algorithm", Field::kIkeIntegrity},
    {1, Sub::kNone, "encryption algorithm", Field::kIkeEncryption},
    {1, Sub::kNone, "lifetime", Field::kIkeLifetime},
    {1, Sub::kNone, "phase 1 negotiation mode", Field::kIkeMode},
    {1, Sub::kNone, "diffie-hellman", Field::kIkeDh},
    {1, Sub::kNone, "perfect forward secrecy", Field::kIkeDh},  // files before 2018
    {2, Sub::kNone, "protocol", Field::kEspProtocol},
    {2, Sub::kNone, "authentication algorithm", Field::kEspIntegrity},
    {2, Sub::kNone, "encryption algorithm", Field::kEspEncryption},
    {2, Sub::kNone, "lifetime", Field::kEspLifetime},
    {2, Sub::kNone, "mode", Field::kEspMode},
    {2, Sub::kNone, "perfect forward secrecy", Field::kEspPfs},
    {2, Sub::kNone, "dpd interval", Field::kDpdInterval},
    {2, Sub::kNone, "dpd retries", Field::kDpdRetries},
    {2, Sub::kNone, "tcp mss adjustment", Field::kTcpMss},
    {3, Sub::kOutside, "customer gateway", Field::kCustomerOutsideIp},
    {3, Sub::kOutside, "virtual private gateway", Field::kAwsOutsideIp},
    {3, Sub::kOutside, "transit gateway", Field::kAwsOutsideIp},
    {3, Sub::kInside, "customer gateway", Field::kCustomerInsideIp},
    {3, Sub::kInside, "virtual private gateway", Field::kAwsInsideIp},
    {3, Sub::kInside, "transit gateway", Field::kAwsInsideIp},
    {3, Sub::kNone, "tunnel interface mtu", Field::kMtu},
    {4, Sub::kNone, "customer gateway asn", Field::kCustomerAsn},
    {4, Sub::kNone, "virtual private gateway asn", Field::kAwsAsn},
    {4, Sub::kNone, "transit gateway asn", Field::kAwsAsn},
    {4, Sub::kNone, "neighbor ip address", Field::kNeighborIp},
    {4, Sub::kNone, "neighbor hold time", Field::kHoldTime},
};

class TextParser {
 public:
  RawConnection run(std::string_view bytes) {
    raw_.format = Format::kText;
    if (bytes.substr(0, 3) == "\xEF\xBB\xBF") {
      bytes.remove_prefix(3);
    }
    int number = 0;
    size_t pos = 0;
    while (pos < bytes.size()) {
      size_t end = bytes.find('\n', pos);
      if (end == std::string_view::npos) {
        end = bytes.size();
      }
      std::string_view line = bytes.substr(pos, end - pos);
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      ++number;
      onLine(line, number);
      pos = end + 1;
    }
    raw_.last_line = number;
    closeTunnel(number);
    return std::move(raw_);
  }

 private:
  enum class State { kHeader, kTunnel, kTrailer };

  void onLine(std::string_view line, int number) {
    const std::string text = collapse(line);
    const std::string low = lower(text);
    int tunnel_number = 0;
    if (parseTunnelHeader(low, &tunnel_number)) {
      closeTunnel(number - 1);
      RawTunnel tunnel;
      tunnel.number = tunnel_number;
      tunnel.line = number;
      raw_.tunnels.push_back(std::move(tunnel));
      state_ = State::kTunnel;
      section_ = 0;
      sub_ = Sub::kNone;
      return;
    }
    if (low == "additional notes and questions") {
      closeTunnel(number - 1);
      state_ = State::kTrailer;
      return;
    }
    switch (state_) {
      case State::kHeader:
        onHeaderLine(text, number);
        return;
      case State::kTunnel:
        onTunnelLine(text, low, number);
        return;
      case State::kTrailer:
        return;
    }
  }

  void onHeaderLine(std::string_view text, int number) {
    std::string key;
    std::string value;
    if (!splitItem(text, &key, &value)) {
      return;
    }
    RawValue* target = nullptr;
    if (key == "your vpn connection id") {
      target = &raw_.vpn_connection_id;
    } else if (key == "your virtual private gateway id" || key == "your transit gateway id") {
      target = &raw_.vpn_gateway_id;
      raw_.has_vpn_gateway_line = true;
    } else if (key == "your customer gateway id") {
      target = &raw_.customer_gateway_id;
    } else {
      return;
    }
    if (target->present()) {
      raw_.errors.push_back({number, "", std::string(trim(text.substr(0, text.find(':')))),
                             "appears twice (lines " + std::to_string(target->line) + " and " +
                                 std::to_string(number) + ")"});
      return;
    }
    *target = RawValue{value, number};
  }

  void onTunnelLine(std::string_view text, std::string_view low, int number) {
    RawTunnel& tunnel = raw_.tunnels.back();
    if (const int s = sectionNumber(low); s != 0) {
      closeSection(tunnel, number - 1);
      section_ = s <= 4 ? s : 0;
      sub_ = Sub::kNone;
      if (section_ == 0) {
        return;
      }
      if (tunnel.section_line[section_] != 0) {
        raw_.errors.push_back({number, tunnelLabel(tunnel), std::string(text),
                               "section appears twice in this tunnel (lines " +
                                   std::to_string(tunnel.section_line[section_]) + " and " +
                                   std::to_string(number) + ")"});
        section_ = 0;
        return;
      }
      tunnel.section_line[section_] = number;
      if (section_ == 4) {
        tunnel.bgp_section = low.find("bgp") != std::string_view::npos ||
                             low.find("border gateway") != std::string_view::npos;
      }
      return;
    }
    std::string_view title = low;
    if (!title.empty() && title.back() == ':') {
      title = trim(title.substr(0, title.size() - 1));
    }
    if (title == "outside ip addresses") {
      sub_ = Sub::kOutside;
      return;
    }
    if (title == "inside ip addresses") {
      sub_ = Sub::kInside;
      return;
    }
    if (text.size() < 2 || text[0] != '-' || text[1] != ' ' || section_ == 0) {
      return;  // prose, rules, image lines
    }
    onItem(tunnel, text.substr(2), number);
  }

  void onItem(RawTunnel& tunnel, std::string_view item, int number) {
    std::string key;
    std::string value;
    if (!splitItem(item, &key, &value)) {
      return;
    }
    key = collapse(key);  // "virtual private  gateway asn" after tab removal
    for (const KeyMap& k : kKeys) {
      if (k.section != section_ || k.key != key || (k.sub != Sub::kNone && k.sub != sub_)) {
        continue;
      }
      RawValue& slot = tunnel.at(k.field);
      if (slot.present()) {
        raw_.errors.push_back({number, tunnelLabel(tunnel), fieldLabel(k.field, Format::kText),
                               "appears twice in this tunnel (lines " + std::to_string(slot.line) +
                                   " and " + std::to_string(number) + ")"});
        return;
      }
      slot = RawValue{value, number};
      return;
    }
  }

  void closeSection(RawTunnel& tunnel, int last) {
    if (section_ >= 1 && section_ <= 4 && tunnel.section_end[section_] == 0) {
      tunnel.section_end[section_] = std::max(last, tunnel.section_line[section_]);
    }
  }

  void closeTunnel(int last) {
    if (state_ != State::kTunnel || raw_.tunnels.empty()) {
      return;
    }
    RawTunnel& tunnel = raw_.tunnels.back();
    closeSection(tunnel, last);
    tunnel.end_line = std::max(last, tunnel.line);
    section_ = 0;
  }

  static std::string tunnelLabel(const RawTunnel& tunnel) {
    return "tunnel #" + std::to_string(tunnel.number);
  }

  RawConnection raw_;
  State state_ = State::kHeader;
  int section_ = 0;
  Sub sub_ = Sub::kNone;
};

}  // namespace

RawConnection parseTextRaw(std::string_view bytes) { return TextParser().run(bytes); }

}  // namespace crossgate::aws_import::detail
