// Netlink (rtnetlink) behind a small interface: links, addresses, routes (single nexthop or
// RTA_MULTIPATH), rules. Every request is one netlink message, acknowledged by the kernel; a
// failure carries the kernel's errno text and the extended ack message when there is one.
// MnlNetlink is the real implementation (libmnl); RecordingNetlink records requests for tests.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crossgate/common/net.h"
#include "crossgate/common/result.h"

namespace crossgate::routing {

inline constexpr uint32_t kMainTable = 254;

struct Link {
  int index = 0;
  std::string name;
  bool up = false;
  uint32_t mtu = 0;
};

struct Nexthop {
  std::string device;                // resolved to an ifindex by the implementation
  std::optional<IpAddress> gateway;  // none = directly through the device
  uint8_t weight = 1;                // 1..256 in the kernel's terms (hops = weight - 1)
  bool operator==(const Nexthop&) const = default;
};

struct Route {
  Cidr destination;
  uint32_t table = kMainTable;
  uint32_t metric = 0;            // RTA_PRIORITY
  uint8_t protocol = 4;           // RTPROT_STATIC
  std::vector<Nexthop> nexthops;  // 1 = RTA_OIF/RTA_GATEWAY, more = RTA_MULTIPATH
  bool operator==(const Route&) const = default;
};

// A route as the kernel reports it in a dump (interfaces as indexes).
struct RouteEntry {
  Cidr destination;
  uint32_t table = 0;
  uint32_t metric = 0;
  uint8_t protocol = 0;
  uint8_t type = 0;
  struct Hop {
    int ifindex = 0;
    std::optional<IpAddress> gateway;
    uint8_t weight = 1;
  };
  std::vector<Hop> hops;
};

struct Rule {
  uint8_t family = 2;  // AF_INET
  uint32_t priority = 0;
  uint32_t table = kMainTable;
  std::optional<uint32_t> fwmark;
  uint32_t fwmask = 0xffffffff;
  bool operator==(const Rule&) const = default;
};

class Netlink {
 public:
  virtual ~Netlink() = default;
  virtual Result<Link> link(const std::string& name) = 0;
  virtual Status setLinkUp(const std::string& name, bool up) = 0;
  virtual Status setLinkMtu(const std::string& name, uint32_t mtu) = 0;
  // `address` carries the host address and the prefix length (10.0.0.1/24).
  virtual Status addAddress(const std::string& device, const Cidr& address) = 0;
  virtual Status deleteAddress(const std::string& device, const Cidr& address) = 0;
  // RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE: one message, atomic in the kernel.
  virtual Status replaceRoute(const Route& route) = 0;
  virtual Status deleteRoute(const Route& route) = 0;
  virtual Result<std::vector<RouteEntry>> dumpRoutes(uint32_t table, uint8_t family) = 0;
  virtual Status addRule(const Rule& rule) = 0;
  virtual Status deleteRule(const Rule& rule) = 0;
};

// Opens a NETLINK_ROUTE socket (extended acks on). Fails with the errno text.
Result<std::unique_ptr<Netlink>> openNetlink();

// Parses a sequence of netlink messages holding RTM_NEWROUTE entries (a dump's bytes, from the
// kernel: every length is checked). Other message types are skipped; NLMSG_DONE ends the walk.
Result<std::vector<RouteEntry>> parseRouteDump(const uint8_t* data, size_t size);

// Records every request; links are declared with addLink(). Requests on unknown devices fail
// as the kernel would (kNotFound). failNext() makes the next request fail with that error.
class RecordingNetlink : public Netlink {
 public:
  struct Request {
    std::string op;  // "link-up", "link-down", "mtu", "addr-add", "addr-del", "route-replace",
                     // "route-del", "rule-add", "rule-del"
    std::string device;
    std::optional<Route> route;
    std::optional<Rule> rule;
    std::optional<Cidr> address;
    uint32_t value = 0;
  };

  void addLink(const std::string& name, int index, bool up = true, uint32_t mtu = 1500);
  void failNext(Error error) { fail_next_ = std::move(error); }
  const std::vector<Request>& requests() const { return requests_; }
  void clearRequests() { requests_.clear(); }
  // The routing table as replace/delete left it, keyed by "table/destination".
  const std::map<std::string, Route>& routes() const { return routes_; }

  Result<Link> link(const std::string& name) override;
  Status setLinkUp(const std::string& name, bool up) override;
  Status setLinkMtu(const std::string& name, uint32_t mtu) override;
  Status addAddress(const std::string& device, const Cidr& address) override;
  Status deleteAddress(const std::string& device, const Cidr& address) override;
  Status replaceRoute(const Route& route) override;
  Status deleteRoute(const Route& route) override;
  Result<std::vector<RouteEntry>> dumpRoutes(uint32_t table, uint8_t family) override;
  Status addRule(const Rule& rule) override;
  Status deleteRule(const Rule& rule) override;

 private:
  Status take(Request request);
  std::map<std::string, Link> links_;
  std::map<std::string, Route> routes_;
  std::vector<Rule> rules_;
  std::vector<Request> requests_;
  std::optional<Error> fail_next_;
};

std::string routeKey(uint32_t table, const Cidr& destination);

}  // namespace crossgate::routing
