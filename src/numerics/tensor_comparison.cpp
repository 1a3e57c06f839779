#include "numerics/tensor_comparison.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace fusescope::numerics {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Monotonic integer image of a float's value; -0 and +0 both map to 0 (see the header).
std::int64_t ordered(float f) {
  const auto bits = std::bit_cast<std::uint32_t>(f);
  const auto magnitude = static_cast<std::int64_t>(bits & 0x7fffffffu);
  return (bits & 0x80000000u) ? -magnitude : magnitude;
}

// The same 0/0 and x/0 conventions as measure_error, so the two never disagree.
double relative_l2(double diff2, double ref2, bool non_finite) {
  if (non_finite) return kInf;
  if (ref2 > 0) return std::sqrt(diff2 / ref2);
  return diff2 > 0 ? kInf : 0.0;
}

// Running sums for the whole tensor or one channel.
struct Accumulator {
  double diff2 = 0, ref2 = 0, sum_abs = 0, max_abs = 0;
  std::int64_t count = 0, non_finite = 0;

  ChannelError finish(std::int64_t channel) const {
    const bool bad = non_finite > 0;
    return {channel, relative_l2(diff2, ref2, bad), bad ? kInf : max_abs,
            bad ? kInf : (count > 0 ? sum_abs / static_cast<double>(count) : 0.0)};
  }
};

template <class Expected>
TensorComparison compare_impl(std::span<const float> actual, std::span<const Expected> expected,
                              const std::vector<std::int64_t>& shape,
                              const ComparisonOptions& options) {
  std::int64_t numel = 1;
  for (std::int64_t dim : shape) {
    if (dim < 0) throw std::invalid_argument("compare_tensors: negative dimension in shape");
    numel *= dim;
  }
  if (static_cast<std::int64_t>(actual.size()) != numel ||
      static_cast<std::int64_t>(expected.size()) != numel) {
    throw std::invalid_argument(
        fmt::format("compare_tensors: shape holds {} elements, got {} actual and {} expected",
                    numel, actual.size(), expected.size()));
  }
  if (options.histogram_bins < 1) {
    throw std::invalid_argument("compare_tensors: histogram_bins must be at least 1");
  }
  if (!(options.histogram_log10_hi > options.histogram_log10_lo)) {
    throw std::invalid_argument("compare_tensors: empty histogram range");
  }
  if (options.channel_axis < -1) {
    throw std::invalid_argument(
        fmt::format("compare_tensors: channel_axis {} (use -1 for none)", options.channel_axis));
  }

  // Element i is in channel (i / inner) % channels for a row-major shape.
  const bool per_channel = options.channel_axis >= 0 &&
                           options.channel_axis < static_cast<int>(shape.size());
  std::int64_t channels = 0, inner = 1;
  if (per_channel) {
    channels = shape[static_cast<std::size_t>(options.channel_axis)];
    const auto axis = static_cast<std::size_t>(options.channel_axis);
    for (std::size_t k = axis + 1; k < shape.size(); ++k) inner *= shape[k];
  }
  std::vector<Accumulator> per(static_cast<std::size_t>(channels));

  TensorComparison r;
  r.count = numel;
  r.histogram.log10_lo = options.histogram_log10_lo;
  r.histogram.log10_hi = options.histogram_log10_hi;
  r.histogram.counts.assign(static_cast<std::size_t>(options.histogram_bins), 0);
  const int last_bin = options.histogram_bins - 1;
  const double bins_per_decade =
      options.histogram_bins / (options.histogram_log10_hi - options.histogram_log10_lo);

  Accumulator total;
  double dot = 0, act2 = 0;
  std::int64_t over = 0;
  for (std::int64_t i = 0; i < numel; ++i) {
    const auto ui = static_cast<std::size_t>(i);
    const double a = actual[ui], e = static_cast<double>(expected[ui]);
    Accumulator* ch =
        per_channel ? &per[static_cast<std::size_t>((i / inner) % channels)] : nullptr;
    total.count++;
    if (ch) ch->count++;
    const bool a_finite = std::isfinite(a), e_finite = std::isfinite(e);
    if (a_finite != e_finite) {
      // Same worst_index rule as measure_error: the first non-finite mismatch.
      if (r.worst_index < 0 || std::isfinite(r.max_abs)) r.worst_index = i;
      r.max_abs = kInf;
      total.non_finite++;
      if (ch) ch->non_finite++;
      r.histogram.counts[static_cast<std::size_t>(last_bin)]++;
      over++;
      continue;
    }
    if (!a_finite) {  // both inf/NaN: equal by convention, as in measure_error
      r.histogram.exact_zero++;
      continue;
    }
    const double d = std::abs(a - e);
    for (Accumulator* acc : {&total, ch}) {
      if (!acc) continue;
      acc->diff2 += d * d;
      acc->ref2 += e * e;
      acc->sum_abs += d;
      acc->max_abs = std::max(acc->max_abs, d);
    }
    dot += a * e;
    act2 += a * a;
    if (d > r.max_abs) {
      r.max_abs = d;
      r.worst_index = i;
    }
    if (d > options.tolerance) over++;
    r.max_ulp = std::max(r.max_ulp, ulp_distance(actual[ui], static_cast<float>(e)));
    if (d == 0) {
      r.histogram.exact_zero++;
    } else {
      const double pos = std::floor((std::log10(d) - options.histogram_log10_lo) * bins_per_decade);
      const int bin = pos < 0 ? 0 : pos > last_bin ? last_bin : static_cast<int>(pos);
      r.histogram.counts[static_cast<std::size_t>(bin)]++;
    }
  }

  r.non_finite = total.non_finite;
  const ChannelError whole = total.finish(-1);
  r.rel_l2 = whole.rel_l2;
  r.mean_abs = whole.mean_abs;
  r.fraction_over_tolerance =
      numel > 0 ? static_cast<double>(over) / static_cast<double>(numel) : 0.0;
  if (r.non_finite > 0) {
    r.cosine = std::numeric_limits<double>::quiet_NaN();
    r.snr_db = -kInf;
    r.max_ulp = kMaxUlpInfinite;
  } else {
    if (act2 == 0 && total.ref2 == 0) {
      r.cosine = 1;
    } else if (act2 == 0 || total.ref2 == 0) {
      r.cosine = 0;
    } else {
      // Rounding can push |cos| a hair past 1 for identical vectors; clamp so "== 1" holds.
      r.cosine = std::clamp(dot / (std::sqrt(act2) * std::sqrt(total.ref2)), -1.0, 1.0);
    }
    if (total.diff2 == 0) {
      r.snr_db = kInf;
    } else if (total.ref2 == 0) {
      r.snr_db = -kInf;
    } else {
      r.snr_db = 10 * std::log10(total.ref2 / total.diff2);
    }
  }
  r.channels.reserve(per.size());
  for (std::size_t c = 0; c < per.size(); ++c) {
    r.channels.push_back(per[c].finish(static_cast<std::int64_t>(c)));
  }
  return r;
}

// True when index i of v ranks above index j: higher value, NaN above all numbers, then lower
// index (see topk_agreement in the header).
bool ranks_above(std::span<const float> v, std::int64_t i, std::int64_t j) {
  const float x = v[static_cast<std::size_t>(i)], y = v[static_cast<std::size_t>(j)];
  const bool xn = std::isnan(x), yn = std::isnan(y);
  if (xn != yn) return xn;
  if (!xn && x != y) return x > y;
  return i < j;
}

std::vector<std::int64_t> top_k(std::span<const float> row, std::int64_t k) {
  std::vector<std::int64_t> idx(row.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<std::int64_t>(i);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](std::int64_t i, std::int64_t j) { return ranks_above(row, i, j); });
  idx.resize(static_cast<std::size_t>(k));
  return idx;
}

}  // namespace

std::int64_t ulp_distance(float x, float y) {
  if (std::isnan(x) || std::isnan(y)) return kMaxUlpInfinite;
  const std::int64_t d = ordered(x) - ordered(y);
  return d < 0 ? -d : d;
}

TensorComparison compare_tensors(std::span<const float> actual, std::span<const double> expected,
                                 const std::vector<std::int64_t>& shape,
                                 const ComparisonOptions& options) {
  return compare_impl(actual, expected, shape, options);
}

TensorComparison compare_tensors(std::span<const float> actual, std::span<const float> expected,
                                 const std::vector<std::int64_t>& shape,
                                 const ComparisonOptions& options) {
  return compare_impl(actual, expected, shape, options);
}

std::vector<ChannelError> worst_channels(const TensorComparison& c, std::size_t n) {
  std::vector<ChannelError> out = c.channels;
  std::stable_sort(out.begin(), out.end(), [](const ChannelError& x, const ChannelError& y) {
    return x.rel_l2 > y.rel_l2;  // stable on channel-sorted input: ties keep lower channel first
  });
  if (out.size() > n) out.resize(n);
  return out;
}

TopKAgreement topk_agreement(std::span<const float> a, std::span<const float> b,
                             std::int64_t rows, std::int64_t classes) {
  if (rows < 0 || classes < 1) {
    throw std::invalid_argument(
        fmt::format("topk_agreement: {} rows of {} classes", rows, classes));
  }
  const auto n = static_cast<std::size_t>(rows * classes);
  if (a.size() != n || b.size() != n) {
    throw std::invalid_argument(fmt::format(
        "topk_agreement: {}x{} logits need {} values, got {} and {}", rows, classes, n, a.size(),
        b.size()));
  }
  TopKAgreement r;
  r.rows = rows;
  if (rows == 0) return r;
  const std::int64_t k = std::min<std::int64_t>(5, classes);
  const auto cls = static_cast<std::size_t>(classes);
  std::int64_t same1 = 0, ref_in_top5 = 0, same_sets = 0;
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::size_t off = static_cast<std::size_t>(row) * cls;
    auto ta = top_k(a.subspan(off, cls), k);
    auto tb = top_k(b.subspan(off, cls), k);
    if (ta[0] == tb[0]) same1++;
    if (std::find(ta.begin(), ta.end(), tb[0]) != ta.end()) ref_in_top5++;
    std::sort(ta.begin(), ta.end());
    std::sort(tb.begin(), tb.end());
    if (ta == tb) same_sets++;
  }
  const auto total = static_cast<double>(rows);
  r.top1 = static_cast<double>(same1) / total;
  r.top5 = static_cast<double>(ref_in_top5) / total;
  r.top5_sets = static_cast<double>(same_sets) / total;
  return r;
}

std::string format_comparison(const TensorComparison& c) {
  if (c.non_finite > 0) {
    return fmt::format("{} non-finite mismatch(es), first at index {}  n={}", c.non_finite,
                       c.worst_index, c.count);
  }
  if (c.worst_index < 0) return fmt::format("exact  n={}", c.count);
  return fmt::format(
      "rel-L2 {:.2e}  max-abs {:.2e} @{}  mean-abs {:.2e}  cos {:.6f}  SNR {:.1f} dB  "
      "max-ulp {}  >tol {:.2f}%  n={}",
      c.rel_l2, c.max_abs, c.worst_index, c.mean_abs, c.cosine, c.snr_db, c.max_ulp,
      100 * c.fraction_over_tolerance, c.count);
}

std::string histogram_bar(const ErrorHistogram& h, int width) {
  static constexpr char kLevels[] = " .:-=+*#%@";  // 10 levels: blank + 9 heights
  if (width <= 0) return {};
  const auto bins = static_cast<std::int64_t>(h.counts.size());
  if (bins == 0) return std::string(static_cast<std::size_t>(width), ' ');
  std::vector<std::int64_t> sums(static_cast<std::size_t>(width), 0);
  for (std::int64_t j = 0; j < width; ++j) {
    // Character j covers bins [j*bins/width, (j+1)*bins/width); when there are more characters
    // than bins a character repeats the bin it falls in rather than showing a gap.
    const std::int64_t lo = j * bins / width;
    const std::int64_t hi = std::max((j + 1) * bins / width, lo + 1);
    for (std::int64_t b = lo; b < hi; ++b) {
      sums[static_cast<std::size_t>(j)] += h.counts[static_cast<std::size_t>(b)];
    }
  }
  const std::int64_t most = *std::max_element(sums.begin(), sums.end());
  std::string out;
  out.reserve(sums.size());
  for (std::int64_t s : sums) {
    int level = 0;
    if (s > 0) {
      level = most <= 1 ? 9
                        : 1 + static_cast<int>(std::lround(8 * std::log(static_cast<double>(s)) /
                                                           std::log(static_cast<double>(most))));
    }
    out += kLevels[level];
  }
  return out;
}

}  // namespace fusescope::numerics
