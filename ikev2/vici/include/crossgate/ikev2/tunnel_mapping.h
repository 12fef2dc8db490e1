// The mapping from a crossgate tunnel (config::Tunnel) to charon's configuration over VICI:
// one connection per AWS tunnel (IKE_SA name = CHILD_SA name = tunnel name) and one shared
// secret whose owners are the two IKE identities.
//
// Settings that match AWS (research/aws-azure-facts.md, DESIGN.md "Tunnels"): IKEv2, PSK, local
// id = the customer gateway's public IP (the VM sees only its private address behind NAT),
// remote = AWS outside IP, proposals from the config, DPD, start_action = start (AWS waits for
// the customer side), restart on DPD and close, UDP encapsulation forced, if_id per tunnel,
// 0.0.0.0/0 traffic selectors, MOBIKE off, unique = replace. The appliance rekeys before AWS:
// IKE rekey at 90% of AWS's lifetime minus up to 5% jitter, CHILD likewise, hard lifetimes no
// longer than AWS's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "crossgate/common/result.h"
#include "crossgate/common/secret.h"
#include "crossgate/ikev2/vici_message.h"
#include "crossgate/mgmt/config.h"

namespace crossgate::ikev2 {

struct Lifetimes {
  uint32_t ike_rekey_s = 0;
  uint32_t ike_over_s = 0;  // IKE_SA hard lifetime = rekey + over
  uint32_t ike_rand_s = 0;
  uint32_t child_rekey_s = 0;
  uint32_t child_life_s = 0;
  uint32_t child_rand_s = 0;
};

Lifetimes computeLifetimes(const config::Tunnel& tunnel);

// The `id` under which the tunnel's PSK is loaded (load-shared / unload-shared).
std::string secretId(const config::Tunnel& tunnel);

// The load-conn request: {<tunnel name> = {...}}. Fails if a value cannot be expressed.
Result<vici::Message> buildLoadConn(const config::Appliance& appliance,
                                    const config::Tunnel& tunnel);

// The load-shared request; the PSK value is marked secret (masked in toString()).
vici::Message buildLoadShared(const config::Appliance& appliance, const config::Tunnel& tunnel,
                              const Secret& psk);

// Reads a PSK file: a regular file of at most 4 KiB; one trailing newline (and CR) is dropped;
// an empty key is an error. The error names the file, never the content.
Result<Secret> readPskFile(const std::filesystem::path& path);

}  // namespace crossgate::ikev2
