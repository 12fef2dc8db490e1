// Fuzzes the parsers of kernel netlink bytes: route dumps and ack/error replies (with extack).
#include <cstddef>
#include <cstdint>

#include "crossgate/mgmt/netlink.h"
#include "netlink_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)crossgate::routing::parseRouteDump(data, size);
  size_t seen = 0;
  (void)crossgate::routing::scanReplies(data, size, 0, 0, [&](const nlmsghdr*) { ++seen; });
  return 0;
}
