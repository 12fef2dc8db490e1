// Second stage of the import, shared by both formats: interprets every field, checks each
// tunnel and the pair, identifies tunnels by AWS outside IP and orders them by it.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>
#include <utility>

#include "algorithms.h"
#include "raw.h"

namespace crossgate::aws_import {
namespace detail {
namespace {

struct FieldInfo {
  int section;
  const char* text_label;
  const char* xml_label;
};

constexpr FieldInfo kFieldInfo[kFieldCount] = {
    {1, "IKE version", "ike/version"},
    {1, "Authentication Method", "ike/authentication_method"},
    {1, "Pre-Shared Key", "ike/pre_shared_key"},
    {1, "IKE Authentication Algorithm", "ike/authentication_protocol"},
    {1, "IKE Encryption Algorithm", "ike/encryption_protocol"},
    {1, "IKE Lifetime", "ike/lifetime"},
    {1, "Phase 1 Negotiation Mode", "ike/mode"},
    {1, "Diffie-Hellman", "ike/perfect_forward_secrecy"},
    {2, "Protocol", "ipsec/protocol"},
    {2, "IPSec Authentication Algorithm", "ipsec/authentication_protocol"},
    {2, "IPSec Encryption Algorithm", "ipsec/encryption_protocol"},
    {2, "IPSec Lifetime", "ipsec/lifetime"},
    {2, "Mode", "ipsec/mode"},
    {2, "Perfect Forward Secrecy", "ipsec/perfect_forward_secrecy"},
    {2, "DPD Interval", "ipsec/dead_peer_detection/interval"},
    {2, "DPD Retries", "ipsec/dead_peer_detection/retries"},
    {2, "TCP MSS Adjustment", "ipsec/tcp_mss_adjustment"},
    {3, "Outside IP Addresses: Customer Gateway",
     "customer_gateway/tunnel_outside_address/ip_address"},
    {3, "Outside IP Addresses: Virtual Private Gateway",
     "vpn_gateway/tunnel_outside_address/ip_address"},
    {3, "Inside IP Addresses: Customer Gateway", "customer_gateway/tunnel_inside_address"},
    {3, "Inside IP Addresses: Virtual Private Gateway", "vpn_gateway/tunnel_inside_address"},
    {3, "Tunnel interface MTU", "mtu"},
    {4, "Customer Gateway ASN", "customer_gateway/bgp/asn"},
    {4, "Virtual Private Gateway ASN", "vpn_gateway/bgp/asn"},
    {4, "Neighbor IP Address", "vpn_gateway/tunnel_inside_address/ip_address"},
    {4, "Neighbor Hold Time", "vpn_gateway/bgp/hold_time"},
};

constexpr const char* kSectionTitles[5] = {
    "", "#1: Internet Key Exchange Configuration", "#2: IPSec Configuration",
    "#3: Tunnel Interface Configuration", "#4: Static Routing or BGP Configuration"};

std::string lowerNoBlanks(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != ' ' && c != '\t') {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return out;
}

// AWS documentation examples use upper-case placeholders such as YOUR_UPLINK_ADDRESS.
bool looksLikePlaceholder(std::string_view value) {
  return value.size() >= 3 && std::all_of(value.begin(), value.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
         });
}

// "28800", "28800 seconds" (unit optional, as given in `unit`).
bool parseNumber(std::string_view text, std::string_view unit, uint64_t max, uint64_t* out) {
  const size_t digits = std::min(text.find_first_not_of("0123456789"), text.size());
  if (digits == 0 || digits > 10) {
    return false;
  }
  const std::string rest = lowerNoBlanks(text.substr(digits));
  if (!rest.empty() && (unit.empty() || (rest != unit && rest + "s" != unit))) {
    return false;
  }
  uint64_t value = 0;
  std::from_chars(text.data(), text.data() + digits, value);
  if (value > max) {
    return false;
  }
  *out = value;
  return true;
}

class TunnelChecker {
 public:
  TunnelChecker(const RawTunnel& raw, Format format, const ImportOptions& options,
                std::vector<ImportError>* errors, std::vector<std::string>* notes)
      : raw_(raw), format_(format), options_(options), errors_(errors), notes_(notes) {}

  std::optional<Tunnel> run() {
    label_ = "tunnel #" + std::to_string(raw_.number);
    t_.number = raw_.number;
    t_.line = raw_.line;
    checkOutside();
    checkInside();
    checkIke();
    checkEsp();
    checkTransport();
    if (raw_.bgp_section) {
      checkBgp();
    }
    if (format_ == Format::kText && raw_.section_line[4] == 0 && !section_reported_[4]) {
      section_reported_[4] = true;
      ok_ = false;
      errors_->push_back({raw_.end_line, label_, kSectionTitles[4],
                          "section missing (the tunnel ends at line " +
                              std::to_string(raw_.end_line) + "; truncated file?)"});
    }
    if (!ok_) {
      return std::nullopt;
    }
    return std::move(t_);
  }

  const std::string& label() const { return label_; }

 private:
  void fail(Field f, int line, std::string message) {
    ok_ = false;
    errors_->push_back({line, label_, fieldLabel(f, format_), std::move(message)});
  }

  // "line 32: tunnel #1 (AWS 72.21.209.193): Pre-Shared Key: <message>"
  void note(Field f, int line, std::string_view message) {
    notes_->push_back("line " + std::to_string(line) + ": " + label_ + ": " +
                      fieldLabel(f, format_) + ": " + std::string(message));
  }

  // The field's value, or nullptr after reporting it missing (a missing text section is
  // reported once, as a truncated file).
  const RawValue* need(Field f) {
    const RawValue& v = raw_.at(f);
    if (v.present()) {
      return &v;
    }
    ok_ = false;
    const int section = fieldSection(f);
    if (format_ == Format::kXml) {
      errors_->push_back({raw_.line, label_, fieldLabel(f, format_), "missing"});
    } else if (raw_.section_line[section] == 0) {
      if (!section_reported_[section]) {
        section_reported_[section] = true;
        errors_->push_back({raw_.end_line, label_, kSectionTitles[section],
                            "section missing (the tunnel ends at line " +
                                std::to_string(raw_.end_line) + "; truncated file?)"});
      }
    } else {
      errors_->push_back({raw_.section_line[section], label_, fieldLabel(f, format_),
                          "missing from section #" + std::to_string(section) + " (lines " +
                              std::to_string(raw_.section_line[section]) + "-" +
                              std::to_string(raw_.section_end[section]) + ")"});
    }
    return nullptr;
  }

  std::optional<IpAddress> ip(Field f, const char* option_hint) {
    const RawValue* v = need(f);
    if (v == nullptr) {
      return std::nullopt;
    }
    if (auto parsed = IpAddress::parse(v->text)) {
      return parsed;
    }
    std::string msg = looksLikePlaceholder(v->text)
                          ? quoteValue(v->text) + " is a placeholder, not an IP address"
                          : quoteValue(v->text) + " is not an IP address";
    if (option_hint != nullptr) {
      msg += std::string("; pass ") + option_hint;
    }
    fail(f, v->line, std::move(msg));
    return std::nullopt;
  }

  std::optional<uint64_t> number(Field f, std::string_view unit, uint64_t min, uint64_t max) {
    const RawValue* v = need(f);
    if (v == nullptr) {
      return std::nullopt;
    }
    uint64_t value = 0;
    if (!parseNumber(v->text, unit, UINT32_MAX, &value) || value < min || value > max) {
      fail(f, v->line,
           quoteValue(v->text) + " is not a number in " + std::to_string(min) + ".." +
               std::to_string(max) + (unit.empty() ? "" : " " + std::string(unit)));
      return std::nullopt;
    }
    return value;
  }

  void checkOutside() {
    if (auto aws = ip(Field::kAwsOutsideIp, nullptr)) {
      t_.aws_outside_ip = *aws;
      label_ += " (AWS " + aws->toString() + ")";
    }
    if (options_.customer_ip) {
      t_.customer_outside_ip = *options_.customer_ip;
      return;
    }
    if (auto customer = ip(Field::kCustomerOutsideIp, "--customer-ip IP")) {
      t_.customer_outside_ip = *customer;
    }
  }

  std::optional<Cidr> insideAddress(Field f) {
    const RawValue* v = need(f);
    if (v == nullptr) {
      return std::nullopt;
    }
    std::string why;
    auto cidr = Cidr::parse(v->text, /*allow_host_bits=*/true, &why);
    if (!cidr) {
      fail(f, v->line, quoteValue(v->text) + " is not an address with a /30 prefix: " + why);
      return std::nullopt;
    }
    const auto link_local = Cidr::parse("169.254.0.0/16");
    if (!cidr->address().isV4() || cidr->prefixLen() != 30 ||
        !link_local->contains(cidr->address())) {
      fail(f, v->line, quoteValue(v->text) + " must be an address of a /30 inside 169.254.0.0/16");
      return std::nullopt;
    }
    return cidr;
  }

  void checkInside() {
    const auto customer = insideAddress(Field::kCustomerInsideIp);
    const auto aws = insideAddress(Field::kAwsInsideIp);
    if (!customer || !aws) {
      return;
    }
    const Cidr net(customer->network(), 30);
    const uint32_t base = net.address().v4HostOrder();
    const int aws_line = raw_.at(Field::kAwsInsideIp).line;
    if (!net.contains(aws->address())) {
      fail(Field::kAwsInsideIp, aws_line,
           aws->address().toString() + " is not in the customer's /30 " + net.toString());
      return;
    }
    if (aws->address().v4HostOrder() != base + 1) {
      fail(Field::kAwsInsideIp, aws_line,
           aws->address().toString() + " must be the first address of " + net.toString());
    }
    if (customer->address().v4HostOrder() != base + 2) {
      fail(Field::kCustomerInsideIp, raw_.at(Field::kCustomerInsideIp).line,
           customer->address().toString() + " must be the second address of " + net.toString());
    }
    t_.inside_cidr = net;
    t_.aws_inside_ip = aws->address();
    t_.customer_inside_ip = customer->address();
  }

  void checkIke() {
    if (const RawValue& v = raw_.at(Field::kIkeVersion); v.present()) {
      const std::string version = lowerNoBlanks(v.text);
      if (version == "ikev1" || version == "ikev2") {
        t_.ike_version = version == "ikev1" ? 1 : 2;
      } else {
        fail(Field::kIkeVersion, v.line, quoteValue(v.text) + " is neither IKEv1 nor IKEv2");
      }
    }
    if (const RawValue& v = raw_.at(Field::kAuthMethod);
        v.present() && lowerNoBlanks(v.text) != "pre-sharedkey") {
      fail(Field::kAuthMethod, v.line,
           quoteValue(v.text) + ": only pre-shared key authentication can be imported");
    }
    if (const RawValue* v = need(Field::kPsk)) {
      PskCheck psk = checkPsk(v->text);
      if (psk.usable()) {
        t_.psk = Secret(v->text);
        for (const std::string& n : psk.notes) {
          note(Field::kPsk, v->line, n);
        }
      } else {
        fail(Field::kPsk, v->line, "not a usable pre-shared key: " + psk.error);
      }
    }
    phase(t_.ike, Field::kIkeEncryption, Field::kIkeIntegrity, Field::kIkeDh, Field::kIkeLifetime,
          28800, /*ike=*/true);
  }

  void checkEsp() {
    if (const RawValue& v = raw_.at(Field::kEspProtocol);
        v.present() && lowerNoBlanks(v.text) != "esp") {
      fail(Field::kEspProtocol, v.line, quoteValue(v.text) + ": only esp is supported");
    }
    if (const RawValue& v = raw_.at(Field::kEspMode);
        v.present() && lowerNoBlanks(v.text) != "tunnel") {
      fail(Field::kEspMode, v.line, quoteValue(v.text) + ": only tunnel mode is supported");
    }
    phase(t_.esp, Field::kEspEncryption, Field::kEspIntegrity, Field::kEspPfs, Field::kEspLifetime,
          3600, /*ike=*/false);
    if (t_.esp.lifetime_s != 0 && t_.ike.lifetime_s != 0 &&
        t_.esp.lifetime_s >= t_.ike.lifetime_s) {
      fail(Field::kEspLifetime, raw_.at(Field::kEspLifetime).line,
           std::to_string(t_.esp.lifetime_s) + " seconds must be less than the IKE lifetime (" +
               std::to_string(t_.ike.lifetime_s) + ")");
    }
  }

  void phase(Phase& out, Field enc_f, Field integ_f, Field dh_f, Field life_f, uint64_t max_life,
             bool ike) {
    std::optional<Cipher> cipher;
    std::optional<std::string> integ;
    const char* dh = nullptr;
    if (const RawValue* v = need(enc_f)) {
      out.encryption = v->text;
      if (!(cipher = cipherToken(v->text))) {
        fail(enc_f, v->line, quoteValue(v->text) + " is not an encryption algorithm AWS offers");
      }
    }
    const bool integ_optional = !ike && cipher && cipher->aead && !raw_.at(integ_f).present();
    if (const RawValue* v = integ_optional ? nullptr : need(integ_f)) {
      out.integrity = v->text;
      if (!(integ = integrityToken(v->text))) {
        fail(integ_f, v->line, quoteValue(v->text) + " is not an integrity algorithm AWS offers");
      }
    }
    if (const RawValue* v = need(dh_f)) {
      out.dh_group = parseDhGroup(v->text);
      if ((dh = dhToken(out.dh_group)) == nullptr) {
        fail(dh_f, v->line, quoteValue(v->text) + " is not a Diffie-Hellman group AWS offers");
      }
    }
    if (auto life = number(life_f, "seconds", 900, max_life)) {
      out.lifetime_s = static_cast<uint32_t>(*life);
    }
    if (cipher && dh != nullptr && (integ || integ_optional)) {
      const std::string i = integ.value_or("sha256");
      out.proposal = ike ? ikeProposal(*cipher, i, dh) : espProposal(*cipher, i, dh);
    }
  }

  void checkTransport() {
    if (auto v = number(Field::kDpdInterval, "seconds", 1, 3600)) {
      t_.dpd_interval_s = static_cast<uint32_t>(*v);
    }
    if (auto v = number(Field::kDpdRetries, "", 1, 100)) {
      t_.dpd_retries = static_cast<uint32_t>(*v);
    }
    if (format_ == Format::kXml && !raw_.at(Field::kMtu).present()) {
      t_.mtu = kDefaultMtu;
    } else if (auto v = number(Field::kMtu, "bytes", 576, 9000)) {
      t_.mtu = static_cast<uint32_t>(*v);
    }
    if (auto v = number(Field::kTcpMss, "bytes", 536, 8960)) {
      t_.tcp_mss = static_cast<uint32_t>(*v);
      if (t_.tcp_mss + 40 > t_.mtu) {
        fail(Field::kTcpMss, raw_.at(Field::kTcpMss).line,
             "TCP MSS " + std::to_string(t_.tcp_mss) + " does not fit the tunnel MTU " +
                 std::to_string(t_.mtu));
      }
    }
  }

  std::optional<uint32_t> asn(Field f, const char* option_hint) {
    const RawValue* v = need(f);
    if (v == nullptr) {
      return std::nullopt;
    }
    uint64_t value = 0;
    if (parseNumber(v->text, "", UINT32_MAX, &value) && value >= 1 && value <= 4294967294u) {
      return static_cast<uint32_t>(value);
    }
    std::string msg = looksLikePlaceholder(v->text)
                          ? quoteValue(v->text) + " is a placeholder, not an ASN"
                          : quoteValue(v->text) + " is not an ASN (1..4294967294)";
    if (option_hint != nullptr) {
      msg += std::string("; pass ") + option_hint;
    }
    fail(f, v->line, std::move(msg));
    return std::nullopt;
  }

  void checkBgp() {
    BgpPeer bgp;
    if (options_.customer_asn) {
      bgp.customer_asn = *options_.customer_asn;
    } else if (auto v = asn(Field::kCustomerAsn, "--customer-asn N")) {
      bgp.customer_asn = *v;
    }
    if (auto v = asn(Field::kAwsAsn, nullptr)) {
      bgp.aws_asn = *v;
    }
    if (auto v = number(Field::kHoldTime, "seconds", 3, 65535)) {
      bgp.hold_time_s = static_cast<uint32_t>(*v);
    }
    bgp.neighbor_ip = t_.aws_inside_ip;
    if (format_ == Format::kText) {
      const auto neighbor = ip(Field::kNeighborIp, nullptr);
      if (neighbor && *neighbor != t_.aws_inside_ip && t_.inside_cidr.prefixLen() == 30) {
        fail(
            Field::kNeighborIp, raw_.at(Field::kNeighborIp).line,
            neighbor->toString() + " is not the AWS inside address " + t_.aws_inside_ip.toString());
      }
    }
    t_.bgp = bgp;
  }

  const RawTunnel& raw_;
  Format format_;
  const ImportOptions& options_;
  std::vector<ImportError>* errors_;
  std::vector<std::string>* notes_;
  std::string label_;
  Tunnel t_;
  bool ok_ = true;
  std::array<bool, 5> section_reported_{};
};

}  // namespace

std::optional<Tunnel> checkTunnel(const RawTunnel& raw, Format format, const ImportOptions& options,
                                  std::vector<ImportError>* errors, std::vector<std::string>* notes,
                                  std::string* label) {
  TunnelChecker checker(raw, format, options, errors, notes);
  auto tunnel = checker.run();
  *label = checker.label();
  return tunnel;
}

int fieldSection(Field field) { return kFieldInfo[static_cast<size_t>(field)].section; }

const char* fieldLabel(Field field, Format format) {
  const FieldInfo& info = kFieldInfo[static_cast<size_t>(field)];
  return format == Format::kText ? info.text_label : info.xml_label;
}

std::string quoteValue(std::string_view value) {
  constexpr size_t kMaxShown = 48;
  std::string out = "\"";
  for (size_t i = 0; i < value.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += value.size() > kMaxShown ? "\"..." : "\"";
  return out;
}

}  // namespace detail

PskCheck checkPsk(std::string_view psk) {
  PskCheck result;
  if (psk.size() < 8 || psk.size() > 64) {
    result.error = std::to_string(psk.size()) + " characters; a key must have 8 to 64";
    return result;
  }
  bool aws_alphabet = true;
  for (size_t i = 0; i < psk.size(); ++i) {
    const auto c = static_cast<unsigned char>(psk[i]);
    if (c < 0x21 || c > 0x7e) {
      result.error = "character " + std::to_string(i + 1) +
                     " is not printable ASCII (spaces, tabs, control and non-ASCII characters "
                     "cannot be imported)";
      return result;
    }
    aws_alphabet = aws_alphabet && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                    (c >= '0' && c <= '9') || c == '.' || c == '_');
  }
  if (!aws_alphabet) {
    result.notes.push_back(
        "has characters outside AWS's documented A-Z a-z 0-9 . _; imported as given");
  }
  if (psk[0] == '0') {
    result.notes.push_back("starts with 0, which AWS documents as not allowed; imported as given");
  }
  return result;
}

}  // namespace crossgate::aws_import
