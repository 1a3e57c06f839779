#include "ops/batchnorm_gpu.hpp"

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {
struct BatchNormPush {
  std::uint32_t count, C, inner;
  float eps, alpha, beta;
};
}  // namespace

void encode_batchnorm(const Encoder& enc, const BatchNormParams& p,
                      const Activation& act, const Tensor& input, const Tensor& stats,
                      const Tensor& output, const std::string& label) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const Shape out = batchnorm_output_shape(p, input.shape, label);
  expect_shape(label, "batchnorm statistics", stats.shape, {4, p.channels});
  expect_shape(label, "output", output.shape, out);
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_dtype(label, "batchnorm statistics", stats, DType::f32, enc.precision);
  expect_storage_dtype(label, "output", output, enc.precision);
  std::int64_t inner = 1;
  for (std::size_t i = 2; i < out.size(); ++i) inner *= out[i];
  BatchNormPush push{to_u32(numel(out), label, "element count"), to_u32(p.channels, label, "channels"),
                     to_u32(inner, label, "spatial size"), p.epsilon, act.alpha, act.beta};
  const gpu::KernelSpec spec{shader_variant(enc, "batchnorm", label), 3, sizeof(BatchNormPush),
                             {kLocalSize, static_cast<std::uint32_t>(act.kind)}};
  recorder.dispatch(kernel_for(enc, spec),
                    {{input.buffer, gpu::Access::read},
                     {stats.buffer, gpu::Access::read},
                     {output.buffer, gpu::Access::write}},
                    push, gpu::groups_for(push.count, kLocalSize, device), label);
}

}  // namespace fusescope::ops
