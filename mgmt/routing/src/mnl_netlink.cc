// The real Netlink: one NETLINK_ROUTE socket through libmnl, one acknowledged message per
// request.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "crossgate/common/log.h"
#include "crossgate/mgmt/netlink.h"
#include "netlink_wire.h"

namespace crossgate::routing {
namespace {

struct MnlDeleter {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlSocketPtr = std::unique_ptr<mnl_socket, MnlDeleter>;

uint8_t familyOf(const IpAddress& a) { return a.isV4() ? AF_INET : AF_INET6; }

void putAddress(nlmsghdr* nlh, uint16_t type, const IpAddress& a) {
  mnl_attr_put(nlh, type, a.isV4() ? 4 : 16, a.bytes().data());
}

class MnlNetlink : public Netlink {
 public:
  explicit MnlNetlink(MnlSocketPtr sock) : sock_(std::move(sock)), buf_(kBufSize) {
    portid_ = mnl_socket_get_portid(sock_.get());
    seq_ = static_cast<uint32_t>(time(nullptr));
  }

  Result<Link> link(const std::string& name) override {
    nlmsghdr* nlh = start(RTM_GETLINK, 0);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    Link out;
    bool seen = false;
    auto st = exchange(nlh, "get link " + name, [&](const nlmsghdr* reply) {
      if (reply->nlmsg_type != RTM_NEWLINK ||
          mnl_nlmsg_get_payload_len(reply) < sizeof(ifinfomsg)) {
        return;
      }
      const auto* info = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(reply));
      out.index = info->ifi_index;
      out.up = (info->ifi_flags & IFF_UP) != 0;
      out.name = name;
      auto* msg = const_cast<nlmsghdr*>(reply);
      auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(msg));
      for (auto* attr =
               static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(msg, sizeof(ifinfomsg)));
           mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)));
           attr = mnl_attr_next(attr)) {
        if (mnl_attr_get_type(attr) == IFLA_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
          out.mtu = mnl_attr_get_u32(attr);
        }
      }
      seen = true;
    });
    if (!st) {
      return std::move(st).error();
    }
    if (!seen) {
      return makeError(Errc::kNotFound, "get link " + name + ": no answer from the kernel");
    }
    return out;
  }

  Status setLinkUp(const std::string& name, bool up) override {
    auto idx = indexOf(name);
    if (!idx) return std::move(idx).error();
    nlmsghdr* nlh = start(RTM_NEWLINK, NLM_F_ACK);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = *idx;
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = up ? IFF_UP : 0;
    return exchange(nlh, std::string(up ? "set link up " : "set link down ") + name, {});
  }

  Status setLinkMtu(const std::string& name, uint32_t mtu) override {
    auto idx = indexOf(name);
    if (!idx) return std::move(idx).error();
    nlmsghdr* nlh = start(RTM_NEWLINK, NLM_F_ACK);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = *idx;
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    return exchange(nlh, "set mtu " + std::to_string(mtu) + " on " + name, {});
  }

  Status addAddress(const std::string& device, const Cidr& address) override {
    return addressRequest(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, device, address, "add");
  }
  Status deleteAddress(const std::string& device, const Cidr& address) override {
    return addressRequest(RTM_DELADDR, 0, device, address, "delete");
  }

  Status replaceRoute(const Route& route) override {
    return routeRequest(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, route, "replace");
  }
  Status deleteRoute(const Route& route) override {
    return routeRequest(RTM_DELROUTE, 0, route, "delete");
  }

  Result<std::vector<RouteEntry>> dumpRoutes(uint32_t table, uint8_t family) override {
    nlmsghdr* nlh = start(RTM_GETROUTE, NLM_F_DUMP);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = family;
    std::vector<RouteEntry> out;
    Status parse_status;
    auto st = exchange(nlh, "dump routes", [&](const nlmsghdr* reply) {
      if (!parse_status) return;
      auto parsed = parseRouteDump(reinterpret_cast<const uint8_t*>(reply), reply->nlmsg_len);
      if (!parsed) {
        parse_status = std::move(parsed).error();
        return;
      }
      for (auto& e : *parsed) {
        if (table == 0 || e.table == table) out.push_back(std::move(e));
      }
    });
    if (!st) return std::move(st).error();
    if (!parse_status) return std::move(parse_status).error();
    return out;
  }

  Status addRule(const Rule& rule) override {
    return ruleRequest(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, rule, "add");
  }
  Status deleteRule(const Rule& rule) override {
    return ruleRequest(RTM_DELRULE, 0, rule, "delete");
  }

 private:
  static constexpr size_t kBufSize = 1 << 16;

  nlmsghdr* start(uint16_t type, uint16_t flags) {
    std::memset(buf_.data(), 0, 4096);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = ++seq_;
    return nlh;
  }

  Result<int> indexOf(const std::string& name) {
    auto l = link(name);
    if (!l) return std::move(l).error();
    return l->index;
  }

  Status addressRequest(uint16_t type, uint16_t flags, const std::string& device,
                        const Cidr& address, const char* verb) {
    auto idx = indexOf(device);
    if (!idx) return std::move(idx).error();
    nlmsghdr* nlh = start(type, NLM_F_ACK | flags);
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = familyOf(address.address());
    ifa->ifa_prefixlen = static_cast<uint8_t>(address.prefixLen());
    ifa->ifa_index = static_cast<uint32_t>(*idx);
    putAddress(nlh, IFA_LOCAL, address.address());
    putAddress(nlh, IFA_ADDRESS, address.address());
    return exchange(nlh, std::string(verb) + " address " + address.toString() + " on " + device,
                    {});
  }

  Status routeRequest(uint16_t type, uint16_t flags, const Route& route, const char* verb) {
    std::vector<int> indexes;
    for (const auto& hop : route.nexthops) {
      auto idx = indexOf(hop.device);
      if (!idx) return std::move(idx).error();
      indexes.push_back(*idx);
    }
    nlmsghdr* nlh = start(type, NLM_F_ACK | flags);
    buildRouteMessage(nlh, route, indexes);
    return exchange(nlh, std::string(verb) + " route " + route.destination.toString(), {});
  }

  Status ruleRequest(uint16_t type, uint16_t flags, const Rule& rule, const char* verb) {
    nlmsghdr* nlh = start(type, NLM_F_ACK | flags);
    auto* frh = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    frh->rtm_family = rule.family;
    frh->rtm_table = rule.table < 256 ? static_cast<uint8_t>(rule.table) : uint8_t{RT_TABLE_UNSPEC};
    frh->rtm_type = FR_ACT_TO_TBL;
    mnl_attr_put_u32(nlh, FRA_PRIORITY, rule.priority);
    mnl_attr_put_u32(nlh, FRA_TABLE, rule.table);
    if (rule.fwmark) {
      mnl_attr_put_u32(nlh, FRA_FWMARK, *rule.fwmark);
      mnl_attr_put_u32(nlh, FRA_FWMASK, rule.fwmask);
    }
    return exchange(nlh, std::string(verb) + " rule priority " + std::to_string(rule.priority), {});
  }

  // Sends one message and reads until its ack (or the end of a dump); `on_reply` sees every
  // data message.
  Status exchange(nlmsghdr* nlh, const std::string& what,
                  const std::function<void(const nlmsghdr*)>& on_reply) {
    const uint32_t seq = nlh->nlmsg_seq;
    const bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
    const bool want_ack = (nlh->nlmsg_flags & NLM_F_ACK) != 0;
    if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
      return makeError(Errc::kIo, what + ": send: " + std::strerror(errno));
    }
    for (;;) {
      ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          return makeError(Errc::kTimeout, what + ": no answer from the kernel");
        }
        return makeError(Errc::kIo, what + ": receive: " + std::strerror(errno));
      }
      auto outcome = scanReplies(buf_.data(), static_cast<size_t>(n), seq, portid_, on_reply);
      if (outcome.error) {
        return makeError(errnoToErrc(outcome.error),
                         what + ": " + describeNetlinkError(outcome.error, outcome.extack));
      }
      if (outcome.done || (!dump && !want_ack && outcome.data_seen)) {
        return okStatus();
      }
    }
  }

  MnlSocketPtr sock_;
  std::vector<uint8_t> buf_;
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
};

}  // namespace

void buildRouteMessage(nlmsghdr* nlh, const Route& route, const std::vector<int>& ifindexes) {
  const IpAddress& dst = route.destination.address();
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = familyOf(dst);
  rtm->rtm_dst_len = static_cast<uint8_t>(route.destination.prefixLen());
  rtm->rtm_table = route.table < 256 ? static_cast<uint8_t>(route.table) : uint8_t{RT_TABLE_UNSPEC};
  rtm->rtm_protocol = route.protocol;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  putAddress(nlh, RTA_DST, route.destination.network());
  mnl_attr_put_u32(nlh, RTA_TABLE, route.table);
  if (route.metric != 0) {
    mnl_attr_put_u32(nlh, RTA_PRIORITY, route.metric);
  }
  if (route.nexthops.size() == 1) {
    mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(ifindexes.at(0)));
    if (route.nexthops[0].gateway) {
      putAddress(nlh, RTA_GATEWAY, *route.nexthops[0].gateway);
    }
    return;
  }
  if (route.nexthops.empty()) {
    return;
  }
  nlattr* mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
  for (size_t i = 0; i < route.nexthops.size(); ++i) {
    const Nexthop& hop = route.nexthops[i];
    auto* rtnh = static_cast<rtnexthop*>(mnl_nlmsg_get_payload_tail(nlh));
    nlh->nlmsg_len += MNL_ALIGN(sizeof(rtnexthop));
    std::memset(rtnh, 0, sizeof(rtnexthop));
    rtnh->rtnh_ifindex = ifindexes.at(i);
    rtnh->rtnh_hops = static_cast<uint8_t>(hop.weight > 0 ? hop.weight - 1 : 0);
    if (hop.gateway) {
      putAddress(nlh, RTA_GATEWAY, *hop.gateway);
    }
    rtnh->rtnh_len =
        static_cast<unsigned short>(reinterpret_cast<uint8_t*>(mnl_nlmsg_get_payload_tail(nlh)) -
                                    reinterpret_cast<uint8_t*>(rtnh));
  }
  mnl_attr_nest_end(nlh, mp);
}

Result<std::unique_ptr<Netlink>> openNetlink() {
  MnlSocketPtr sock(mnl_socket_open(NETLINK_ROUTE));
  if (!sock) {
    return makeError(Errc::kIo, std::string("netlink: open: ") + std::strerror(errno));
  }
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return makeError(Errc::kIo, std::string("netlink: bind: ") + std::strerror(errno));
  }
  int one = 1;
  mnl_socket_setsockopt(sock.get(), NETLINK_EXT_ACK, &one, sizeof(one));
  mnl_socket_setsockopt(sock.get(), NETLINK_CAP_ACK, &one, sizeof(one));
  timeval tv{2, 0};
  setsockopt(mnl_socket_get_fd(sock.get()), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return std::unique_ptr<Netlink>(new MnlNetlink(std::move(sock)));
}

}  // namespace crossgate::routing
