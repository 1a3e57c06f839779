// The full comparison of one tensor against a reference, for `compare`'s per-layer tables:
// the headline numbers of measure_error plus the ones that explain them (where the error sits,
// per channel; how it is distributed; how many float steps it spans), and classifier agreement
// for the final logits.
//
// Notation: a = actual (the tensor under test), e = expected (the reference), d = a - e, all
// accumulated in float64. Sums run over every element.
//
//   max_abs   = max |d|
//   mean_abs  = sum |d| / count                                (0 for an empty tensor)
//   rel_l2    = ||d||_2 / ||e||_2                 (0/0 counts as 0, x/0 with x > 0 as +inf)
//   cosine    = <a, e> / (||a||_2 ||e||_2), clamped to [-1, 1]; 1 when both are all zero, 0 when
//               only one is. Note 1 - cosine ~ rel_l2^2 / 2, so at fp32 error levels (rel_l2 ~
//               1e-7) cosine is 1 to double precision: read rel_l2 for fp32, cosine for fp16/int8.
//   snr_db    = 10 log10(sum e^2 / sum d^2); +inf when d is all zero, -inf when e is all zero
//               and d is not.
//   max_ulp   = max over elements of |ord(a) - ord(float(e))|, where ord maps the IEEE-754 bits
//               of a float to an integer that is monotonic in the value with -0 and +0 both at 0
//               (non-negative bit pattern b -> b, negative -> -(b & 0x7fffffff)). It counts
//               representable floats between the two, so a correctly rounded result is 0 ulp
//               away, 1.0 and 2.0 are 2^23 apart and the two smallest subnormals of opposite
//               sign are 2 apart. Near zero it explodes (1e-30 vs -1e-30 is ~2e9 ulp) because
//               float spacing does: it is a measure for values well away from zero.
//   fraction_over_tolerance = #{|d| > options.tolerance} / count  (0 for an empty tensor)
//   worst_index = index of the largest |d| (first one on ties), or of the first non-finite
//               mismatch when there is one; -1 when no element differs.
//
// Non-finite values follow measure_error: an element where a is NaN/inf and e is finite is a
// non-finite mismatch; it is counted in non_finite and makes max_abs, mean_abs and rel_l2 +inf,
// snr_db -inf, cosine NaN (undefined) and max_ulp kMaxUlpInfinite, so an element a kernel never
// wrote (tests poison outputs with NaN) cannot hide. Elements where both are non-finite count
// as equal (error 0), as in measure_error. One extension: an element where e is non-finite and
// a is finite is also a non-finite mismatch (measure_error leaves it undefined: its rel-L2
// comes out 0 for e = NaN and NaN for e = inf).
#pragma once
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace fusescope::numerics {

struct ComparisonOptions {
  double tolerance = 1e-5;  // abs error counted as "over tolerance"
  int histogram_bins = 24;  // >= 1
  int channel_axis = 1;     // axis of `shape` to break down per channel (NCHW: 1); -1: none.
                            // An axis past the shape's rank also means none, so one set of
                            // options serves every layer of a network, rank-1 tensors included.
  // The histogram's fixed range of log10 |error| (see ErrorHistogram).
  double histogram_log10_lo = -12;
  double histogram_log10_hi = 2;
};

struct ChannelError {
  std::int64_t channel;
  double rel_l2, max_abs, mean_abs;  // as in TensorComparison, over the channel's elements
};

// Histogram of |d| on a log10 scale over the fixed range [10^log10_lo, 10^log10_hi), split into
// counts.size() equal bins: bin k holds log10|d| in [lo + k w, lo + (k+1) w), w = (hi-lo)/bins.
// The range is fixed rather than fitted to the data so the sparklines of different layers in
// one table line up and can be compared by eye; 1e-12..1e2 spans from the rounding error of
// small fp32 values to gross failures. Errors below the range land in the first bin, errors
// above it (and non-finite mismatches) in the last. Errors that are exactly 0 are counted in
// exact_zero instead, so the bins sum to count - exact_zero.
struct ErrorHistogram {
  double log10_lo = 0, log10_hi = 0;
  std::vector<std::int64_t> counts;
  std::int64_t exact_zero = 0;
};

struct TensorComparison {
  std::int64_t count = 0;
  double max_abs = 0, mean_abs = 0, rel_l2 = 0, cosine = 1, snr_db = 0;
  std::int64_t max_ulp = 0;
  double fraction_over_tolerance = 0;
  std::int64_t non_finite = 0;
  std::int64_t worst_index = -1;
  ErrorHistogram histogram;
  std::vector<ChannelError> channels;  // sorted by channel index; empty without a channel axis
};

// max_ulp when a non-finite mismatch makes the distance meaningless.
inline constexpr std::int64_t kMaxUlpInfinite = std::numeric_limits<std::int64_t>::max();

// Representable floats between x and y (see max_ulp above). NaN in either: kMaxUlpInfinite.
std::int64_t ulp_distance(float x, float y);

// `shape` must multiply out to the number of elements, and both spans must have that many;
// throws std::invalid_argument otherwise, or for channel_axis < -1 or histogram_bins < 1.
TensorComparison compare_tensors(std::span<const float> actual, std::span<const double> expected,
                                 const std::vector<std::int64_t>& shape,
                                 const ComparisonOptions& options = {});
TensorComparison compare_tensors(std::span<const float> actual, std::span<const float> expected,
                                 const std::vector<std::int64_t>& shape,
                                 const ComparisonOptions& options = {});

// The n channels with the largest rel-L2, descending (ties: lower channel index first).
std::vector<ChannelError> worst_channels(const TensorComparison& c, std::size_t n);

// Classifier agreement between a candidate's logits `a` and a reference's `b`, both row-major
// [rows, classes] (e.g. a = fused network, b = unfused or oracle):
//   top1        = fraction of rows where argmax(a) == argmax(b)
//   top5        = fraction of rows where argmax(b), the reference's answer, is among a's top 5
//                 (the usual top-5 agreement; not symmetric in a and b)
//   top5_sets   = fraction of rows where a's and b's top-5 index sets are equal (order ignored):
//                 the strict check for fused vs unfused, which should not reorder candidates
// Ranking: higher logit first; equal logits (-0 == +0) rank by lower index first; NaN ranks
// above every number (as torch.argmax does), so a NaN logit shows up as a disagreement rather
// than being skipped. With fewer than 5 classes "top 5" is all of them. With rows == 0 every
// fraction is 1 (nothing disagrees). Throws std::invalid_argument when a or b does not hold
// rows * classes values, or classes < 1, or rows < 0.
struct TopKAgreement {
  double top1 = 1;
  double top5 = 1;
  std::int64_t rows = 0;
  double top5_sets = 1;
};

TopKAgreement topk_agreement(std::span<const float> a, std::span<const float> b,
                             std::int64_t rows, std::int64_t classes);

// One line for a terminal, e.g.
// "rel-L2 1.2e-07  max-abs 3.4e-07 @17  mean-abs 2.0e-08  cos 1.000000  SNR 138.4 dB
//  max-ulp 3  >tol 0.00%  n=1024"; a non-finite mismatch leads the line instead.
std::string format_comparison(const TensorComparison& c);

// The histogram as `width` ASCII characters from " .:-=+*#%@": ' ' for an empty bin, then
// heights on a log scale of the count relative to the fullest character (one element '.', the
// fullest '@'), because the few large errors in the tail are what the bar is for and a linear scale
// would flatten them next to millions of rounding-level ones. When width differs from the bin
// count each character covers an equal share of the bins (summed). width <= 0 gives "".
std::string histogram_bar(const ErrorHistogram& h, int width);

}  // namespace fusescope::numerics
