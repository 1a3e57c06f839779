#include "ops/layout_transpose.hpp"

namespace fusescope::ops {

std::vector<float> nchw_to_nhwc(std::span<const float> v, const ops::Shape& s) {
  const std::int64_t N = s[0], C = s[1], HW = s[2] * s[3];
  std::vector<float> out(v.size());
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t p = 0; p < HW; ++p)
        out[static_cast<std::size_t>((n * HW + p) * C + c)] = v[static_cast<std::size_t>((n * C + c) * HW + p)];
  return out;
}

std::vector<float> nhwc_to_nchw(std::span<const float> v, const ops::Shape& s) {
  const std::int64_t N = s[0], C = s[1], HW = s[2] * s[3];
  std::vector<float> out(v.size());
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t p = 0; p < HW; ++p)
        out[static_cast<std::size_t>((n * C + c) * HW + p)] = v[static_cast<std::size_t>((n * HW + p) * C + c)];
  return out;
}

}  // namespace fusescope::ops
