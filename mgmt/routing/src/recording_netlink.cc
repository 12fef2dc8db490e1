// RecordingNetlink: the in-memory Netlink for unit tests.
#include <algorithm>

#include "crossgate/mgmt/netlink.h"

namespace crossgate::routing {

std::string routeKey(uint32_t table, const Cidr& destination) {
  return std::to_string(table) + "/" + destination.toString();
}

void RecordingNetlink::addLink(const std::string& name, int index, bool up, uint32_t mtu) {
  links_[name] = Link{index, name, up, mtu};
}

Status RecordingNetlink::take(Request request) {
  if (fail_next_) {
    Error e = std::move(*fail_next_);
    fail_next_.reset();
    return e;
  }
  if (!request.device.empty() && !links_.count(request.device)) {
    return makeError(Errc::kNotFound, request.op + ": no such device " + request.device);
  }
  if (request.route) {
    for (const auto& hop : request.route->nexthops) {
      if (!links_.count(hop.device)) {
        return makeError(Errc::kNotFound, request.op + ": no such device " + hop.device);
      }
    }
  }
  requests_.push_back(std::move(request));
  return okStatus();
}

Result<Link> RecordingNetlink::link(const std::string& name) {
  auto it = links_.find(name);
  if (it == links_.end()) {
    return makeError(Errc::kNotFound, "get link " + name + ": No such device");
  }
  return it->second;
}

Status RecordingNetlink::setLinkUp(const std::string& name, bool up) {
  auto st = take({up ? "link-up" : "link-down", name, {}, {}, {}, 0});
  if (st) links_[name].up = up;
  return st;
}

Status RecordingNetlink::setLinkMtu(const std::string& name, uint32_t mtu) {
  auto st = take({"mtu", name, {}, {}, {}, mtu});
  if (st) links_[name].mtu = mtu;
  return st;
}

Status RecordingNetlink::addAddress(const std::string& device, const Cidr& address) {
  return take({"addr-add", device, {}, {}, address, 0});
}

Status RecordingNetlink::deleteAddress(const std::string& device, const Cidr& address) {
  return take({"addr-del", device, {}, {}, address, 0});
}

Status RecordingNetlink::replaceRoute(const Route& route) {
  if (route.nexthops.empty()) {
    return makeError(Errc::kInvalidArgument,
                     "replace route " + route.destination.toString() + ": no nexthop");
  }
  auto st = take({"route-replace", "", route, {}, {}, 0});
  if (st) routes_[routeKey(route.table, route.destination)] = route;
  return st;
}

Status RecordingNetlink::deleteRoute(const Route& route) {
  auto key = routeKey(route.table, route.destination);
  if (!routes_.count(key)) {
    return makeError(Errc::kNotFound,
                     "delete route " + route.destination.toString() + ": No such process");
  }
  auto st = take({"route-del", "", route, {}, {}, 0});
  if (st) routes_.erase(key);
  return st;
}

Result<std::vector<RouteEntry>> RecordingNetlink::dumpRoutes(uint32_t table, uint8_t family) {
  std::vector<RouteEntry> out;
  for (const auto& [key, r] : routes_) {
    if (table != 0 && r.table != table) continue;
    RouteEntry e;
    e.destination = r.destination;
    e.table = r.table;
    e.metric = r.metric;
    e.protocol = r.protocol;
    e.type = 1;
    for (const auto& hop : r.nexthops) {
      e.hops.push_back({links_[hop.device].index, hop.gateway, hop.weight});
    }
    out.push_back(std::move(e));
  }
  return out;
}

Status RecordingNetlink::addRule(const Rule& rule) {
  if (std::find(rules_.begin(), rules_.end(), rule) != rules_.end()) {
    return makeError(Errc::kAlreadyExists, "add rule: File exists");
  }
  auto st = take({"rule-add", "", {}, rule, {}, 0});
  if (st) rules_.push_back(rule);
  return st;
}

Status RecordingNetlink::deleteRule(const Rule& rule) {
  auto it = std::find(rules_.begin(), rules_.end(), rule);
  if (it == rules_.end()) {
    return makeError(Errc::kNotFound, "delete rule: No such file or directory");
  }
  auto st = take({"rule-del", "", {}, rule, {}, 0});
  if (st) rules_.erase(it);
  return st;
}

}  // namespace crossgate::routing
