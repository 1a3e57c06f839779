#include "ops/softmax_gpu.hpp"

#include <fmt/format.h>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/concat.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {
struct SoftmaxPush {
  std::uint32_t rows;
  std::uint32_t axis;
  std::uint32_t inner;
};
}  // namespace

void encode_softmax(const Encoder& enc, const SoftmaxParams& p,
                    const Tensor& input, const Tensor& output, const std::string& label) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const Shape out = softmax_output_shape(p, input.shape, label);
  expect_shape(label, "output", output.shape, out);
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_storage_dtype(label, "output", output, enc.precision);
  const AxisView v = axis_view(out, normalize_axis(p.axis, out.size(), label));
  to_u32(numel(out), label, "element count");
  SoftmaxPush push{to_u32(v.outer * v.inner, label, "rows"), to_u32(v.axis, label, "axis size"),
                   to_u32(v.inner, label, "inner size")};
  // Three passes over the axis (max, sum, write), each a loop in one invocation.
  require_loop_budget(device, 3 * (static_cast<std::uint64_t>(v.axis) + 2) + 16, label, "softmax",
                      fmt::format("three passes over an axis of {}", v.axis));
  const gpu::KernelSpec spec{shader_variant(enc, "softmax", label), 2, sizeof(SoftmaxPush), {kLocalSize}};
  recorder.dispatch(kernel_for(enc, spec),
                    {{input.buffer, gpu::Access::read}, {output.buffer, gpu::Access::write}},
                    push, gpu::groups_for(push.rows, kLocalSize, device), label);
}

}  // namespace fusescope::ops
