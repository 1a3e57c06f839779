#include "graph/tensor_limits.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "gpu/error.hpp"
#include "ops/shape.hpp"

namespace fusescope::graph {

namespace {

std::string bytes_text(double bytes) {
  if (bytes >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f} GiB", bytes / (1024.0 * 1024 * 1024));
  return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024));
}

}  // namespace

std::uint64_t max_tensor_bytes() {
  constexpr std::uint64_t kDefault = 4ull << 30;
  const char* env = std::getenv("FUSESCOPE_MAX_TENSOR_BYTES");
  if (env == nullptr || *env == '\0') return kDefault;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(env, &end, 10);
  if (end == env || *end != '\0' || v == 0)
    throw ops::InvalidArgument(fmt::format("FUSESCOPE_MAX_TENSOR_BYTES={}: expected a positive byte count", env));
  return v;
}

void check_tensor_sizes(const Graph& g, std::uint64_t max_bytes, const std::string& context) {
  constexpr std::uint64_t kElementBytes = 4;
  for (const Value& v : g.values()) {
    if (v.shape.size() > kMaxRank) {
      throw ops::InvalidArgument(fmt::format("{}: tensor '{}' has rank {} ({}), more than the {} dimensions fusescope supports",
                                             context, v.name, v.shape.size(), ops::to_string(v.shape), kMaxRank));
    }
    std::uint64_t n = 1;
    bool overflow = false;
    for (const std::int64_t d : v.shape) {
      if (d < 0) {
        throw ops::InvalidArgument(
            fmt::format("{}: tensor '{}' has shape {}: a negative dimension", context, v.name, ops::to_string(v.shape)));
      }
      const auto u = static_cast<std::uint64_t>(d);
      if (u != 0 && n > std::numeric_limits<std::uint64_t>::max() / kElementBytes / u) overflow = true;
      n = overflow ? n : n * u;
    }
    if (overflow) {
      throw ops::InvalidArgument(fmt::format("{}: tensor '{}' is {}: its byte count overflows 64 bits", context, v.name,
                                             ops::to_string(v.shape)));
    }
    if (n * kElementBytes > max_bytes) {
      throw ops::InvalidArgument(fmt::format(
          "{}: tensor '{}' is {} = {:.3g} values ({} as fp32), more than the {} one tensor may take "
          "(a device binding's limit; FUSESCOPE_MAX_TENSOR_BYTES sets another); use a smaller --size, --batch or --shape",
          context, v.name, ops::to_string(v.shape), static_cast<double>(n), bytes_text(static_cast<double>(n * kElementBytes)),
          bytes_text(static_cast<double>(max_bytes))));
    }
  }
}

void check_tensors_fit_binding(const Graph& g, std::uint64_t binding_bytes, std::uint64_t element_bytes,
                               const std::string& context) {
  for (const Value& v : g.values()) {
    std::uint64_t n = 1;
    for (const std::int64_t d : v.shape) n *= static_cast<std::uint64_t>(std::max<std::int64_t>(d, 0));
    const std::uint64_t bytes = n * element_bytes;  // check_tensor_sizes ran first: no overflow
    if (bytes > binding_bytes) {
      throw gpu::OutOfDeviceMemory(fmt::format(
          "{}: tensor '{}' is {} ({:.1f} MiB), more than this device can bind as one storage buffer "
          "(maxStorageBufferRange {:.1f} MiB); use a smaller --size, --batch or --shape{}",
          context, v.name, ops::to_string(v.shape), static_cast<double>(bytes) / 1048576.0,
          static_cast<double>(binding_bytes) / 1048576.0, element_bytes > 2 ? ", or fp16 storage (--precision fp16s)" : ""));
    }
  }
}

}  // namespace fusescope::graph
