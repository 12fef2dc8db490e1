// Length-checked parser for RTM_NEWROUTE dumps (bytes from the kernel).
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "crossgate/mgmt/netlink.h"

namespace crossgate::routing {
namespace {

constexpr size_t align4(size_t n) { return (n + 3) & ~size_t{3}; }

template <typename T>
T readAt(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Walks rtattrs in [p, p+len); calls fn(type, payload, payload_len). False on a bad length.
template <typename Fn>
bool walkAttrs(const uint8_t* p, size_t len, Fn&& fn) {
  size_t off = 0;
  while (len - off >= sizeof(rtattr)) {
    auto rta = readAt<rtattr>(p + off);
    if (rta.rta_len < sizeof(rtattr) || rta.rta_len > len - off) {
      return false;
    }
    if (!fn(rta.rta_type & NLA_TYPE_MASK, p + off + sizeof(rtattr), rta.rta_len - sizeof(rtattr))) {
      return false;
    }
    off += align4(rta.rta_len);
    if (off > len) {
      break;
    }
  }
  return true;
}

std::optional<IpAddress> addressFrom(uint8_t family, const uint8_t* p, size_t len) {
  if (family == AF_INET && len == 4) {
    return IpAddress::v4(ntohl(readAt<uint32_t>(p)));
  }
  if (family == AF_INET6 && len == 16) {
    std::array<uint8_t, 16> b{};
    std::memcpy(b.data(), p, 16);
    return IpAddress::v6(b);
  }
  return std::nullopt;
}

bool parseMultipath(uint8_t family, const uint8_t* p, size_t len, RouteEntry* out) {
  size_t off = 0;
  while (len - off >= sizeof(rtnexthop)) {
    auto nh = readAt<rtnexthop>(p + off);
    if (nh.rtnh_len < sizeof(rtnexthop) || nh.rtnh_len > len - off) {
      return false;
    }
    RouteEntry::Hop hop;
    hop.ifindex = nh.rtnh_ifindex;
    hop.weight = static_cast<uint8_t>(nh.rtnh_hops + 1);
    bool ok = walkAttrs(p + off + sizeof(rtnexthop), nh.rtnh_len - sizeof(rtnexthop),
                        [&](uint16_t type, const uint8_t* v, size_t vlen) {
                          if (type == RTA_GATEWAY) {
                            hop.gateway = addressFrom(family, v, vlen);
                            return hop.gateway.has_value();
                          }
                          return true;
                        });
    if (!ok) {
      return false;
    }
    out->hops.push_back(hop);
    off += align4(nh.rtnh_len);
  }
  return true;
}

Result<RouteEntry> parseRouteMessage(const uint8_t* p, size_t len) {
  if (len < sizeof(rtmsg)) {
    return makeError(Errc::kParse, "route message: shorter than struct rtmsg");
  }
  auto rtm = readAt<rtmsg>(p);
  if (rtm.rtm_family != AF_INET && rtm.rtm_family != AF_INET6) {
    return makeError(Errc::kParse,
                     "route message: unknown family " + std::to_string(rtm.rtm_family));
  }
  int max_len = rtm.rtm_family == AF_INET ? 32 : 128;
  if (rtm.rtm_dst_len > max_len) {
    return makeError(Errc::kParse,
                     "route message: prefix length " + std::to_string(rtm.rtm_dst_len));
  }
  RouteEntry e;
  e.table = rtm.rtm_table;
  e.protocol = rtm.rtm_protocol;
  e.type = rtm.rtm_type;
  IpAddress dst = rtm.rtm_family == AF_INET ? IpAddress::v4(0) : IpAddress::v6({});
  RouteEntry::Hop single;
  bool have_single = false;
  const size_t hdr = align4(sizeof(rtmsg));
  const size_t attrs_len = len > hdr ? len - hdr : 0;
  bool ok = walkAttrs(p + (len > hdr ? hdr : len), attrs_len,
                      [&](uint16_t type, const uint8_t* v, size_t vlen) {
                        switch (type) {
                          case RTA_DST: {
                            auto a = addressFrom(rtm.rtm_family, v, vlen);
                            if (!a) return false;
                            dst = *a;
                            return true;
                          }
                          case RTA_TABLE:
                            if (vlen != 4) return false;
                            e.table = readAt<uint32_t>(v);
                            return true;
                          case RTA_PRIORITY:
                            if (vlen != 4) return false;
                            e.metric = readAt<uint32_t>(v);
                            return true;
                          case RTA_OIF:
                            if (vlen != 4) return false;
                            single.ifindex = static_cast<int>(readAt<uint32_t>(v));
                            have_single = true;
                            return true;
                          case RTA_GATEWAY:
                            single.gateway = addressFrom(rtm.rtm_family, v, vlen);
                            have_single = true;
                            return single.gateway.has_value();
                          case RTA_MULTIPATH:
                            return parseMultipath(rtm.rtm_family, v, vlen, &e);
                          default:
                            return true;
                        }
                      });
  if (!ok) {
    return makeError(Errc::kParse, "route message: malformed attribute");
  }
  if (have_single) {
    e.hops.insert(e.hops.begin(), single);
  }
  e.destination = Cidr(dst, rtm.rtm_dst_len);
  return e;
}

}  // namespace

Result<std::vector<RouteEntry>> parseRouteDump(const uint8_t* data, size_t size) {
  std::vector<RouteEntry> out;
  size_t off = 0;
  while (size - off >= sizeof(nlmsghdr)) {
    auto nlh = readAt<nlmsghdr>(data + off);
    if (nlh.nlmsg_len < sizeof(nlmsghdr) || nlh.nlmsg_len > size - off) {
      return makeError(Errc::kParse, "route dump: message at offset " + std::to_string(off) +
                                         " has bad length " + std::to_string(nlh.nlmsg_len));
    }
    if (nlh.nlmsg_type == NLMSG_DONE) {
      break;
    }
    if (nlh.nlmsg_type == RTM_NEWROUTE) {
      auto entry =
          parseRouteMessage(data + off + sizeof(nlmsghdr), nlh.nlmsg_len - sizeof(nlmsghdr));
      if (!entry) {
        return makeError(Errc::kParse, "route dump: offset " + std::to_string(off) + ": " +
                                           entry.error().message);
      }
      out.push_back(std::move(entry).value());
    }
    off += align4(nlh.nlmsg_len);
    if (off > size) {
      break;
    }
  }
  return out;
}

}  // namespace crossgate::routing
