#include "numerics/error_metrics.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace fusescope::numerics {

ErrorStats measure_error(std::span<const float> actual, std::span<const double> expected) {
  if (actual.size() != expected.size()) {
    throw std::invalid_argument(fmt::format("measure_error: {} values against {} expected",
                                            actual.size(), expected.size()));
  }
  ErrorStats e;
  e.count = static_cast<std::int64_t>(actual.size());
  double diff2 = 0, ref2 = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], x = expected[i];
    if (std::isfinite(x)) e.max_abs_expected = std::max(e.max_abs_expected, std::abs(x));
    if (!std::isfinite(a) && std::isfinite(x)) {
      ++e.non_finite;
      if (e.worst_index < 0 || std::isfinite(e.max_abs)) e.worst_index = static_cast<std::int64_t>(i);
      e.max_abs = std::numeric_limits<double>::infinity();
      continue;
    }
    if (!std::isfinite(a) && !std::isfinite(x)) continue;  // both inf/NaN: equal by convention
    const double d = std::abs(a - x);
    diff2 += d * d;
    ref2 += x * x;
    if (d > e.max_abs) {
      e.max_abs = d;
      e.worst_index = static_cast<std::int64_t>(i);
    }
  }
  if (e.non_finite > 0) {
    e.rel_l2 = std::numeric_limits<double>::infinity();
  } else if (ref2 > 0) {
    e.rel_l2 = std::sqrt(diff2 / ref2);
  } else {
    e.rel_l2 = diff2 > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  }
  return e;
}

ErrorStats measure_error(std::span<const float> actual, std::span<const float> expected) {
  std::vector<double> wide(expected.begin(), expected.end());
  return measure_error(actual, wide);
}

std::string to_string(const ErrorStats& e) {
  if (e.non_finite > 0) {
    return fmt::format("{} non-finite element(s), first at index {}", e.non_finite, e.worst_index);
  }
  return fmt::format("rel-L2 {:.2e}, max-abs {:.2e} (of max |ref| {:.3g})", e.rel_l2, e.max_abs,
                     e.max_abs_expected);
}

}  // namespace fusescope::numerics
