#include "graph/conv_autotune.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>

#include "gpu/device.hpp"
#include "gpu/error.hpp"
#include "graph/conv_autotune_cache.hpp"
#include "graph/executor.hpp"
#include "graph/graph.hpp"
#include "ops/conv2d_gpu.hpp"
#include "ops/winograd.hpp"

namespace fusescope::graph {

namespace {

using ops::ConvAlgorithm;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The conv alone: a graph input of the node's input shape, seeded weights, no bias or epilogue.
Graph one_conv_graph(const ops::Conv2dParams& params, const ops::Shape& input) {
  Graph g("autotune");
  ops::Conv2dParams p = params;
  p.has_bias = false;
  const ValueId x = g.add_input("x", input);
  const ops::Shape w_shape = ops::conv2d_weight_shape(p);
  std::vector<float> w(static_cast<std::size_t>(ops::numel(w_shape)));
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : w) v = dist(rng);
  const ValueId wid = g.add_constant("w", w_shape, std::move(w));
  ConvAttrs attrs;
  attrs.params = p;
  g.mark_output(g.add_node("conv", "", attrs, {x, wid, kNoValue, kNoValue, kNoValue}));
  return g;
}

// Median milliseconds of `algorithm` on the one-conv graph; throws what its encoder or the
// device throws.
double time_algorithm(gpu::Device& device, const Graph& g, const ExecutorOptions& options, ConvAlgorithm algorithm,
                      const std::vector<float>& x) {
  ExecutorOptions o;
  o.precision = options.precision;
  o.layout = options.layout;
  o.conv_algorithm = algorithm;
  Executor e(device, g, o);
  e.set_input(x);
  e.run();  // warm-up: a driver may compile the pipeline's machine code at its first dispatch
  std::vector<double> ms;
  for (int i = 0; i < kConvAutotuneRuns; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    e.run();
    const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ms.push_back(device.info().timestamps ? e.node_timings().at(0).gpu_ms : wall);
  }
  return median(ms);
}

// Whether a cached entry can stand for this build: its winner is an algorithm this build has,
// and every algorithm of kConvAlgorithms was tried (timed or refused), none added since.
bool entry_covers_this_build(const ConvAutotuneEntry& e, ConvAlgorithm& winner) {
  for (ConvAlgorithm a : ops::kConvAlgorithms) {
    const std::string name = ops::to_string(a);
    if (!e.ms.contains(name) && !e.refused.contains(name)) return false;
  }
  try {
    winner = ops::parse_conv_algorithm(e.winner);
  } catch (const ops::InvalidArgument&) {
    return false;
  }
  return winner != ConvAlgorithm::automatic && e.ms.contains(e.winner);
}

}  // namespace

std::string describe_conv_shape(const ops::Conv2dParams& p, const ops::Shape& input) {
  std::string d = fmt::format("{}x{} {}->{} {}x{}", p.kernel_h, p.kernel_w, p.in_channels, p.out_channels, input[2], input[3]);
  if (p.stride_h != 1 || p.stride_w != 1)
    d += p.stride_h == p.stride_w ? fmt::format(" stride {}", p.stride_h) : fmt::format(" stride {}x{}", p.stride_h, p.stride_w);
  if (p.dilation_h != 1 || p.dilation_w != 1)
    d += p.dilation_h == p.dilation_w ? fmt::format(" dilation {}", p.dilation_h)
                                      : fmt::format(" dilation {}x{}", p.dilation_h, p.dilation_w);
  if (p.groups != 1) d += p.groups == p.in_channels ? " depthwise" : fmt::format(" groups {}", p.groups);
  if (input[0] != 1) d += fmt::format(" batch {}", input[0]);
  return d;
}


std::string conv_shape_key(const ops::Conv2dParams& p, const ops::Shape& input, ops::Precision precision,
                           ops::Layout layout) {
  return fmt::format("conv {}->{} k{}x{} s{}x{} p{},{},{},{} d{}x{} g{} in {} {} {}", p.in_channels, p.out_channels,
                     p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left, p.pad_bottom, p.pad_right,
                     p.dilation_h, p.dilation_w, p.groups, fmt::join(input, "x"), ops::to_string(precision),
                     ops::to_string(layout));
}

ConvAutotuneReport autotune_conv_algorithms(gpu::Device& device, Graph& graph, const ExecutorOptions& options,
                                            const std::function<void(const std::string&)>& log) {
  auto say = [&log](const std::string& line) {
    if (log) log(line);
  };
  ConvAutotuneReport report;
  // The shapes, in graph order, with their nodes.
  std::map<std::string, std::size_t> shape_index;
  std::vector<ops::Conv2dParams> shape_params;
  std::vector<ops::Shape> shape_inputs;
  std::vector<std::vector<std::size_t>> shape_nodes;
  for (std::size_t n = 0; n < graph.nodes().size(); ++n) {
    const Node& node = graph.nodes()[n];
    const ConvAttrs* a = node.as<ConvAttrs>();
    if (a == nullptr || a->algorithm != ConvAlgorithm::automatic || options.kernel_overrides.contains(node.name)) continue;
    const ops::Shape& input = graph.value(node.inputs.at(0)).shape;
    const std::string key = conv_shape_key(a->params, input, options.precision, options.layout);
    auto [it, added] = shape_index.emplace(key, report.shapes.size());
    if (added) {
      ConvAutotuneShape s;
      s.key = key;
      s.description = describe_conv_shape(a->params, input);
      report.shapes.push_back(std::move(s));
      shape_params.push_back(a->params);
      shape_inputs.push_back(input);
      shape_nodes.emplace_back();
    }
    report.shapes[it->second].nodes.push_back(node.name);
    shape_nodes[it->second].push_back(n);
  }
  if (report.shapes.empty()) return report;

  report.cache_file = conv_autotune_cache_path();
  ConvAutotuneCache cache(report.cache_file, gpu::device_identity(device.physical()), device.info().name);
  if (!cache.warning().empty()) {
    report.warnings.push_back(cache.warning());
    say("autotune: " + cache.warning());
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::string unsaved;  // why the last save failed
  for (std::size_t s = 0; s < report.shapes.size(); ++s) {
    ConvAutotuneShape& shape = report.shapes[s];
    ConvAlgorithm cached_winner = ConvAlgorithm::automatic;
    if (const ConvAutotuneEntry* e = cache.find(shape.key); e && entry_covers_this_build(*e, cached_winner)) {
      shape.winner = cached_winner;
      shape.from_cache = true;
      for (const auto& [name, ms] : e->ms) {
        try {
          shape.ms.emplace_back(ops::parse_conv_algorithm(name), ms);
        } catch (const ops::InvalidArgument&) {
          // An algorithm of another build, timed then: not one this build can pick.
        }
      }
      ++report.from_cache;
    } else {
      const Graph g = one_conv_graph(shape_params[s], shape_inputs[s]);
      std::vector<float> x(static_cast<std::size_t>(ops::numel(shape_inputs[s])));
      std::mt19937 rng(7);
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      for (float& v : x) v = dist(rng);
      ConvAutotuneEntry entry;
      double best = 0;
      for (ConvAlgorithm a : ops::kConvAlgorithms) {
        // The executor runs a conv winograd cannot compute on auto's choice: timing that under
        // winograd's name would remember a winner that is another algorithm.
        if (ops::is_winograd(a) &&
            !ops::winograd_conv_fits(device, a, shape_params[s], shape_inputs[s], options.precision)) {
          shape.refused.emplace_back(a, a == ConvAlgorithm::winograd4 && options.precision != ops::Precision::fp32
                                            ? "winograd4 computes in fp32 only"
                                            : fmt::format("{} computes 3x3 convs of stride 1 and dilation 1 only",
                                                          ops::to_string(a)));
          continue;
        }
        try {
          const double ms = time_algorithm(device, g, options, a, x);
          shape.ms.emplace_back(a, ms);
          entry.ms[ops::to_string(a)] = ms;
          if (shape.winner == ConvAlgorithm::automatic || ms < best) {
            shape.winner = a;
            best = ms;
          }
        } catch (const ops::InvalidArgument& e) {  // the encoder's "this algorithm cannot run this conv"
          shape.refused.emplace_back(a, e.what());
        } catch (const gpu::DeviceLimit& e) {      // the device's loop limit, and the like
          shape.refused.emplace_back(a, e.what());
        } catch (const gpu::PipelineCreationFailed& e) {  // the driver cannot build its kernel
          shape.refused.emplace_back(a, e.what());
        }
      }
      for (const auto& [a, why] : shape.refused) entry.refused[ops::to_string(a)] = why;
      ++report.timed;
      std::string line = fmt::format("autotune: {}{}:", shape.description,
                                     shape.nodes.size() > 1 ? fmt::format(" ({} convs)", shape.nodes.size()) : "");
      for (const auto& [a, ms] : shape.ms) line += fmt::format(" {} {:.3g} ms,", ops::to_string(a), ms);
      for (const auto& [a, why] : shape.refused) line += fmt::format(" {} refused,", ops::to_string(a));
      line.pop_back();
      if (shape.winner == ConvAlgorithm::automatic) {
        say(line + " -> none ran it; left on auto");
        continue;  // nothing to remember: the next run tries again (and the encoder says why)
      }
      say(fmt::format("{} -> {}", line, ops::to_string(shape.winner)));
      entry.winner = ops::to_string(shape.winner);
      cache.put(shape.key, std::move(entry));
      // Saved after every shape, so an interrupted tuning of a big network keeps what it measured.
      unsaved = cache.save();
    }
    for (std::size_t n : shape_nodes[s]) {
      if (shape.winner != ConvAlgorithm::automatic) graph.nodes()[n].as<ConvAttrs>()->algorithm = shape.winner;
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!unsaved.empty()) {
    report.warnings.push_back("the winners were not saved: " + unsaved);
    say("autotune: the winners were not saved: " + unsaved);
  }
  std::map<std::string, std::size_t> wins;
  for (const ConvAutotuneShape& shape : report.shapes)
    if (shape.winner != ConvAlgorithm::automatic) wins[ops::to_string(shape.winner)] += shape.nodes.size();
  std::string tally;
  for (const auto& [name, count] : wins) tally += fmt::format("{}{} {}", tally.empty() ? "" : ", ", name, count);
  say(fmt::format("autotune: {} conv shape(s), {} from cache, {} timed ({:.1f} s); convs per algorithm: {}; cache {}",
                  report.shapes.size(), report.from_cache, report.timed, report.seconds, tally.empty() ? "none" : tally,
                  report.cache_file.string()));
  return report;
}

}  // namespace fusescope::graph
