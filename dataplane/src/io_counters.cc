#include "io_counters.h"

namespace crossgate::dataplane {

std::string_view ioCounterName(IoCounter c) noexcept {
  switch (c) {
#define CG_IO_COUNTER_NAME(name, drop, help) \
  case IoCounter::name:                     \
    return #name;
    CG_FOREACH_IO_COUNTER(CG_IO_COUNTER_NAME)
#undef CG_IO_COUNTER_NAME
    default:
      return "invalid";
  }
}

bool ioCounterIsDrop(IoCounter c) noexcept {
  switch (c) {
#define CG_IO_COUNTER_DROP(name, drop, help) \
  case IoCounter::name:                     \
    return drop;
    CG_FOREACH_IO_COUNTER(CG_IO_COUNTER_DROP)
#undef CG_IO_COUNTER_DROP
    default:
      return false;
  }
}

}  // namespace crossgate::dataplane
