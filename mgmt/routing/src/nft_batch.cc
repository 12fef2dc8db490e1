// Renders a FirewallPlan into one nftables batch with libnftnl.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

#include <cstring>

#include "crossgate/mgmt/nftables.h"
#include "nft_handles.h"

namespace crossgate::routing {
namespace {

using TablePtr = NftTablePtr;
using ChainPtr = NftChainPtr;
using RulePtr = NftRulePtr;

constexpr uint32_t kCtEstablished = 1u << 1;  // NF_CT_STATE_BIT(IP_CT_ESTABLISHED)
constexpr uint32_t kCtRelated = 1u << 2;

// Appends messages to a batch buffer.
class BatchWriter {
 public:
  explicit BatchWriter(uint32_t seq) : seq_(seq) { buf_.reserve(1 << 16); }

  nlmsghdr* reserve() {
    size_t off = buf_.size();
    buf_.resize(off + 8192, 0);
    return reinterpret_cast<nlmsghdr*>(buf_.data() + off);
  }
  void commitLast(nlmsghdr* nlh) {
    size_t start = reinterpret_cast<uint8_t*>(nlh) - buf_.data();
    buf_.resize(start + MNL_ALIGN(nlh->nlmsg_len));
  }
  void begin() {
    auto* nlh = reserve();
    nftnl_batch_begin(reinterpret_cast<char*>(nlh), seq_++);
    commitLast(nlh);
  }
  void end() {
    auto* nlh = reserve();
    nftnl_batch_end(reinterpret_cast<char*>(nlh), seq_++);
    commitLast(nlh);
  }
  nlmsghdr* header(uint16_t type, uint16_t flags) {
    auto* nlh = reserve();
    ++acks_;
    return nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(nlh), type, NFPROTO_INET,
                                 flags | NLM_F_ACK, seq_++);
  }
  // The buffer may move on reserve(): callers finish one message before the next.
  NftBatch finish() { return NftBatch{std::move(buf_), acks_}; }

 private:
  std::vector<uint8_t> buf_;
  uint32_t seq_;
  uint32_t acks_ = 0;
};

void addTableMsg(BatchWriter& w, uint16_t type, uint16_t flags) {
  TablePtr t(nftnl_table_alloc());
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kNftTableName);
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
  nlmsghdr* nlh = w.header(type, flags);
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  w.commitLast(nlh);
}

void addChain(BatchWriter& w, const char* name, const char* type, uint32_t hook, int32_t prio) {
  ChainPtr c(nftnl_chain_alloc());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kNftTableName);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name);
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, type);
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hook);
  nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, prio);
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
  nlmsghdr* nlh = w.header(NFT_MSG_NEWCHAIN, NLM_F_CREATE);
  nftnl_chain_nlmsg_build_payload(nlh, c.get());
  w.commitLast(nlh);
}

// One rule under construction; expressions are owned by the rule once added.
class RuleBuilder {
 public:
  explicit RuleBuilder(const char* chain) : r_(nftnl_rule_alloc()) {
    nftnl_rule_set_str(r_.get(), NFTNL_RULE_TABLE, kNftTableName);
    nftnl_rule_set_str(r_.get(), NFTNL_RULE_CHAIN, chain);
    nftnl_rule_set_u32(r_.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
  }

  RuleBuilder& meta(uint32_t key) {
    auto* e = nftnl_expr_alloc("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
    return add(e);
  }
  RuleBuilder& cmp(uint32_t op, const void* data, uint32_t len) {
    auto* e = nftnl_expr_alloc("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    return add(e);
  }
  RuleBuilder& payload(uint32_t base, uint32_t offset, uint32_t len) {
    auto* e = nftnl_expr_alloc("payload");
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    return add(e);
  }
  RuleBuilder& bitwise(const void* mask, uint32_t len) {
    std::vector<uint8_t> zero(len, 0);
    auto* e = nftnl_expr_alloc("bitwise");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero.data(), len);
    return add(e);
  }
  RuleBuilder& ifname(uint32_t key, const std::string& name) {
    char buf[IFNAMSIZ_] = {};
    std::strncpy(buf, name.c_str(), sizeof(buf) - 1);
    meta(key);
    return cmp(NFT_CMP_EQ, buf, static_cast<uint32_t>(name.size() + 1));
  }
  RuleBuilder& l4proto(uint8_t proto) {
    meta(NFT_META_L4PROTO);
    return cmp(NFT_CMP_EQ, &proto, 1);
  }
  RuleBuilder& dport(uint16_t port) {
    uint16_t be = htons(port);
    payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
    return cmp(NFT_CMP_EQ, &be, 2);
  }
  RuleBuilder& ctEstablishedRelated() {
    auto* e = nftnl_expr_alloc("ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    add(e);
    uint32_t mask = kCtEstablished | kCtRelated;
    uint32_t zero = 0;
    bitwise(&mask, 4);
    return cmp(NFT_CMP_NEQ, &zero, 4);
  }
  RuleBuilder& ipv4Daddr(const Cidr& net) {
    uint8_t nfproto = NFPROTO_IPV4;
    meta(NFT_META_NFPROTO);
    cmp(NFT_CMP_EQ, &nfproto, 1);
    payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
    uint32_t mask = net.prefixLen() == 0 ? 0 : htonl(~uint32_t{0} << (32 - net.prefixLen()));
    uint32_t addr = htonl(net.network().v4HostOrder());
    bitwise(&mask, 4);
    return cmp(NFT_CMP_EQ, &addr, 4);
  }
  RuleBuilder& tcpSyn() {
    l4proto(IPPROTO_TCP);
    payload(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
    uint8_t mask = 0x02;
    uint8_t zero = 0;
    bitwise(&mask, 1);
    return cmp(NFT_CMP_NEQ, &zero, 1);
  }
  // tcp option maxseg size > mss: set mss
  RuleBuilder& clampMss(uint16_t mss) {
    uint16_t be = htons(mss);
    auto* load = nftnl_expr_alloc("exthdr");
    nftnl_expr_set_u32(load, NFTNL_EXPR_EXTHDR_DREG, NFT_REG_1);
    nftnl_expr_set_u8(load, NFTNL_EXPR_EXTHDR_TYPE, 2);  // TCPOPT_MAXSEG
    nftnl_expr_set_u32(load, NFTNL_EXPR_EXTHDR_OFFSET, 2);
    nftnl_expr_set_u32(load, NFTNL_EXPR_EXTHDR_LEN, 2);
    nftnl_expr_set_u32(load, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
    add(load);
    cmp(NFT_CMP_GT, &be, 2);
    auto* imm = nftnl_expr_alloc("immediate");
    nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
    nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &be, 2);
    add(imm);
    auto* write = nftnl_expr_alloc("exthdr");
    nftnl_expr_set_u32(write, NFTNL_EXPR_EXTHDR_SREG, NFT_REG_1);
    nftnl_expr_set_u8(write, NFTNL_EXPR_EXTHDR_TYPE, 2);
    nftnl_expr_set_u32(write, NFTNL_EXPR_EXTHDR_OFFSET, 2);
    nftnl_expr_set_u32(write, NFTNL_EXPR_EXTHDR_LEN, 2);
    nftnl_expr_set_u32(write, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
    return add(write);
  }
  RuleBuilder& counter() { return add(nftnl_expr_alloc("counter")); }
  RuleBuilder& verdict(int v) {
    auto* e = nftnl_expr_alloc("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(v));
    return add(e);
  }
  RuleBuilder& snat(const IpAddress& to) {
    uint32_t addr = htonl(to.v4HostOrder());
    auto* imm = nftnl_expr_alloc("immediate");
    nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
    nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &addr, 4);
    add(imm);
    auto* e = nftnl_expr_alloc("nat");
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_SNAT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
    return add(e);
  }
  void emit(BatchWriter& w) {
    nlmsghdr* nlh = w.header(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
    nftnl_rule_nlmsg_build_payload(nlh, r_.get());
    w.commitLast(nlh);
  }

 private:
  static constexpr size_t IFNAMSIZ_ = 16;
  RuleBuilder& add(nftnl_expr* e) {
    nftnl_rule_add_expr(r_.get(), e);
    return *this;
  }
  RulePtr r_;
};

void addInputRules(BatchWriter& w, const FirewallPlan& plan) {
  RuleBuilder("input").ctEstablishedRelated().verdict(NF_ACCEPT).emit(w);
  for (uint16_t port : {uint16_t{500}, uint16_t{4500}}) {
    RuleBuilder("input")
        .ifname(NFT_META_IIFNAME, plan.wan_interface)
        .l4proto(IPPROTO_UDP)
        .dport(port)
        .verdict(NF_ACCEPT)
        .emit(w);
  }
  RuleBuilder("input")
      .ifname(NFT_META_IIFNAME, plan.wan_interface)
      .l4proto(IPPROTO_ICMP)
      .verdict(NF_ACCEPT)
      .emit(w);
  RuleBuilder("input")
      .ifname(NFT_META_IIFNAME, plan.wan_interface)
      .l4proto(IPPROTO_ICMPV6)
      .verdict(NF_ACCEPT)
      .emit(w);
  RuleBuilder("input")
      .ifname(NFT_META_IIFNAME, plan.wan_interface)
      .counter()
      .verdict(NF_DROP)
      .emit(w);
  for (const auto& t : plan.tunnels) {
    RuleBuilder("input")
        .ifname(NFT_META_IIFNAME, t.interface)
        .l4proto(IPPROTO_UDP)
        .dport(53)
        .verdict(NF_ACCEPT)
        .emit(w);
    RuleBuilder("input")
        .ifname(NFT_META_IIFNAME, t.interface)
        .l4proto(IPPROTO_TCP)
        .dport(53)
        .verdict(NF_ACCEPT)
        .emit(w);
    RuleBuilder("input")
        .ifname(NFT_META_IIFNAME, t.interface)
        .l4proto(IPPROTO_ICMP)
        .verdict(NF_ACCEPT)
        .emit(w);
    RuleBuilder("input").ifname(NFT_META_IIFNAME, t.interface).counter().verdict(NF_DROP).emit(w);
  }
}

void addForwardRules(BatchWriter& w, const FirewallPlan& plan) {
  for (const auto& t : plan.tunnels) {
    RuleBuilder("mss").ifname(NFT_META_IIFNAME, t.interface).tcpSyn().clampMss(t.tcp_mss).emit(w);
    RuleBuilder("mss").ifname(NFT_META_OIFNAME, t.interface).tcpSyn().clampMss(t.tcp_mss).emit(w);
  }
  RuleBuilder("forward").ctEstablishedRelated().verdict(NF_ACCEPT).emit(w);
  for (const auto& t : plan.tunnels) {
    for (const auto& net : t.local_networks) {
      if (!net.address().isV4()) continue;
      RuleBuilder("forward")
          .ifname(NFT_META_IIFNAME, t.interface)
          .ipv4Daddr(net)
          .verdict(NF_ACCEPT)
          .emit(w);
    }
    RuleBuilder("forward").ifname(NFT_META_IIFNAME, t.interface).counter().verdict(NF_DROP).emit(w);
  }
}

void addNatRules(BatchWriter& w, const FirewallPlan& plan) {
  if (!plan.snat) return;
  for (const auto& t : plan.tunnels) {
    for (const auto& net : plan.snat_destinations) {
      RuleBuilder("postrouting")
          .ifname(NFT_META_IIFNAME, t.interface)
          .ipv4Daddr(net)
          .snat(plan.snat_address)
          .emit(w);
    }
  }
}

}  // namespace

NftBatch buildReplaceBatch(const FirewallPlan& plan, uint32_t seq) {
  BatchWriter w(seq);
  w.begin();
  addTableMsg(w, NFT_MSG_NEWTABLE, NLM_F_CREATE);  // exists afterwards, so the delete succeeds
  addTableMsg(w, NFT_MSG_DELTABLE, 0);
  addTableMsg(w, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
  addChain(w, "mss", "filter", NF_INET_FORWARD, -150);
  addChain(w, "input", "filter", NF_INET_LOCAL_IN, 0);
  addChain(w, "forward", "filter", NF_INET_FORWARD, 0);
  addChain(w, "postrouting", "nat", NF_INET_POST_ROUTING, 100);
  addInputRules(w, plan);
  addForwardRules(w, plan);
  addNatRules(w, plan);
  w.end();
  return w.finish();
}

NftBatch buildDeleteBatch(uint32_t seq) {
  BatchWriter w(seq);
  w.begin();
  addTableMsg(w, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  addTableMsg(w, NFT_MSG_DELTABLE, 0);
  w.end();
  return w.finish();
}

}  // namespace crossgate::routing
