#include "crossgate/dns/cache.h"

#include <algorithm>
#include <cstring>

namespace crossgate::dns {

std::string_view cacheKey(std::string_view lower_name, uint16_t qtype, uint16_t qclass,
                          uint8_t (&buf)[kMaxNameWire + 4]) noexcept {
  const size_t n = std::min(lower_name.size(), kMaxNameWire);
  std::memcpy(buf, lower_name.data(), n);
  writeU16(buf + n, qtype);
  writeU16(buf + n + 2, qclass);
  return {reinterpret_cast<const char*>(buf), n + 4};
}

void Cache::setCapacity(size_t capacity) {
  std::lock_guard<std::mutex> lock(mu_);
  capacity_ = capacity;
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

size_t Cache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

size_t Cache::lookup(std::string_view key, uint64_t now_ms, uint8_t* out, size_t cap) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    return 0;
  }
  Entry& e = *it->second;
  if (now_ms >= e.expires_ms) {
    lru_.erase(it->second);
    index_.erase(it);
    return 0;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  const size_t len = e.wire.size();
  if (len > cap) {
    return len;
  }
  std::memcpy(out, e.wire.data(), len);
  const auto age_s = static_cast<uint32_t>((now_ms - e.inserted_ms) / 1000);
  for (size_t i = 0; i < e.ttl_offsets.size(); ++i) {
    writeU32(out + e.ttl_offsets[i], e.ttls[i] > age_s ? e.ttls[i] - age_s : 0);
  }
  return len;
}

uint32_t Cache::insert(std::string_view key, const uint8_t* wire, size_t len, uint64_t now_ms,
                       uint32_t max_ttl_s, uint32_t max_negative_ttl_s) {
  if (len < kHeaderSize || len > kMaxMessage) {
    return 0;
  }
  const auto rcode = static_cast<Rcode>(wire[3] & flag::kRcodeMask);
  if (rcode != Rcode::kNoError && rcode != Rcode::kNxDomain) {
    return 0;
  }
  const uint16_t qd = readU16(wire + 4);
  const uint16_t an = readU16(wire + 6);
  const uint32_t total = uint32_t{an} + readU16(wire + 8) + readU16(wire + 10);
  size_t off = kHeaderSize;
  for (uint16_t i = 0; i < qd; ++i) {
    if (!skipName(wire, len, &off) || off + 4 > len) {
      return 0;
    }
    off += 4;
  }
  Entry e;
  e.key.assign(key);
  e.wire.assign(wire, wire + len);
  uint32_t min_ttl = UINT32_MAX;
  int64_t soa_ttl_offset = -1;
  uint32_t soa_negative = 0;
  for (uint32_t i = 0; i < total; ++i) {
    RrRef rr;
    if (!nextRr(wire, len, &off, &rr) || rr.ttl_offset > UINT16_MAX) {
      return 0;
    }
    if (rr.type == rrtype::kOpt) {
      return 0;  // callers strip OPT before caching
    }
    const uint32_t ttl = std::min<uint32_t>(rr.ttl, 0x7FFFFFFF);
    e.ttl_offsets.push_back(static_cast<uint16_t>(rr.ttl_offset));
    e.ttls.push_back(ttl);
    min_ttl = std::min(min_ttl, ttl);
    if (rr.type == rrtype::kSoa && i >= an && i < an + readU16(wire + 8) && rr.rdlength >= 22) {
      soa_ttl_offset = static_cast<int64_t>(e.ttls.size() - 1);
      soa_negative = std::min(ttl, readU32(wire + rr.rdata + rr.rdlength - 4));
    }
  }
  const bool negative = rcode == Rcode::kNxDomain || an == 0;
  uint32_t ttl = 0;
  if (negative) {
    if (soa_ttl_offset < 0) {
      return 0;
    }
    ttl = std::min(soa_negative, max_negative_ttl_s);
    e.ttls[static_cast<size_t>(soa_ttl_offset)] = ttl;
  } else {
    ttl = std::min(min_ttl, max_ttl_s);
  }
  if (ttl == 0) {
    return 0;
  }
  for (size_t i = 0; i < e.ttls.size(); ++i) {
    e.ttls[i] = std::min(e.ttls[i], ttl);
    writeU32(e.wire.data() + e.ttl_offsets[i], e.ttls[i]);
  }
  e.inserted_ms = now_ms;
  e.expires_ms = now_ms + uint64_t{ttl} * 1000;
  std::lock_guard<std::mutex> lock(mu_);
  if (capacity_ == 0) {
    return 0;
  }
  auto it = index_.find(key);
  if (it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(std::move(e));
  index_.emplace(lru_.front().key, lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
  return ttl;
}

}  // namespace crossgate::dns
