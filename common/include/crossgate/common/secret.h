// Secret: bytes that must never be logged or copied by accident (PSKs, SA keys).
// Non-copyable, wiped with explicit_bzero on destruction, compared in constant time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace crossgate {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string_view text);
  explicit Secret(std::span<const uint8_t> bytes);
  ~Secret() { wipe(); }

  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;

  // An explicit, greppable copy for the few places that must hand the bytes on.
  Secret clone() const { return Secret(bytes()); }

  std::span<const uint8_t> bytes() const noexcept { return {data_.data(), data_.size()}; }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(data_.data()), data_.size()};
  }
  size_t size() const noexcept { return data_.size(); }
  bool empty() const noexcept { return data_.empty(); }

  // Constant-time in the length of the longer operand.
  bool equals(const Secret& other) const noexcept;

  // What logs and status output show in place of the secret.
  static constexpr std::string_view kMasked = "***";

 private:
  void wipe() noexcept;
  std::vector<uint8_t> data_;
};

}  // namespace crossgate
