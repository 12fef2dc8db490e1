// The firewall plan, the netfilter transport and Firewall (apply / remove / ensure).
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "crossgate/common/log.h"
#include "crossgate/mgmt/nftables.h"
#include "netlink_wire.h"
#include "nft_handles.h"

namespace crossgate::routing {
namespace {

struct MnlDeleter {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlSocketPtr = std::unique_ptr<mnl_socket, MnlDeleter>;

class MnlNftTransport : public NftTransport {
 public:
  explicit MnlNftTransport(MnlSocketPtr sock)
      : sock_(std::move(sock)), portid_(mnl_socket_get_portid(sock_.get())), buf_(1 << 17) {}

  Status commit(const std::vector<uint8_t>& bytes, uint32_t acks) override {
    if (mnl_socket_sendto(sock_.get(), bytes.data(), bytes.size()) < 0) {
      return makeError(Errc::kIo, std::string("nftables: send batch: ") + std::strerror(errno));
    }
    uint32_t seen = 0;
    while (seen < acks) {
      ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
      if (n < 0) {
        return makeError(errno == EAGAIN ? Errc::kTimeout : Errc::kIo,
                         std::string("nftables: batch answer: ") + std::strerror(errno));
      }
      auto scan = scanReplies(buf_.data(), static_cast<size_t>(n), 0, portid_, {});
      if (scan.error) {
        drain();
        return makeError(errnoToErrc(scan.error),
                         "nftables: batch rejected (message seq " + std::to_string(scan.error_seq) +
                             "): " + describeNetlinkError(scan.error, scan.extack));
      }
      seen += scan.acks;
    }
    return okStatus();
  }

  Result<bool> tableExists(const std::string& name) override {
    std::vector<char> req(MNL_SOCKET_BUFFER_SIZE);
    NftTablePtr t(nftnl_table_alloc());
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
    const uint32_t seq = ++seq_;
    nlmsghdr* nlh =
        nftnl_nlmsg_build_hdr(req.data(), NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, seq);
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
      return makeError(Errc::kIo, std::string("nftables: get table: ") + std::strerror(errno));
    }
    bool found = false;
    for (;;) {
      ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
      if (n < 0) {
        return makeError(Errc::kIo, std::string("nftables: get table: ") + std::strerror(errno));
      }
      auto scan = scanReplies(buf_.data(), static_cast<size_t>(n), seq, portid_, {});
      if (scan.error == ENOENT) return false;
      if (scan.error) {
        return makeError(errnoToErrc(scan.error),
                         "nftables: get table: " + describeNetlinkError(scan.error, scan.extack));
      }
      found = found || scan.data_seen;
      if (scan.done) return found;
    }
  }

 private:
  // After an error the kernel may still send the other messages' answers: drop them.
  void drain() {
    while (recv(mnl_socket_get_fd(sock_.get()), buf_.data(), buf_.size(), MSG_DONTWAIT) > 0) {
    }
  }

  MnlSocketPtr sock_;
  uint32_t portid_;
  uint32_t seq_ = static_cast<uint32_t>(time(nullptr)) * 7;
  std::vector<uint8_t> buf_;
};

std::string describeMessage(const nlmsghdr* nlh) {
  const uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
  char text[4096] = {};
  switch (type) {
    case NFT_MSG_NEWTABLE:
    case NFT_MSG_DELTABLE: {
      NftTablePtr t(nftnl_table_alloc());
      if (nftnl_table_nlmsg_parse(nlh, t.get()) < 0) return "table ?";
      return std::string(type == NFT_MSG_NEWTABLE ? "table add " : "table delete ") +
             nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME);
    }
    case NFT_MSG_NEWCHAIN: {
      NftChainPtr c(nftnl_chain_alloc());
      if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) return "chain ?";
      nftnl_chain_snprintf(text, sizeof(text), c.get(), NFTNL_OUTPUT_DEFAULT, 0);
      return std::string("chain ") + text;
    }
    case NFT_MSG_NEWRULE: {
      NftRulePtr r(nftnl_rule_alloc());
      if (nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) return "rule ?";
      nftnl_rule_snprintf(text, sizeof(text), r.get(), NFTNL_OUTPUT_DEFAULT, 0);
      return std::string("rule ") + text;
    }
    default:
      return "message " + std::to_string(nlh->nlmsg_type);
  }
}

}  // namespace

Result<FirewallPlan> planFirewall(const config::Config& config) {
  FirewallPlan plan;
  plan.wan_interface = config.appliance.wan_interface;
  for (size_t v = 0; v < config.vpns.size(); ++v) {
    const auto& vpn = config.vpns[v];
    for (size_t t = 0; t < vpn.tunnels.size(); ++t) {
      const auto& tun = vpn.tunnels[t];
      if (tun.tcp_mss < 536 || tun.tcp_mss > 65535) {
        return makeError(Errc::kInvalidArgument, "vpn[" + std::to_string(v) + "].tunnel[" +
                                                     std::to_string(t) +
                                                     "].tcp_mss: " + std::to_string(tun.tcp_mss) +
                                                     " is outside 536..65535");
      }
      plan.tunnels.push_back(
          FirewallTunnel{tun.interface, static_cast<uint16_t>(tun.tcp_mss), vpn.local_networks});
    }
  }
  plan.snat = config.nat.snat && !config.nat.private_endpoint_subnets.empty();
  if (plan.snat) {
    if (!config.appliance.lan_address) {
      return makeError(Errc::kInvalidArgument,
                       "nat.snat: needs appliance.lan_address (the SNAT source)");
    }
    if (!config.appliance.lan_address->isV4()) {
      return makeError(Errc::kInvalidArgument, "appliance.lan_address: SNAT supports IPv4 only");
    }
    plan.snat_address = *config.appliance.lan_address;
    for (size_t i = 0; i < config.nat.private_endpoint_subnets.size(); ++i) {
      const auto& net = config.nat.private_endpoint_subnets[i];
      if (!net.address().isV4()) {
        return makeError(Errc::kInvalidArgument,
                         "nat.private_endpoint_subnets[" + std::to_string(i) + "]: IPv4 only");
      }
      plan.snat_destinations.push_back(net);
    }
  }
  return plan;
}

Result<std::unique_ptr<NftTransport>> openNftTransport() {
  MnlSocketPtr sock(mnl_socket_open(NETLINK_NETFILTER));
  if (!sock) {
    return makeError(Errc::kIo, std::string("nftables: open netlink: ") + std::strerror(errno));
  }
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return makeError(Errc::kIo, std::string("nftables: bind netlink: ") + std::strerror(errno));
  }
  int one = 1;
  mnl_socket_setsockopt(sock.get(), NETLINK_EXT_ACK, &one, sizeof(one));
  timeval tv{2, 0};
  setsockopt(mnl_socket_get_fd(sock.get()), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return std::unique_ptr<NftTransport>(new MnlNftTransport(std::move(sock)));
}

Status RecordingNftTransport::commit(const std::vector<uint8_t>& bytes, uint32_t acks) {
  batches_.push_back(bytes);
  auto lines = describeBatch(bytes);
  if (!lines) return std::move(lines).error();
  for (const auto& line : *lines) {
    if (line.rfind("table delete", 0) == 0) present_ = false;
    if (line.rfind("table add", 0) == 0) present_ = true;
  }
  return okStatus();
}

Result<bool> RecordingNftTransport::tableExists(const std::string&) { return present_; }

Result<std::vector<std::string>> describeBatch(const std::vector<uint8_t>& bytes) {
  std::vector<std::string> out;
  size_t off = 0;
  while (bytes.size() - off >= sizeof(nlmsghdr)) {
    nlmsghdr h;
    std::memcpy(&h, bytes.data() + off, sizeof(h));
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > bytes.size() - off) {
      return makeError(Errc::kParse,
                       "nft batch: bad message length at offset " + std::to_string(off));
    }
    if (h.nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
      out.push_back("batch begin");
    } else if (h.nlmsg_type == NFNL_MSG_BATCH_END) {
      out.push_back("batch end");
    } else {
      // nftnl parsers read the header in place: hand them an aligned copy.
      std::vector<uint32_t> copy((h.nlmsg_len + 3) / 4);
      std::memcpy(copy.data(), bytes.data() + off, h.nlmsg_len);
      out.push_back(describeMessage(reinterpret_cast<const nlmsghdr*>(copy.data())));
    }
    off += MNL_ALIGN(h.nlmsg_len);
  }
  return out;
}

Firewall::Firewall(std::unique_ptr<NftTransport> transport)
    : transport_(std::move(transport)), seq_(static_cast<uint32_t>(time(nullptr))) {}

Status Firewall::apply(const FirewallPlan& plan) {
  NftBatch batch = buildReplaceBatch(plan, seq_);
  seq_ += batch.acks + 2;
  auto st = transport_->commit(batch.bytes, batch.acks);
  if (!st) {
    log::get("nl")->error("nftables: table inet {} not applied: {}", kNftTableName,
                          st.error().message);
    return st;
  }
  last_ = std::make_unique<FirewallPlan>(plan);
  log::get("nl")->info("nftables: table inet {} applied ({} messages, {} tunnels)", kNftTableName,
                       batch.acks, plan.tunnels.size());
  return okStatus();
}

Status Firewall::remove() {
  NftBatch batch = buildDeleteBatch(seq_);
  seq_ += batch.acks + 2;
  auto st = transport_->commit(batch.bytes, batch.acks);
  if (st) {
    last_.reset();
    log::get("nl")->info("nftables: table inet {} removed", kNftTableName);
  }
  return st;
}

Result<bool> Firewall::present() { return transport_->tableExists(kNftTableName); }

Result<bool> Firewall::ensure() {
  if (!last_) return false;
  auto there = present();
  if (!there) return std::move(there).error();
  if (*there) return false;
  log::get("nl")->warn("nftables: table inet {} was deleted outside crossgated; re-applying",
                       kNftTableName);
  FirewallPlan plan = *last_;
  auto st = apply(plan);
  if (!st) return std::move(st).error();
  ++reapplied_;
  return true;
}

}  // namespace crossgate::routing
