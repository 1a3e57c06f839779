#include "ops/activation_gpu.hpp"

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {
struct ActivationPush {
  std::uint32_t count;
  float alpha, beta;
};
}  // namespace

void encode_activation(const Encoder& enc, const Activation& act,
                       const Tensor& input, const Tensor& output, const std::string& label) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  checked_numel(input.shape, label + ": input");
  expect_shape(label, "output", output.shape, input.shape);
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_storage_dtype(label, "output", output, enc.precision);
  ActivationPush push{to_u32(numel(input.shape), label, "element count"), act.alpha, act.beta};
  const gpu::KernelSpec spec{shader_variant(enc, "activation", label), 2, sizeof(ActivationPush),
                             {kLocalSize, static_cast<std::uint32_t>(act.kind)}};
  recorder.dispatch(kernel_for(enc, spec),
                    {{input.buffer, gpu::Access::read}, {output.buffer, gpu::Access::write}},
                    push, gpu::groups_for(push.count, kLocalSize, device), label);
}

}  // namespace fusescope::ops
