// The shader suite's case tables, as a library: tests/test_conv2d.cpp runs them against the
// float64 oracle, and `fusescope kernel-check FILE.comp --op conv2d` runs a user's edited kernel
// (the shader sandbox) through the very same cases with the very same tolerances — one table, so
// "passes kernel-check" means "passes the suite's cases for its op".
//
// A case is an op's parameters and input shape plus the seed of its values: inputs uniform in
// [-1, 1], weights in ±1/sqrt(fan_in) so outputs stay O(1), bias in [-1, 1] (the suite's
// random_values with std::mt19937, so the library and the tests draw identical tensors).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "numerics/error_metrics.hpp"
#include "ops/conv2d.hpp"
#include "ops/shape.hpp"

namespace fusescope::gpu {
class Device;
class ShaderOverride;
}  // namespace fusescope::gpu

namespace fusescope::workbench {

// fp32 accumulation of K = C/groups*KH*KW products: rounding grows like sqrt(K)*2^-24 relative
// to the output's scale, about 1.5e-6 at K = 1152, the largest K in these tables. 1e-5 leaves
// room for unlucky cancellation yet is five orders below what an indexing bug (a wrong tap,
// a missed padding check, a wrong group) produces, which is O(0.1..1). The max-abs bound is read
// against max(1, max|expected|). The gemm kernel sums in two levels instead of direct's three;
// its rounding is of the same order and within the same bounds.
inline constexpr double kConv2dRelL2 = 1e-5;
inline constexpr double kConv2dMaxAbs = 1e-5;

// Winograd F(2x2,3x3) (ConvAlgorithm::winograd) adds roundings a direct sum does not have: U =
// G g G^T is rounded once from float64, V = B^T d B sums up to four inputs, and the output
// transform sums up to nine of the 16 per-element sums over the channels (one level, no
// 16-channel blocks), each carrying its own accumulation error. Measured on lavapipe over these
// tables, fp32: rel-L2 up to 2.7e-7 at K = 2304 (256 channels; direct 7.3e-8, subgroup 1.2e-7)
// and 7.1e-7 at K = 4608 (512 channels; direct 1.4e-7, subgroup 2.2e-7): 3.7-5x direct's error,
// still 14x inside the same bound, which is kept (a wrong tile or transform is O(0.1..1)).
// In fp16 storage (fp32 arithmetic) it is 2.9e-4 against direct's 2.1e-4 (U rounded to fp16
// instead of w), in fp16 arithmetic 1.4e-3 against 5.5e-4 (subgroup 9.7e-4), within the half
// precision suite's bounds, which are not widened for it.
inline constexpr double kConv2dWinogradRelL2 = kConv2dRelL2;
inline constexpr double kConv2dWinogradMaxAbs = kConv2dMaxAbs;

// Winograd F(4x4,3x3) (ConvAlgorithm::winograd4) rounds more again: its transforms weigh inputs
// by up to 5 (B^T) and the 36 sums by up to 8 (A^T, and 64 for the corner output), while the
// output is far smaller than those terms (the transforms cancel), so every rounding of V, of U
// and of the channel sums reaches the output magnified. Measured on lavapipe over these tables,
// fp32: rel-L2 up to 4.9e-6 at K = 4608 (512 channels on a 4x4 map: one tile, all of it next to
// padding) and 1.5e-6 at K = 2304, max-abs up to 1.5e-5 against max|expected| 0.83: 6.9x
// winograd's and 35x direct's at the same K, and past direct's 1e-5 max-abs bound, so it has its
// own: 5e-5 for both, 10x above the worst measured and still four orders below a wrong tile or
// transform (O(0.1..1)). In fp16 it is too lossy to offer: U rounded to fp16 alone gives rel-L2
// up to 9.0e-4 (the fp16s bound is one rounding, 5.1e-4; winograd's 2.9e-4), fp16 arithmetic
// 8.2e-3 (winograd's 1.4e-3), so winograd4 runs in fp32 only (the encoder refuses it in fp16 by
// name; the executor runs auto's choice there).
inline constexpr double kConv2dWinograd4RelL2 = 5e-5;
inline constexpr double kConv2dWinograd4MaxAbs = 5e-5;

// The bounds an algorithm's conv is held to in fp32 (rel-L2, and max-abs read against
// max(1, max|expected|)).
struct Conv2dTolerance {
  double rel_l2 = 0, max_abs = 0;
};
Conv2dTolerance conv2d_tolerance(ops::ConvAlgorithm algorithm);

struct Conv2dCase {
  std::string group;  // the table it belongs to: shapes, groups, padding, batch, random
  std::string name;
  ops::Shape input;  // N, C, H, W
  ops::Conv2dParams params;
  std::uint32_t seed = 0;
};

// The table's groups, in the suite's order: "shapes" (odd sizes, 1x1 spatial, awkward channel
// counts, large K), "groups" (groups and depthwise), "padding" (dilation, stride and padding),
// "batch" (batch > 1), "random" (24 seeded random shapes), "winograd" (3x3 stride-1 convs at the
// edges of Winograd's 2x2 and 4x4 tilings).
std::vector<std::string> conv2d_case_groups();
// One group's cases (empty for an unknown group), or all of them with "all".
std::vector<Conv2dCase> conv2d_cases(const std::string& group = "all");

// Square-kernel conv parameters for the tables: symmetric padding, same stride and dilation on
// both axes.
ops::Conv2dParams square_conv_params(std::int64_t c, std::int64_t oc, std::int64_t k, std::int64_t stride = 1,
                                     std::int64_t pad = 0, std::int64_t dilation = 1, std::int64_t groups = 1,
                                     bool bias = true);

struct KernelCaseResult {
  std::string name;
  std::string shape;  // "in 1x17x9x11 out 1x33x9x11"
  numerics::ErrorStats error;
  double rel_l2_limit = 0, max_abs_limit = 0;  // max_abs_limit already scaled by max(1, max|expected|)
  double gpu_ms = 0;
  bool pass = false;
  std::string failure;  // set when the kernel could not run at all (the message), pass false
  std::vector<float> output;  // what the kernel wrote (NCHW), for bit-for-bit comparisons
};

// Runs one case on the device — output poisoned with NaN first, so an element the kernel never
// writes fails — and judges it against the float64 oracle (reference::conv2d) with the suite's
// tolerances. `kernel_override` set: the case runs that source in place of the algorithm's
// built-in kernel. Errors from the override itself (compile, interface) propagate; a case the
// kernel cannot run (a device limit) comes back as a failure with its message.
KernelCaseResult run_conv2d_case(gpu::Device& device, const Conv2dCase& c,
                                 ops::ConvAlgorithm algorithm = ops::ConvAlgorithm::direct,
                                 std::shared_ptr<const gpu::ShaderOverride> kernel_override = nullptr);

}  // namespace fusescope::workbench
