#include "models/calibrate.hpp"

#include <fmt/format.h>

#include <cmath>
#include <random>

#include "graph/oracle_runner.hpp"
#include "models/stable_hash.hpp"

namespace fusescope::models {

std::vector<float> calibration_images(const ops::Shape& s, std::uint32_t seed) {
  if (s.size() != 4) throw ops::InvalidArgument("calibration_images: expected an NCHW shape");
  const std::int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::normal_distribution<float> noise(0.0f, 0.15f);
  std::vector<float> out(static_cast<std::size_t>(n * c * h * w));
  for (std::int64_t b = 0; b < n; ++b) {
    // A few oriented waves and one hard edge per image, shared by the channels with different
    // gains: correlated colour channels, as in photographs.
    struct Wave { float fx, fy, phase, amp; };
    std::vector<Wave> waves;
    for (int k = 0; k < 5; ++k)
      waves.push_back({u(rng) * 6.0f, u(rng) * 6.0f, u(rng) * 6.2831853f, 0.3f + u(rng)});
    const float edge_x = u(rng), edge_angle = u(rng) * 3.14159f;
    std::vector<float> gain(static_cast<std::size_t>(c));
    for (auto& g : gain) g = 0.7f + 0.6f * u(rng);
    for (std::int64_t y = 0; y < h; ++y) {
      for (std::int64_t x = 0; x < w; ++x) {
        const float fx = static_cast<float>(x) / static_cast<float>(w);
        const float fy = static_cast<float>(y) / static_cast<float>(h);
        float v = 0;
        for (const Wave& wv : waves) v += wv.amp * std::sin(6.2831853f * (wv.fx * fx + wv.fy * fy) + wv.phase);
        v += (std::cos(edge_angle) * (fx - edge_x) + std::sin(edge_angle) * (fy - 0.5f)) > 0 ? 0.8f : -0.8f;
        for (std::int64_t ch = 0; ch < c; ++ch) {
          out[static_cast<std::size_t>(((b * c + ch) * h + y) * w + x)] =
              0.6f * gain[static_cast<std::size_t>(ch)] * v + noise(rng);
        }
      }
    }
  }
  return out;
}

void calibrate_batchnorm(graph::Graph& graph, std::span<const float> input, std::uint32_t seed,
                         const graph::Progress& progress) {
  if (graph.inputs().size() != 1) {
    throw ops::InvalidArgument(fmt::format("{}: calibration needs exactly one input", graph.name()));
  }
  const std::string input_name = graph.value(graph.inputs()[0]).name;
  graph::OracleOptions options;
  std::size_t done = 0;
  const double total = static_cast<double>(graph.nodes().size());
  options.before_node = [&](graph::Graph& g, const graph::Node& node,
                            const std::vector<const reference::HostTensor*>& acts) {
    graph::report(progress, "calibrating BatchNorm (float64)", static_cast<double>(done++) / total);
    const auto* bn = node.as<graph::BatchNormAttrs>();
    if (bn == nullptr || acts.empty()) return;
    const reference::HostTensor& x = *acts[0];
    const std::int64_t c = bn->params.channels;
    const std::int64_t n = x.shape[0];
    std::int64_t inner = 1;
    for (std::size_t i = 2; i < x.shape.size(); ++i) inner *= x.shape[i];
    std::vector<float>& stats = g.value(node.inputs[1]).data;
    std::seed_seq seq{seed, static_cast<std::uint32_t>(stable_hash(node.name))};
    std::mt19937 rng(seq);
    // The last BN of a residual branch: it feeds an add whose other operand is the identity
    // stream (not another BN'd branch, as in RepVGG's three-way sums or a projection shortcut).
    const auto users = g.consumers(node.output);
    bool feeds_add = users.size() == 1;
    if (feeds_add) {
      const graph::Node& add = g.node(users[0]);
      const auto* bin = add.as<graph::BinaryAttrs>();
      feeds_add = bin != nullptr && bin->op == ops::BinaryOp::add;
      if (feeds_add) {
        const graph::ValueId other = add.inputs[0] == node.output ? add.inputs[1] : add.inputs[0];
        const graph::NodeId p = g.value(other).producer;
        if (p >= 0) {
          const auto& attrs = g.node(p).attrs;
          feeds_add = !std::holds_alternative<graph::BatchNormAttrs>(attrs) &&
                      !std::holds_alternative<graph::BinaryAttrs>(attrs);
        }
      }
    }
    std::uniform_real_distribution<float> gamma(feeds_add ? 0.15f : 0.6f, feeds_add ? 0.45f : 1.4f);
    std::uniform_real_distribution<float> beta(-0.3f, 0.3f);
    for (std::int64_t ch = 0; ch < c; ++ch) {
      double sum = 0, sum2 = 0;
      for (std::int64_t b = 0; b < n; ++b) {
        const double* p = x.data.data() + (b * c + ch) * inner;
        for (std::int64_t i = 0; i < inner; ++i) sum += p[i];
      }
      const double count = static_cast<double>(n * inner);
      const double mean = sum / count;
      for (std::int64_t b = 0; b < n; ++b) {
        const double* p = x.data.data() + (b * c + ch) * inner;
        for (std::int64_t i = 0; i < inner; ++i) sum2 += (p[i] - mean) * (p[i] - mean);
      }
      const auto i = static_cast<std::size_t>(ch);
      const auto cc = static_cast<std::size_t>(c);
      stats[i] = gamma(rng);
      stats[cc + i] = beta(rng);
      stats[2 * cc + i] = static_cast<float>(mean);
      stats[3 * cc + i] = static_cast<float>(sum2 / count);
    }
  };
  graph::run_oracle(graph, {{input_name, std::vector<float>(input.begin(), input.end())}}, options);
}

}  // namespace fusescope::models
