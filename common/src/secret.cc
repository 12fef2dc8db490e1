#include "crossgate/common/secret.h"

#include <string.h>

#include <algorithm>
#include <utility>

namespace crossgate {

Secret::Secret(std::string_view text) : data_(text.begin(), text.end()) {}

Secret::Secret(std::span<const uint8_t> bytes) : data_(bytes.begin(), bytes.end()) {}

Secret::Secret(Secret&& other) noexcept : data_(std::move(other.data_)) { other.data_.clear(); }

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = std::move(other.data_);
    other.data_.clear();
  }
  return *this;
}

bool Secret::equals(const Secret& other) const noexcept {
  const size_t n = std::max(data_.size(), other.data_.size());
  uint8_t diff = data_.size() == other.data_.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t a = i < data_.size() ? data_[i] : 0;
    const uint8_t b = i < other.data_.size() ? other.data_[i] : 0;
    diff |= static_cast<uint8_t>(a ^ b);
  }
  return diff == 0;
}

void Secret::wipe() noexcept {
  if (!data_.empty()) {
    explicit_bzero(data_.data(), data_.size());
  }
  // Capacity beyond size() never held secret bytes: the vector is only ever built whole.
  data_.clear();
  data_.shrink_to_fit();
}

}  // namespace crossgate
