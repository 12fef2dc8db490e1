// Internal: netlink wire helpers shared by the rtnetlink and nftables code.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "crossgate/common/result.h"
#include "crossgate/mgmt/netlink.h"

namespace crossgate::routing {

struct ReplyScan {
  int error = 0;       // positive errno from an NLMSG_ERROR, 0 if none
  std::string extack;  // NLMSGERR_ATTR_MSG when the kernel sent one
  uint32_t error_seq = 0;
  uint32_t acks = 0;  // NLMSG_ERROR with error 0
  bool done = false;  // ack or NLMSG_DONE for the request
  bool data_seen = false;
};

// Walks the messages in [data, data+size) (length-checked): acks and errors for `seq`
// (any seq when seq == 0), data messages passed to on_reply. Stops at the first error.
ReplyScan scanReplies(const uint8_t* data, size_t size, uint32_t seq, uint32_t portid,
                      const std::function<void(const nlmsghdr*)>& on_reply);

Errc errnoToErrc(int err);
std::string describeNetlinkError(int err, const std::string& extack);

// Appends rtmsg + attributes for `route` to nlh; ifindexes[i] is nexthops[i]'s device.
void buildRouteMessage(nlmsghdr* nlh, const Route& route, const std::vector<int>& ifindexes);

}  // namespace crossgate::routing
