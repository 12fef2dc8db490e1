// Fuzzes the ICMP echo reply parser (bytes from the network), both socket forms.
#include <cstddef>
#include <cstdint>

#include "crossgate/mgmt/prober.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)crossgate::routing::parseEchoReply(data, size, true, 0x1234);
  (void)crossgate::routing::parseEchoReply(data, size, false, 0);
  return 0;
}
