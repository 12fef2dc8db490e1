// Fuzz target: a VICI packet (the segment payload, as read from charon's socket). Whatever
// decodes must re-encode and decode to the same packet.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "crossgate/ikev2/vici_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crossgate::vici;
  const std::span<const uint8_t> bytes(data, size);
  auto packet = decodePacket(bytes);
  if (!packet.ok()) {
    return 0;
  }
  auto encoded = encodePacket(*packet);
  if (!encoded.ok()) {
    std::abort();  // everything that decodes is within the limits
  }
  auto again = decodePacket(std::span<const uint8_t>(*encoded).subspan(4));
  if (!again.ok() || again->type != packet->type || again->name != packet->name ||
      !(again->message == packet->message)) {
    std::abort();
  }
  return 0;
}
