// A Linear layer whose weight is larger than the device can bind as one storage buffer (VGG's
// first classifier layer: 25088 x 4096 floats, 392 MiB, against lavapipe's 128 MiB
// maxStorageBufferRange) runs as several gemms over slices of its output features, joined by a
// concat along the feature axis. Each output element is the same dot product in the same order
// as in one gemm, so the result is bit for bit the unsplit one's; only the dispatch count grows.
#pragma once
#include <cstdint>

#include "graph/graph.hpp"

namespace fusescope::graph {

// Rewrites every gemm whose constant weight takes more than `max_weight_bytes` (at 4 bytes per
// element): parts named "<gemm>/part<i>" with their own weight and bias slices, then the gemm
// node becomes the concat of their outputs, keeping its name, output value and provenance.
// Returns how many gemms it split.
int split_wide_gemms(Graph& g, std::uint64_t max_weight_bytes);

}  // namespace fusescope::graph
