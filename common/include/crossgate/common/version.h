#pragma once

namespace crossgate {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace crossgate
