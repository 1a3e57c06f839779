// BatchNorm calibration: networks built from seeded random weights have no trained statistics,
// and with neutral ones (mean 0, var 1) activations explode or vanish within a few dozen layers.
// So, as a framework's BN does in training, we observe each BN's input and set:
//   running mean = the batch mean of its input, per channel (over N, H, W)
//   running var  = the batch variance (biased, over N, H, W)
//   gamma, beta  = perturbed away from (1, 0): gamma in [0.6, 1.4], beta in [-0.3, 0.3],
//                  seeded by the node's name, so folding has real work to do. A BN whose output
//                  goes straight into an add with the identity stream (the last BN of a
//                  residual branch, not one of RepVGG's summed branches) gets gamma in
//                  [0.15, 0.45] instead: trained ResNets learn small gammas there (and
//                  "zero-init residual" training starts them at 0), which keeps the identity
//                  stream from growing block after block.
// The walk is one float64 oracle pass in network order, each BN's statistics set just before it
// runs, so every later layer sees already-normalised inputs. Channels whose input is (nearly)
// constant — dead ReLU channels — get a (nearly) zero variance, as in trained networks, which is
// exactly where folding into fp16 weights gets risky.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "graph/graph.hpp"
#include "graph/progress.hpp"

namespace fusescope::models {

// Deterministic images with the statistics of natural ones (smooth low-frequency structure,
// edges and a little noise), roughly ImageNet-normalised: mean ~0, std ~1 per channel.
std::vector<float> calibration_images(const ops::Shape& nchw, std::uint32_t seed);

// Sets every BatchNorm's statistics from `input` (values for the graph's only input).
// `progress` hears "calibrating BatchNorm" with the fraction of nodes run.
void calibrate_batchnorm(graph::Graph& graph, std::span<const float> input, std::uint32_t seed,
                         const graph::Progress& progress = {});

}  // namespace fusescope::models
