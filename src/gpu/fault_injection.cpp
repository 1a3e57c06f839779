#include "gpu/fault_injection.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace fusescope::gpu {

namespace {

std::optional<std::uint64_t> read_count(const char* variable, bool allow_suffix) {
  const char* text = std::getenv(variable);
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  std::uint64_t scale = 1;
  if (allow_suffix && end != nullptr && *end != '\0' && end[1] == '\0') {
    switch (*end) {
      case 'K': case 'k': scale = 1ull << 10; ++end; break;
      case 'M': case 'm': scale = 1ull << 20; ++end; break;
      case 'G': case 'g': scale = 1ull << 30; ++end; break;
      default: break;
    }
  }
  if (end == text || *end != '\0' || errno == ERANGE || text[0] == '-' ||
      value > UINT64_MAX / scale) {
    throw std::invalid_argument(fmt::format("{}='{}' is not a {}", variable, text,
                                            allow_suffix ? "byte count (e.g. 64M)" : "count"));
  }
  return value * scale;
}

}  // namespace

const InjectedFaults& injected_faults() {
  static const InjectedFaults faults = [] {
    InjectedFaults f;
    f.device_memory_bytes = read_count("FUSESCOPE_FAULT_DEVICE_MEMORY", true);
    f.device_lost_at_submit = read_count("FUSESCOPE_FAULT_DEVICE_LOST", false);
    f.pipeline_create_fails_at = read_count("FUSESCOPE_FAULT_PIPELINE_CREATE", false);
    return f;
  }();
  return faults;
}

bool injected_device_lost_at_this_submit() {
  static std::atomic<std::uint64_t> submits{0};
  const auto& at = injected_faults().device_lost_at_submit;
  const std::uint64_t n = ++submits;
  return at && n == *at;
}

bool injected_pipeline_failure_at_this_create() {
  static std::atomic<std::uint64_t> creates{0};
  const auto& at = injected_faults().pipeline_create_fails_at;
  const std::uint64_t n = ++creates;
  return at && n == *at;
}

}  // namespace fusescope::gpu
