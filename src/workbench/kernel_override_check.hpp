// What an edited kernel does inside a network (the shader sandbox's verdict, headless): the
// network run twice on one input — with the built-in kernels and with the overrides
// (graph::ExecutorOptions::kernel_overrides) — and, for each overridden node, its output against
// the float64 oracle run on that node's real inputs in this run, its GPU time beside the
// built-in kernel's, and the end-to-end effect on the network's output. `fusescope run` prints
// it for every --kernel-override; the window's kernel panel draws the same struct.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/executor.hpp"
#include "graph/graph.hpp"
#include "numerics/error_metrics.hpp"
#include "numerics/tensor_comparison.hpp"

namespace fusescope::gpu {
class Device;
}

namespace fusescope::workbench {

struct WorstElement {
  std::vector<std::int64_t> index;  // NCHW (the value's logical shape)
  float got = 0;
  double expected = 0;
};

struct KernelOverrideCheck {
  std::string node, file, output;  // the node, the override's file, the node's output value
  numerics::TensorComparison vs_oracle;  // the edited kernel's output vs the float64 oracle
  std::vector<WorstElement> worst;       // the largest |got - expected|, largest first (up to 5)
  double tolerance_rel_l2 = 0;           // node_oracle_tolerance(precision)
  bool within_tolerance = false;
  double gpu_ms = 0, builtin_gpu_ms = 0;  // the node's dispatches, edited and built-in
  std::string network_output;
  numerics::ErrorStats network_output_vs_builtin;  // end to end: the overridden run vs the built-in run
};

// The rel-L2 a node's output may be off the float64 oracle fed its own inputs. fp32: the shader
// suite's conv bound (workbench/kernel_cases.hpp, sqrt(K) 2^-24 with room; the other fp32
// kernels are tighter). fp16s: one fp16 rounding of the stored output on top (2^-11 + 2e-5).
// fp16: fp16 accumulation grows like sqrt(K) 2^-11, 1.6e-2 at K = 1152 (conv2d.comp's header),
// so 5e-2. A wrong index or a dropped bias is O(0.1..1) at every precision.
double node_oracle_tolerance(ops::Precision precision);

// Runs `g` on `input` with `options` (whose kernel_overrides are the edits) and without the
// overrides, and judges every overridden node. Throws what the executor throws for a bad
// override (unknown node, compile error, interface mismatch).
std::vector<KernelOverrideCheck> check_kernel_overrides(gpu::Device& device, const graph::Graph& g,
                                                        const std::vector<float>& input,
                                                        const graph::ExecutorOptions& options);

}  // namespace fusescope::workbench
