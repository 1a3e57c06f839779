#include "ops/layer_norm_gpu.hpp"

#include <fmt/format.h>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/concat.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {
struct LayerNormPush {
  std::uint32_t rows;
  std::uint32_t axis;
  std::uint32_t inner;
  float eps;
};
}  // namespace

void encode_layer_norm(const Encoder& enc, const LayerNormParams& p, const Tensor& input, const Tensor& affine,
                       const Tensor& output, const std::string& label) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const Shape out = layer_norm_output_shape(p, input.shape, label);
  expect_shape(label, "output", output.shape, out);
  expect_shape(label, "affine (gamma, beta)", affine.shape, layer_norm_affine_shape(p, input.shape, label));
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_storage_dtype(label, "output", output, enc.precision);
  if (affine.dtype != DType::f32) throw InvalidArgument(label + ": affine (gamma, beta) must be stored in fp32");
  const AxisView v = axis_view(out, normalize_axis(p.axis, out.size(), label));
  to_u32(numel(out), label, "element count");
  LayerNormPush push{to_u32(v.outer * v.inner, label, "rows"), to_u32(v.axis, label, "axis size"),
                     to_u32(v.inner, label, "inner size"), p.epsilon};
  // Three passes over the axis (mean, variance, write), each a loop in one invocation.
  require_loop_budget(device, 3 * (static_cast<std::uint64_t>(v.axis) + 2) + 16, label, "layer_norm",
                      fmt::format("three passes over an axis of {}", v.axis));
  const gpu::KernelSpec spec{shader_variant(enc, "layer_norm", label), 3, sizeof(LayerNormPush), {kLocalSize}};
  recorder.dispatch(kernel_for(enc, spec),
                    {{input.buffer, gpu::Access::read}, {affine.buffer, gpu::Access::read},
                     {output.buffer, gpu::Access::write}},
                    push, gpu::groups_for(push.rows, kLocalSize, device), label);
}

}  // namespace fusescope::ops
