#include "analysis/drop_reason.h"

namespace migprobe::analysis {
namespace {

struct ReasonText {
  std::string_view name;
  std::string_view description;
};

constexpr ReasonText kReasons[] = {{"NONE", "not dropped"},
#define MIGPROBE_DROP_TEXT(name, desc) {#name, desc},
                                   MIGPROBE_FOREACH_DROP_REASON(MIGPROBE_DROP_TEXT)
#undef MIGPROBE_DROP_TEXT
};
static_assert(std::size(kReasons) == kDropReasonCount);

}  // namespace

std::string_view drop_reason_name(DropReason r) {
  return kReasons[static_cast<size_t>(r)].name;
}

std::string_view drop_reason_description(DropReason r) {
  return kReasons[static_cast<size_t>(r)].description;
}

}  // namespace migprobe::analysis
