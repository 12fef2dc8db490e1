// The `inet crossgate` nftables table, built from the config and committed through libnftnl
// in ONE netfilter batch (applied atomically by the kernel). Replacing it is "add table, delete
// table, add table and its chains and rules" in the same batch, so a reload never leaves a
// window without the firewall. Chains:
//   mss          forward, priority -150: clamp the MSS of SYNs in and out of each tunnel
//                (tcp flags syn tcp option maxseg size > N: set N)
//   input        input, priority 0: ct state established,related accept; on the WAN interface
//                udp 500/4500 and ICMP accept, the rest dropped; from tunnels DNS (udp/tcp 53)
//                and ICMP accept, the rest dropped
//   forward      forward, priority 0: established,related accept; from a tunnel only toward
//                the VPN's local networks, the rest dropped
//   postrouting  nat, priority 100: from a tunnel toward nat.private_endpoint_subnets,
//                snat to appliance.lan_address
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crossgate/common/net.h"
#include "crossgate/common/result.h"
#include "crossgate/mgmt/config.h"

namespace crossgate::routing {

inline constexpr const char* kNftTableName = "crossgate";

struct FirewallTunnel {
  std::string interface;
  uint16_t tcp_mss = 1379;
  std::vector<Cidr> local_networks;  // forward from this tunnel only toward these
};

struct FirewallPlan {
  std::string wan_interface;
  std::vector<FirewallTunnel> tunnels;
  bool snat = false;
  IpAddress snat_address;  // appliance.lan_address
  std::vector<Cidr> snat_destinations;
};

// Derives the plan from a loaded config. Fails (naming the key) on values nftables cannot
// take: an MSS outside 536..65535, snat on without appliance.lan_address, IPv6 SNAT.
Result<FirewallPlan> planFirewall(const config::Config& config);

// The netfilter boundary: commit a prepared batch, ask whether a table exists.
class NftTransport {
 public:
  virtual ~NftTransport() = default;
  // `bytes` is a complete batch (begin ... end); `acks` = messages that asked for an ack.
  virtual Status commit(const std::vector<uint8_t>& bytes, uint32_t acks) = 0;
  virtual Result<bool> tableExists(const std::string& name) = 0;
};

// A NETLINK_NETFILTER socket (libmnl).
Result<std::unique_ptr<NftTransport>> openNftTransport();

// Records the batches; tableExists() answers from what was committed (and from
// setTablePresent(), to simulate someone deleting the table).
class RecordingNftTransport : public NftTransport {
 public:
  Status commit(const std::vector<uint8_t>& bytes, uint32_t acks) override;
  Result<bool> tableExists(const std::string& name) override;
  const std::vector<std::vector<uint8_t>>& batches() const { return batches_; }
  void setTablePresent(bool present) { present_ = present; }

 private:
  std::vector<std::vector<uint8_t>> batches_;
  bool present_ = false;
};

// A batch as built for the kernel: the bytes and the count of acked messages.
struct NftBatch {
  std::vector<uint8_t> bytes;
  uint32_t acks = 0;
};
NftBatch buildReplaceBatch(const FirewallPlan& plan, uint32_t seq);
NftBatch buildDeleteBatch(uint32_t seq);

// Parses a batch back into one line per message ("table add crossgate", "rule forward: ...")
// through libnftnl, for tests and `--dry-run` style output.
Result<std::vector<std::string>> describeBatch(const std::vector<uint8_t>& bytes);

class Firewall {
 public:
  explicit Firewall(std::unique_ptr<NftTransport> transport);

  Status apply(const FirewallPlan& plan);  // create or replace, one batch
  Status remove();                         // delete the table (absent = ok)
  Result<bool> present();
  // Re-applies the last plan if the table is gone; true if it did. Call it periodically
  // (e.g. every second) from crossgated.
  Result<bool> ensure();
  uint64_t reapplied() const { return reapplied_; }

 private:
  std::unique_ptr<NftTransport> transport_;
  std::unique_ptr<FirewallPlan> last_;
  uint32_t seq_;
  uint64_t reapplied_ = 0;
};

}  // namespace crossgate::routing
