// How far a computed tensor is from a reference: the two numbers every report leads with.
//   relative L2 = ||actual - expected||_2 / ||expected||_2   (0/0 counts as 0)
//   max abs     = max |actual - expected|
// A NaN or inf in `actual` where `expected` is finite makes both infinite, so an element a
// kernel never wrote (tests poison outputs with NaN) cannot hide.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace fusescope::numerics {

struct ErrorStats {
  double rel_l2 = 0;
  double max_abs = 0;
  double max_abs_expected = 0;  // max |expected|, to read max_abs against the tensor's scale
  std::int64_t worst_index = -1;
  std::int64_t non_finite = 0;  // elements of actual that are NaN/inf while expected is finite
  std::int64_t count = 0;
};

ErrorStats measure_error(std::span<const float> actual, std::span<const double> expected);
ErrorStats measure_error(std::span<const float> actual, std::span<const float> expected);

std::string to_string(const ErrorStats& e);  // "rel-L2 1.2e-07, max-abs 3.4e-07"

}  // namespace fusescope::numerics
