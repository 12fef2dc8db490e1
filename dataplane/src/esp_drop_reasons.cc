#include "crossgate/dataplane/drop_reasons.h"

namespace crossgate::dataplane {
namespace {

constexpr std::string_view kNames[] = {"none",
#define CG_ESP_DROP_NAME(name, help) #name,
                                       CG_FOREACH_ESP_DROP(CG_ESP_DROP_NAME)
#undef CG_ESP_DROP_NAME
};

constexpr std::string_view kHelp[] = {"packet not dropped",
#define CG_ESP_DROP_HELP(name, help) help,
                                      CG_FOREACH_ESP_DROP(CG_ESP_DROP_HELP)
#undef CG_ESP_DROP_HELP
};

static_assert(std::size(kNames) == kEspDropCount && std::size(kHelp) == kEspDropCount);

}  // namespace

std::string_view espDropName(EspDrop reason) noexcept {
  const auto i = static_cast<size_t>(reason);
  return i < kEspDropCount ? kNames[i] : "invalid";
}

std::string_view espDropHelp(EspDrop reason) noexcept {
  const auto i = static_cast<size_t>(reason);
  return i < kEspDropCount ? kHelp[i] : "invalid";
}

}  // namespace crossgate::dataplane
