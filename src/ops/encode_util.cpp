#include "ops/encode_util.hpp"

#include "ops/encoder.hpp"

#include <fmt/format.h>

#include <limits>

namespace fusescope::ops {

std::uint32_t to_u32(std::int64_t v, const std::string& op, const char* what) {
  if (v < 0 || v > std::numeric_limits<std::int32_t>::max()) {
    throw InvalidArgument(fmt::format("{}: {} = {} is outside the range the kernels index "
                                      "(0..2^31-1)",
                                      op, what, v));
  }
  return static_cast<std::uint32_t>(v);
}

}  // namespace fusescope::ops

namespace fusescope::ops {

const char* to_string(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::fp16s: return "fp16s";
    case Precision::fp16: return "fp16";
  }
  return "unknown";
}

}  // namespace fusescope::ops
