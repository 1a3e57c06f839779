// --autotune: every conv node left on `automatic` gets the algorithm that ran its shape fastest on
// this device, measured instead of guessed (ops::choose_conv_algorithm is a heuristic per device
// kind). Each distinct conv shape (conv_shape_key) is run once per algorithm of
// ops::kConvAlgorithms as a one-node network with seeded weights: a warm-up run (some drivers,
// lavapipe, compile a pipeline's machine code at its first dispatch), then the median GPU time
// (timestamp queries; wall time where the device has none) of kConvAutotuneRuns runs. The
// epilogue is left out (it costs every algorithm the same). An algorithm that refuses the shape
// (its encoder throws: the device's loop limit, texel-buffer limits, no subgroup shuffles, a
// kernel size it does not do) is not a candidate, so a new algorithm in kConvAlgorithms joins
// without changes here. Winners are remembered per device UUID and driver version
// (graph/conv_autotune_cache.hpp), so a later run times only shapes it has not seen; an entry that
// does not cover every algorithm of this build (one added since) is timed again.
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ops/conv2d.hpp"
#include "ops/encoder.hpp"

namespace fusescope::gpu {
class Device;
}

namespace fusescope::graph {

class Graph;
struct ExecutorOptions;

// Timed runs per algorithm and shape, after one warm-up; their median is the algorithm's time.
inline constexpr int kConvAutotuneRuns = 3;

struct ConvAutotuneShape {
  std::string key;          // conv_shape_key: the cache's key
  std::string description;  // "3x3 64->64 56x56", "3x3 128->128 28x28 stride 2 groups 32"
  std::vector<std::string> nodes;  // the conv nodes of this shape
  ops::ConvAlgorithm winner = ops::ConvAlgorithm::automatic;  // automatic: no algorithm ran it
  bool from_cache = false;  // winner (and ms) read from the cache, nothing timed
  std::vector<std::pair<ops::ConvAlgorithm, double>> ms;            // each algorithm that ran: median ms
  std::vector<std::pair<ops::ConvAlgorithm, std::string>> refused;  // each that refused the shape: why
};

struct ConvAutotuneReport {
  std::vector<ConvAutotuneShape> shapes;  // in the order their first node comes in the graph
  std::size_t from_cache = 0, timed = 0;  // shapes
  double seconds = 0;                     // spent timing
  std::filesystem::path cache_file;
  std::vector<std::string> warnings;      // a cache ignored or not written, and why
};

// A conv's shape as people write it: "3x3 64->64 56x56", "1x1 256->512 28x28 stride 2",
// "3x3 96->96 32x32 groups 32", "5x5 16->16 7x7 depthwise" (autotune's lines, bench's layers).
std::string describe_conv_shape(const ops::Conv2dParams& params, const ops::Shape& input);

// Everything of a conv that its algorithms' speed depends on: channels, kernel, stride, padding,
// dilation, groups, the input's shape, precision and layout ("conv 64->64 k3x3 s1x1 p1,1,1,1 d1x1
// g1 in 1x64x56x56 fp32 nchw").
std::string conv_shape_key(const ops::Conv2dParams& params, const ops::Shape& input, ops::Precision precision,
                           ops::Layout layout);

// Sets the algorithm of every conv node of `graph` that is on automatic and has no kernel
// override in `options` (an edited kernel is an edit of one algorithm's kernel), as measured on
// `device` under `options`' precision and layout. A shape no algorithm could run stays automatic
// (its encoder then says why). Tells `log` one line per shape timed, then a summary; nothing when
// the graph has no conv to tune. Throws what the device throws beyond refusals (a lost device,
// out of memory).
ConvAutotuneReport autotune_conv_algorithms(gpu::Device& device, Graph& graph, const ExecutorOptions& options,
                                            const std::function<void(const std::string&)>& log = {});

}  // namespace fusescope::graph
