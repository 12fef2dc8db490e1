// IKE_SA / CHILD_SA state as charon reports it (list-sa events, ike-updown/child-updown), and the
// per-tunnel status crossgated serves: parsed from VICI messages, rendered as JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crossgate/ikev2/vici_message.h"

namespace crossgate::mgmtd {

struct ChildSaInfo {
  std::string name;
  uint64_t uniqueid = 0;
  std::string state;  // INSTALLED, REKEYING, REKEYED, DELETING, ...
  bool encap = false;
  std::string spi_in, spi_out;
  std::string encryption;  // e.g. "AES_GCM_16-256"
  std::string integrity;   // empty for AEAD
  std::string dh_group;
  uint64_t bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
  std::optional<int64_t> rekey_in_s, life_in_s, installed_s;
};

struct IkeSaInfo {
  std::string name;  // the connection name = the tunnel name
  uint64_t uniqueid = 0;
  std::string state;  // CREATED, CONNECTING, ESTABLISHED, PASSIVE, REKEYING, REKEYED, DELETING
  std::string local_host, remote_host, local_id, remote_id;
  uint16_t local_port = 0, remote_port = 0;
  bool nat_local = false, nat_remote = false;
  std::string encryption, integrity, prf, dh_group;
  std::optional<int64_t> established_s, rekey_in_s;
  std::vector<ChildSaInfo> children;
};

// One list-sa event (or the IKE part of ike-updown/child-updown): every top-level section is
// an IKE_SA named by its connection. Entries of other kinds (e.g. "up = yes") are skipped.
std::vector<IkeSaInfo> parseIkeSas(const vici::Message& message);
// One IKE_SA section (as in list-sa, or the "old"/"new" parts of ike-rekey) / CHILD_SA section.
IkeSaInfo parseIkeSa(const std::string& name, const vici::Section& section);
ChildSaInfo parseChildSa(const vici::Section& section);

// Among the SAs of one connection, the one that represents the tunnel: ESTABLISHED with an
// INSTALLED CHILD_SA first, then ESTABLISHED, then the newest.
const IkeSaInfo* bestIkeSa(const std::vector<IkeSaInfo>& sas, const std::string& name);
const ChildSaInfo* bestChildSa(const IkeSaInfo& sa);

// Classifies a charon `log` event message: the text worth showing as a tunnel's last error
// (authentication failures, proposal mismatches, unreachable peers), or nullopt.
std::optional<std::string> classifyLogError(const std::string& msg);

struct TunnelStatus {
  std::string name;
  std::string aws_outside_ip;
  uint32_t if_id = 0;
  bool loaded = false;  // connection and secret loaded into charon
  std::optional<IkeSaInfo> ike;
  std::optional<std::string> last_error;
};

bool isUp(const TunnelStatus& status);

// {"name", "aws_outside_ip", "if_id", "loaded", "ike_state", "child_state", "up",
//  "established_s", "ike_rekey_in_s", "rekey_in_s", "spi_in", "spi_out", "encryption",
//  "integrity", "dh_group", "ike_encryption", "ike_integrity", "ike_prf", "ike_dh_group",
//  "local_host", "remote_host", "local_id", "remote_id", "nat_t", "bytes_in", "bytes_out",
//  "packets_in", "packets_out", "last_error"}; states are "DOWN" when there is no SA.
nlohmann::json toJson(const TunnelStatus& status);

}  // namespace crossgate::mgmtd
