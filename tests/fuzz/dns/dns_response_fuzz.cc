// Fuzz target dns_response: arbitrary bytes as an upstream response: matching, normalization
// (OPT stripped, question lower-cased), cache insertion (TTL and SOA walk) and a cache hit.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "crossgate/dns/cache.h"
#include "crossgate/dns/forwarder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crossgate::dns;  // NOLINT
  static Cache cache(16);
  if (size > kMaxMessage) {
    return 0;
  }
  std::vector<uint8_t> wire(data, data + size);
  if (size >= kHeaderSize + 5) {
    // Whatever question it carries, ask whether it matches it (lower-cased).
    uint8_t name[kMaxNameWire];
    size_t off = kHeaderSize;
    if (skipName(data, size, &off) && off - kHeaderSize <= kMaxNameWire) {
      std::memcpy(name, data + kHeaderSize, off - kHeaderSize);
      lowerWireName(name, off - kHeaderSize);
      (void)responseMatches(data, size, readU16(data),
                            {reinterpret_cast<const char*>(name), off - kHeaderSize}, 1, 1);
    }
  }
  if (!normalizeResponse(&wire)) {
    return 0;
  }
  uint8_t keybuf[kMaxNameWire + 4];
  const std::string_view key = cacheKey("\x01x\x00", 1, 1, keybuf);
  const uint32_t ttl = cache.insert(key, wire.data(), wire.size(), 0, 86400, 3600);
  if (ttl != 0) {
    std::vector<uint8_t> out(kMaxMessage);
    // Just before expiry: every TTL counts down, nothing may be lost.
    const size_t n = cache.lookup(key, uint64_t{ttl} * 1000 - 1, out.data(), out.size());
    if (n != wire.size()) {
      std::abort();
    }
  }
  return 0;
}
