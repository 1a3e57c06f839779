// The comparison metrics `compare` reports, against values worked out by hand (or, for the
// cross-checks, by an independent route: measure_error, or an identity between two metrics).
// No device needed.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "numerics/error_metrics.hpp"
#include "numerics/tensor_comparison.hpp"

using namespace fusescope::numerics;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

ComparisonOptions no_channels() {
  ComparisonOptions o;
  o.channel_axis = -1;
  return o;
}

std::int64_t sum(const std::vector<std::int64_t>& v) {
  std::int64_t s = 0;
  for (auto x : v) s += x;
  return s;
}

}  // namespace

TEST_CASE("compare_tensors: hand-computed metrics for a = [1,2,3], e = [1,2,4]", "[numerics]") {
  const std::vector<float> a{1, 2, 3};
  const std::vector<double> e{1, 2, 4};
  const auto c = compare_tensors(a, e, {3}, no_channels());
  CHECK(c.count == 3);
  CHECK(c.max_abs == 1.0);
  CHECK(c.mean_abs == Approx(1.0 / 3));
  // ||d|| = 1, ||e|| = sqrt(1 + 4 + 16).
  CHECK(c.rel_l2 == Approx(1 / std::sqrt(21.0)));
  // <a,e> = 1 + 4 + 12 = 17, ||a|| = sqrt(14).
  CHECK(c.cosine == Approx(17 / (std::sqrt(14.0) * std::sqrt(21.0))));
  CHECK(c.snr_db == Approx(10 * std::log10(21.0)));
  // 3 and 4 are 1 apart in the binade [2, 4), where floats are 2^-22 apart.
  CHECK(c.max_ulp == (std::int64_t{1} << 22));
  CHECK(c.worst_index == 2);
  CHECK(c.non_finite == 0);
  CHECK(c.fraction_over_tolerance == Approx(1.0 / 3));
  CHECK(c.channels.empty());
  // Default range 1e-12..1e2 in 24 bins of 14/24 decade: log10(1) = 0 is in bin 20, which
  // covers [-12 + 20*14/24, -12 + 21*14/24) = [-0.33, 0.25).
  CHECK(c.histogram.log10_lo == -12);
  CHECK(c.histogram.log10_hi == 2);
  REQUIRE(c.histogram.counts.size() == 24);
  CHECK(c.histogram.exact_zero == 2);
  CHECK(c.histogram.counts[20] == 1);
  CHECK(sum(c.histogram.counts) == 1);

  // The float-reference overload gives the same numbers, and the headline pair agrees with
  // measure_error.
  const std::vector<float> ef{1, 2, 4};
  const auto cf = compare_tensors(a, ef, {3}, no_channels());
  CHECK(cf.rel_l2 == c.rel_l2);
  CHECK(cf.cosine == c.cosine);
  CHECK(cf.max_ulp == c.max_ulp);
  const auto m = measure_error(a, e);
  CHECK(c.rel_l2 == m.rel_l2);
  CHECK(c.max_abs == m.max_abs);
  CHECK(c.worst_index == m.worst_index);

  const auto line = format_comparison(c);
  CHECK_THAT(line, Catch::Contains("rel-L2 2.18e-01"));  // 1/sqrt(21) = 0.2182
  CHECK_THAT(line, Catch::Contains("max-ulp 4194304"));
}

TEST_CASE("compare_tensors: tolerance counts strictly greater errors", "[numerics]") {
  ComparisonOptions o = no_channels();
  o.tolerance = 0.5;
  // |d| = 0, 0.5, 0.75, 2: only the last two exceed 0.5.
  const std::vector<float> a{1, 1.5f, 1.75f, 3};
  const std::vector<double> e{1, 1, 1, 1};
  CHECK(compare_tensors(a, e, {4}, o).fraction_over_tolerance == 0.5);
}

TEST_CASE("compare_tensors: all-zero and exact edge cases", "[numerics]") {
  const std::vector<float> zeros(4, 0.0f);
  const std::vector<double> zeros_d(4, 0.0);
  const auto both_zero = compare_tensors(zeros, zeros_d, {2, 2}, no_channels());
  CHECK(both_zero.cosine == 1.0);
  CHECK(both_zero.rel_l2 == 0.0);
  CHECK(both_zero.snr_db == kInf);
  CHECK(both_zero.worst_index == -1);
  CHECK(both_zero.histogram.exact_zero == 4);
  CHECK(format_comparison(both_zero) == "exact  n=4");

  const std::vector<float> ones(4, 1.0f);
  const auto zero_ref = compare_tensors(ones, zeros_d, {2, 2}, no_channels());
  CHECK(zero_ref.rel_l2 == kInf);  // as measure_error: x/0 is infinite
  CHECK(zero_ref.snr_db == -kInf);
  CHECK(zero_ref.cosine == 0.0);

  // Opposite vectors: cosine -1, and rel-L2 2 (||2e|| / ||e||).
  const std::vector<float> neg{-1, -2};
  const std::vector<double> pos{1, 2};
  const auto opposite = compare_tensors(neg, pos, {2}, no_channels());
  CHECK(opposite.cosine == Approx(-1.0));
  CHECK(opposite.rel_l2 == Approx(2.0));
  CHECK(opposite.snr_db == Approx(10 * std::log10(1.0 / 4)));

  const std::vector<float> empty;
  const std::vector<double> empty_d;
  const auto none = compare_tensors(empty, empty_d, {0}, {});
  CHECK(none.count == 0);
  CHECK(none.mean_abs == 0.0);
  CHECK(none.fraction_over_tolerance == 0.0);
}

TEST_CASE("ulp_distance counts representable floats, across zero too", "[numerics]") {
  CHECK(ulp_distance(1.0f, std::nextafter(1.0f, 2.0f)) == 1);
  CHECK(ulp_distance(-0.0f, 0.0f) == 0);
  const float tiny = std::numeric_limits<float>::denorm_min();
  CHECK(ulp_distance(tiny, -tiny) == 2);
  CHECK(ulp_distance(1.0f, 2.0f) == (std::int64_t{1} << 23));  // one binade, 23 mantissa bits
  CHECK(ulp_distance(2.0f, 1.0f) == (std::int64_t{1} << 23));
  // From +0 to 1.0 are the 127 binades of exponents 0..126, 2^23 floats each, so -1 to 1 is
  // twice that.
  CHECK(ulp_distance(-1.0f, 1.0f) == 2 * 127 * (std::int64_t{1} << 23));
  CHECK(ulp_distance(std::numeric_limits<float>::max(), std::numeric_limits<float>::infinity()) ==
        1);
  CHECK(ulp_distance(kNaN, 1.0f) == kMaxUlpInfinite);

  // Through compare_tensors: the double reference is rounded to float first, so a correctly
  // rounded result is 0 ulp away even though |d| > 0.
  const std::vector<float> third{1.0f / 3};
  const std::vector<double> third_d{1.0 / 3};
  const auto rounded = compare_tensors(third, third_d, {1}, no_channels());
  CHECK(rounded.max_ulp == 0);
  CHECK(rounded.max_abs > 0);
  const std::vector<float> one{1.0f};
  const std::vector<double> two{2.0};
  CHECK(compare_tensors(one, two, {1}, no_channels()).max_ulp == (std::int64_t{1} << 23));
}

TEST_CASE("compare_tensors: non-finite values", "[numerics]") {
  SECTION("NaN in actual where expected is finite") {
    const std::vector<float> a{1, kNaN, 3};
    const std::vector<double> e{1, 2, 3};
    const auto c = compare_tensors(a, e, {3}, no_channels());
    CHECK(c.non_finite == 1);
    CHECK(c.rel_l2 == kInf);
    CHECK(c.max_abs == kInf);
    CHECK(c.mean_abs == kInf);
    CHECK(c.snr_db == -kInf);
    CHECK(std::isnan(c.cosine));
    CHECK(c.max_ulp == kMaxUlpInfinite);
    CHECK(c.worst_index == 1);
    CHECK(c.fraction_over_tolerance == Approx(1.0 / 3));
    CHECK(c.histogram.counts.back() == 1);  // the worst errors land in the last bin
    CHECK(c.histogram.exact_zero == 2);
    const auto m = measure_error(a, e);
    CHECK(m.non_finite == c.non_finite);
    CHECK(m.rel_l2 == c.rel_l2);
    CHECK(m.worst_index == c.worst_index);
    CHECK_THAT(format_comparison(c),
               Catch::StartsWith("1 non-finite mismatch(es), first at index 1"));
  }
  SECTION("worst_index is the first of several non-finite elements") {
    const std::vector<float> a{1, 100, kNaN, std::numeric_limits<float>::infinity()};
    const std::vector<double> e{1, 2, 3, 4};
    const auto c = compare_tensors(a, e, {4}, no_channels());
    CHECK(c.non_finite == 2);
    CHECK(c.worst_index == 2);
    CHECK(c.worst_index == measure_error(a, e).worst_index);
  }
  SECTION("both non-finite counts as equal, as in measure_error") {
    const std::vector<float> a{kNaN, 1};
    const std::vector<double> e{std::nan(""), 1};
    const auto c = compare_tensors(a, e, {2}, no_channels());
    CHECK(c.non_finite == 0);
    CHECK(c.rel_l2 == 0.0);
    CHECK(c.histogram.exact_zero == 2);
    CHECK(measure_error(a, e).rel_l2 == 0.0);
  }
  SECTION("non-finite expected with finite actual is a mismatch too") {
    const std::vector<float> a{1, 2};
    const std::vector<double> e{1, kInf};
    const auto c = compare_tensors(a, e, {2}, no_channels());
    CHECK(c.non_finite == 1);
    CHECK(c.rel_l2 == kInf);
    CHECK(c.worst_index == 1);
  }
}

TEST_CASE("compare_tensors: per-channel breakdown, only channel 1 differs", "[numerics]") {
  // 1x3x2x2, every expected value 1; NCHW flat index 5 is channel 1, h 0, w 1.
  const std::vector<double> e(12, 1.0);
  std::vector<float> a(12, 1.0f);
  a[5] = 1.5f;
  const auto c = compare_tensors(a, e, {1, 3, 2, 2}, {});
  REQUIRE(c.channels.size() == 3);
  for (std::int64_t k = 0; k < 3; ++k) CHECK(c.channels[static_cast<std::size_t>(k)].channel == k);
  CHECK(c.channels[0].rel_l2 == 0.0);
  CHECK(c.channels[0].max_abs == 0.0);
  CHECK(c.channels[2].rel_l2 == 0.0);
  CHECK(c.channels[1].rel_l2 == Approx(0.5 / 2));  // ||d|| = 0.5, ||e|| = sqrt(4)
  CHECK(c.channels[1].max_abs == 0.5);
  CHECK(c.channels[1].mean_abs == Approx(0.5 / 4));
  CHECK(c.rel_l2 == Approx(0.5 / std::sqrt(12.0)));
  CHECK(c.worst_index == 5);

  ComparisonOptions last_axis;
  last_axis.channel_axis = 3;  // w: index 5 has w = 1, and each w holds 6 elements
  const auto w = compare_tensors(a, e, {1, 3, 2, 2}, last_axis);
  REQUIRE(w.channels.size() == 2);
  CHECK(w.channels[0].rel_l2 == 0.0);
  CHECK(w.channels[1].rel_l2 == Approx(0.5 / std::sqrt(6.0)));

  ComparisonOptions past_rank;
  past_rank.channel_axis = 4;
  CHECK(compare_tensors(a, e, {1, 3, 2, 2}, past_rank).channels.empty());
  CHECK(compare_tensors(a, e, {1, 3, 2, 2}, no_channels()).channels.empty());

  SECTION("a NaN makes only its channel infinite") {
    a[9] = kNaN;  // channel 2
    const auto n = compare_tensors(a, e, {1, 3, 2, 2}, {});
    CHECK(n.channels[0].rel_l2 == 0.0);
    CHECK(n.channels[1].rel_l2 == Approx(0.25));
    CHECK(n.channels[2].rel_l2 == kInf);
    CHECK(n.channels[2].max_abs == kInf);
  }
}

TEST_CASE("worst_channels: descending rel-L2, ties by channel index", "[numerics]") {
  const std::vector<double> e(4, 1.0);
  const std::vector<float> a{1, 1.5f, 1.25f, 1.5f};  // per-channel rel-L2 0, 0.5, 0.25, 0.5
  const auto c = compare_tensors(a, e, {1, 4, 1, 1}, {});
  const auto top3 = worst_channels(c, 3);
  REQUIRE(top3.size() == 3);
  CHECK(top3[0].channel == 1);
  CHECK(top3[1].channel == 3);
  CHECK(top3[2].channel == 2);
  CHECK(top3[2].rel_l2 == Approx(0.25));
  CHECK(worst_channels(c, 10).size() == 4);
  CHECK(worst_channels(c, 0).empty());
}

TEST_CASE("error histogram: bins by decade, clamped ends, exact zeros apart", "[numerics]") {
  ComparisonOptions o = no_channels();
  o.histogram_bins = 14;  // one decade per bin over 1e-12..1e2: bin k is [1e(k-12), 1e(k-11))
  const std::vector<float> a{0, 0, 0, 0, kNaN, 2};
  const std::vector<double> e{3e-9, 5e-7, 1e-20, 1e5, 1, 2};
  const auto c = compare_tensors(a, e, {6}, o);
  REQUIRE(c.histogram.counts.size() == 14);
  CHECK(c.histogram.counts[3] == 1);   // 3e-9 in [1e-9, 1e-8)
  CHECK(c.histogram.counts[5] == 1);   // 5e-7 in [1e-7, 1e-6)
  CHECK(c.histogram.counts[0] == 1);   // 1e-20: below the range
  CHECK(c.histogram.counts[13] == 2);  // 1e5 above the range, and the NaN
  CHECK(c.histogram.exact_zero == 1);
  CHECK(sum(c.histogram.counts) == c.count - c.histogram.exact_zero);

  SECTION("random data: the bins account for every inexact element") {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<double> ref(1000);
    std::vector<float> got(1000);
    std::int64_t equal = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
      ref[i] = u(rng);
      got[i] = static_cast<float>(ref[i]);
      if (i % 3 == 0) {  // exactly representable reference: exact match
        ref[i] = got[i];
      }
      if (static_cast<double>(got[i]) == ref[i]) ++equal;
    }
    const auto r = compare_tensors(got, ref, {1000}, {});
    CHECK(r.histogram.exact_zero == equal);
    CHECK(sum(r.histogram.counts) == 1000 - equal);
  }
}

TEST_CASE("compare_tensors agrees with measure_error and SNR = -20 log10(rel-L2)", "[numerics]") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<float> a(2 * 5 * 3 * 3);
  std::vector<double> e(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    e[i] = u(rng);
    a[i] = static_cast<float>(e[i] + 1e-3 * u(rng));
  }
  const auto c = compare_tensors(a, e, {2, 5, 3, 3}, {});
  const auto m = measure_error(a, e);
  CHECK(c.rel_l2 == Approx(m.rel_l2).epsilon(1e-12));
  CHECK(c.max_abs == m.max_abs);
  CHECK(c.worst_index == m.worst_index);
  CHECK(c.snr_db == Approx(-20 * std::log10(m.rel_l2)).epsilon(1e-12));
  // Per-channel maxima: the largest of them is the whole tensor's.
  double worst = 0;
  for (const auto& ch : c.channels) worst = std::max(worst, ch.max_abs);
  CHECK(worst == c.max_abs);
  CHECK(c.channels.size() == 5);
}

TEST_CASE("compare_tensors rejects inconsistent shapes and options", "[numerics]") {
  const std::vector<float> a{1, 2, 3};
  const std::vector<double> e{1, 2, 3};
  CHECK_THROWS_AS(compare_tensors(a, e, {4}, {}), std::invalid_argument);
  const std::vector<double> short_e{1, 2};
  CHECK_THROWS_AS(compare_tensors(a, short_e, {3}, {}), std::invalid_argument);
  ComparisonOptions bad_axis;
  bad_axis.channel_axis = -2;
  CHECK_THROWS_AS(compare_tensors(a, e, {3}, bad_axis), std::invalid_argument);
  ComparisonOptions no_bins;
  no_bins.histogram_bins = 0;
  CHECK_THROWS_AS(compare_tensors(a, e, {3}, no_bins), std::invalid_argument);
}

TEST_CASE("topk_agreement on a 4x10 example", "[numerics]") {
  // b, the reference, ranks every row 9 > 8 > ... > 0; a, the candidate, starts equal to it.
  std::vector<float> b(40);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = 0.1f * static_cast<float>(i % 10);
  std::vector<float> a = b;
  // Row 0: identical.
  // Row 1: a ranks 2 > 9 > 8 > 7 > 6. The argmax differs; b's answer (9) is in a's top 5, but
  // a's answer (2) is b's 8th.
  a[10 + 2] = 3.0f;
  // Row 2: a ranks 7 > 9 > 8 > 6 > 5. a's answer (7) is b's 3rd and b's answer is a's 2nd;
  // the top-5 sets are both {5,6,7,8,9}.
  a[20 + 7] = 3.0f;
  // Row 3: a ranks 0 > 8 > 7 > 6 > 5 > ... > 9: no agreement of any kind.
  a[30 + 0] = 3.0f;
  a[30 + 9] = -1.0f;
  const auto t = topk_agreement(a, b, 4, 10);
  CHECK(t.rows == 4);
  CHECK(t.top1 == 0.25);       // row 0
  CHECK(t.top5 == 0.75);       // rows 0, 1, 2
  CHECK(t.top5_sets == 0.5);   // rows 0, 2
  // Top-5 agreement is not symmetric: with a as the reference, row 1 no longer agrees (a's
  // answer 2 is not in b's top 5).
  const auto s = topk_agreement(b, a, 4, 10);
  CHECK(s.top1 == 0.25);
  CHECK(s.top5 == 0.5);        // rows 0, 2
  CHECK(s.top5_sets == 0.5);
}

TEST_CASE("topk_agreement: ties go to the lowest index, NaN ranks first", "[numerics]") {
  // a ties classes 1 and 2: lowest index makes its answer 1, which is b's.
  const std::vector<float> a{1, 3, 3, 0};
  const std::vector<float> b{0, 3, 0, 0};
  const auto tie = topk_agreement(a, b, 1, 4);
  CHECK(tie.top1 == 1.0);
  CHECK(tie.top5 == 1.0);      // fewer than 5 classes: top 5 is all of them
  CHECK(tie.top5_sets == 1.0);
  // -0 == +0: a tie, so class 0 wins.
  const std::vector<float> zeros{-0.0f, 0.0f};
  const std::vector<float> second{0, 1};
  CHECK(topk_agreement(zeros, second, 1, 2).top1 == 0.0);
  CHECK(topk_agreement(second, std::vector<float>{0, -1}, 1, 2).top1 == 0.0);

  const std::vector<float> with_nan{0, kNaN, 1};
  const std::vector<float> clean{0, 1, 2};
  CHECK(topk_agreement(with_nan, clean, 1, 3).top1 == 0.0);  // argmax is the NaN at 1, not 2

  CHECK(topk_agreement({}, {}, 0, 10).top1 == 1.0);
  CHECK_THROWS_AS(topk_agreement(a, b, 2, 4), std::invalid_argument);
  CHECK_THROWS_AS(topk_agreement(a, b, 1, 0), std::invalid_argument);
}

TEST_CASE("histogram_bar: log-scaled ASCII heights", "[numerics]") {
  ErrorHistogram h;
  h.counts = {0, 1, 10, 100};
  // 0 -> ' ', 1 -> '.', 100 (the fullest) -> '@', 10 -> 1 + round(8 * ln 10 / ln 100) = 5 -> '+'.
  CHECK(histogram_bar(h, 4) == " .+@");
  CHECK(histogram_bar(h, 2) == ".@");  // sums 1 and 110
  CHECK(histogram_bar(h, 8) == "  ..++@@");
  CHECK(histogram_bar(h, 0).empty());
  // 3 of 100: 1 + round(8 * ln 3 / ln 100) = 1 + round(1.91) = 3 -> '-'.
  ErrorHistogram rounding;
  rounding.counts = {3, 100};
  CHECK(histogram_bar(rounding, 2) == "-@");
  ErrorHistogram single;
  single.counts = {0, 1, 0};
  CHECK(histogram_bar(single, 3) == " @ ");
}
