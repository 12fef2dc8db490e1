// Importing an AWS Site-to-Site VPN connection: AWS's "Generic / Vendor Agnostic" text file or
// the XML CustomerGatewayConfiguration that `aws ec2 describe-vpn-connections` returns.
//
//   bytes --parse--> both tunnels, identified and ordered by AWS outside IP --render--> a config
//   fragment (one [[vpn]] table, see mgmt/config.h) + one PSK file per tunnel (mode 0600).
//
// Every problem found in the input is reported (not just the first), each naming the line, the
// tunnel and the field; an input with any error yields no Connection and nothing is written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crossgate/common/net.h"
#include "crossgate/common/result.h"
#include "crossgate/common/secret.h"

namespace crossgate::aws_import {

// Inputs larger than this are refused before parsing (real files are ~10 KiB).
inline constexpr size_t kMaxInputBytes = 1 << 20;
// The XML form carries no MTU; the Generic file always says 1436.
inline constexpr uint32_t kDefaultMtu = 1436;

enum class Format { kText, kXml };
enum class Routing { kStatic, kBgp };

const char* toString(Format format);
const char* toString(Routing routing);

// Picks the format from the first non-blank byte ('<' = XML).
Format detectFormat(std::string_view bytes);

struct ImportOptions {
  std::optional<IpAddress> customer_ip;  // fills or overrides the customer outside address
  std::optional<uint32_t> customer_asn;  // fills or overrides the customer BGP ASN
};

struct ImportError {
  int line = 0;         // 1-based; 0 = no position
  std::string tunnel;   // "tunnel #1 (AWS 198.51.100.17)", empty for file-wide problems
  std::string field;    // the file's own label, e.g. "Pre-Shared Key" or "ike/pre_shared_key"
  std::string message;  // what is wrong and, where possible, what to do

  // "<source>:<line>: <tunnel>: <field>: <message>" (empty parts left out).
  std::string toString(std::string_view source) const;
};

// Algorithms exactly as the file states them (AWS prints only its minimum set).
struct Phase {
  std::string encryption;  // e.g. "aes-128-cbc"
  std::string integrity;   // e.g. "sha1", "hmac-sha1-96"
  int dh_group = 0;        // IKE: DH group; ESP: PFS group
  uint32_t lifetime_s = 0;
  std::string proposal;  // the same as a strongSwan proposal, e.g. "aes128-sha1-modp1024"
};

struct BgpPeer {
  uint32_t customer_asn = 0;
  uint32_t aws_asn = 0;
  IpAddress neighbor_ip;  // the AWS inside address
  uint32_t hold_time_s = 30;
};

struct Tunnel {
  int number = 0;  // position in the file (1-based); not used for identity
  int line = 0;    // where the tunnel starts in the file
  IpAddress aws_outside_ip;
  IpAddress customer_outside_ip;
  IpAddress aws_inside_ip;       // .1 of inside_cidr
  IpAddress customer_inside_ip;  // .2 of inside_cidr
  Cidr inside_cidr;              // the /30 network
  Secret psk;
  int ike_version = 1;
  Phase ike;
  Phase esp;
  uint32_t dpd_interval_s = 10;
  uint32_t dpd_retries = 3;
  uint32_t tcp_mss = 1379;
  uint32_t mtu = kDefaultMtu;
  std::optional<BgpPeer> bgp;
};

struct Connection {
  Format format = Format::kText;
  std::string vpn_connection_id;  // "" when the file has none
  std::string vpn_gateway_id;     // "" for a transit gateway attachment
  std::string customer_gateway_id;
  Routing routing = Routing::kStatic;
  std::vector<Tunnel> tunnels;  // exactly 2, ordered by AWS outside IP
};

struct ImportResult {
  std::optional<Connection> connection;  // set only when errors is empty
  std::vector<ImportError> errors;
  std::vector<std::string> notes;  // things the user should know (stderr)
  bool ok() const { return connection.has_value(); }
};

// Parses either format (detectFormat) and checks the whole connection.
ImportResult importAws(std::string_view bytes, const ImportOptions& options = {});
ImportResult importText(std::string_view bytes, const ImportOptions& options = {});
ImportResult importXml(std::string_view bytes, const ImportOptions& options = {});

// The pre-shared key rules. A key the AWS tunnel really uses must never be refused, so only
// what cannot be carried safely is an error: fewer than 8 or more than 64 characters, or any
// byte outside printable ASCII 0x21-0x7e (spaces, tabs, control and non-ASCII bytes are
// ambiguous in AWS's text file and unsafe in key files). What AWS documents beyond that
// (only A-Z a-z 0-9 . _, no leading 0) gives notes: such a key is imported as given.
// Neither the error nor the notes repeat the key.
struct PskCheck {
  std::string error;               // empty when the key can be imported
  std::vector<std::string> notes;  // set only for a usable key outside AWS's documented rules
  bool usable() const { return error.empty(); }
};
PskCheck checkPsk(std::string_view psk);

// Proposals offered before the file's own one: stronger sets every AWS tunnel accepts by default.
inline constexpr const char* kStrongIkeProposals[] = {"aes256gcm16-prfsha384-ecp384",
                                                      "aes256-sha256-modp2048"};
inline constexpr const char* kStrongEspProposals[] = {"aes256gcm16-ecp384",
                                                      "aes256-sha256-modp2048"};

// ---- rendering -------------------------------------------------------------------------------

struct FragmentOptions {
  std::string name;  // the [[vpn]] name, [a-z0-9-]{1,32}
  std::vector<Cidr> remote_networks;
  std::vector<Cidr> local_networks;
  std::vector<uint32_t> if_ids;  // one per tunnel
  std::string source_name;       // the imported file, named in the header comment
};

// The default name: the VPN connection id in lower case, else "aws".
std::string defaultName(const Connection& connection);
// [a-z0-9-]{1,32}, as the config schema requires.
bool isValidName(std::string_view name);
// "<name>-t1", "<name>-t2": tunnels in AWS outside IP order.
std::string tunnelName(std::string_view name, size_t index);
// "secrets/<tunnel>.psk", relative to the fragment's directory.
std::string pskRelativePath(std::string_view tunnel_name);

// The [[vpn]] fragment (TOML). Never contains a key.
std::string renderToml(const Connection& connection, const FragmentOptions& options);
// The --json document; `psk` is "***" unless show_secrets.
std::string renderJson(const Connection& connection, bool show_secrets);

// ---- writing ---------------------------------------------------------------------------------

// if_ids already used by the tunnels of the *.toml files in `dir` (the file named `skip`, the
// one being replaced, is ignored). A file that cannot be parsed is an error.
Result<std::vector<uint32_t>> usedIfIds(const std::filesystem::path& dir,
                                        const std::filesystem::path& skip);
// The `count` lowest if_ids (from 1) not in `used`.
std::vector<uint32_t> lowestFreeIfIds(const std::vector<uint32_t>& used, size_t count);

struct WriteOptions {
  bool force = false;  // replace existing files
};

// Writes <dir>/<name>.toml (0644) and <dir>/secrets/<tunnel>.psk (0600, directory 0700).
// All files are written to temporaries first and renamed at the end; on any failure nothing is
// left behind (replaced files are restored). Without force, an existing file is an error.
// Returns the paths written, the fragment last.
Result<std::vector<std::filesystem::path>> writeFragment(const std::filesystem::path& dir,
                                                         const Connection& connection,
                                                         const FragmentOptions& options,
                                                         const WriteOptions& write_options);

}  // namespace crossgate::aws_import
