// The importer's first stage: what the file says, as text with line numbers, before any
// interpretation. Both parsers (text, XML) fill this; validate.cc turns it into a Connection.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crossgate/mgmt/aws_import.h"

namespace crossgate::aws_import::detail {

enum class Field : size_t {
  kIkeVersion,
  kAuthMethod,
  kPsk,
  kIkeIntegrity,
  kIkeEncryption,
  kIkeLifetime,
  kIkeMode,
  kIkeDh,
  kEspProtocol,
  kEspIntegrity,
  kEspEncryption,
  kEspLifetime,
  kEspMode,
  kEspPfs,
  kDpdInterval,
  kDpdRetries,
  kTcpMss,
  kCustomerOutsideIp,
  kAwsOutsideIp,
  kCustomerInsideIp,  // "a.b.c.d/n"
  kAwsInsideIp,       // "a.b.c.d/n"
  kMtu,
  kCustomerAsn,
  kAwsAsn,
  kNeighborIp,
  kHoldTime,
  kCount,
};
inline constexpr size_t kFieldCount = static_cast<size_t>(Field::kCount);

// Where a field lives: 1..4 = the text file's "#n:" sections.
int fieldSection(Field field);
// The label the user sees in messages, in the input's own vocabulary.
const char* fieldLabel(Field field, Format format);

struct RawValue {
  std::string text;  // trimmed
  int line = 0;      // 0 = absent
  bool present() const { return line != 0; }
};

struct RawTunnel {
  int number = 0;  // "IPSec Tunnel #n" / n-th <ipsec_tunnel>
  int line = 0;
  int end_line = 0;                   // last line that belongs to the tunnel
  std::array<int, 5> section_line{};  // [1..4]: line of "#n:" header, 0 = missing
  std::array<int, 5> section_end{};   // [1..4]: last line of the section
  bool bgp_section = false;           // "#4" is the BGP variant
  std::array<RawValue, kFieldCount> fields;

  RawValue& at(Field f) { return fields[static_cast<size_t>(f)]; }
  const RawValue& at(Field f) const { return fields[static_cast<size_t>(f)]; }
};

struct RawConnection {
  Format format = Format::kText;
  RawValue vpn_connection_id;
  RawValue vpn_gateway_id;
  bool has_vpn_gateway_line = false;
  RawValue customer_gateway_id;
  std::vector<RawTunnel> tunnels;
  int last_line = 0;
  std::vector<ImportError> errors;  // syntax problems found while parsing
  bool unreadable = false;          // nothing could be read: `errors` says why, and that is all
};

RawConnection parseTextRaw(std::string_view bytes);
RawConnection parseXmlRaw(std::string_view bytes);

// Checks and interprets one tunnel; `notes` receives what the user should know about it (each
// naming its line and the tunnel), `label` its name for messages
// ("tunnel #1 (AWS 198.51.100.17)").
std::optional<Tunnel> checkTunnel(const RawTunnel& raw, Format format, const ImportOptions& options,
                                  std::vector<ImportError>* errors, std::vector<std::string>* notes,
                                  std::string* label);

// Checks and interprets a parsed file (shared by both formats).
ImportResult validate(RawConnection raw, const ImportOptions& options);

// A value from the file as it may be shown in a message: quoted, control bytes escaped,
// long values cut. Never used for keys.
std::string quoteValue(std::string_view value);

}  // namespace crossgate::aws_import::detail
