#include "ops/pad_gpu.hpp"

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"
#include "ops/half.hpp"

namespace fusescope::ops {

namespace {

struct PadPush {
  std::uint32_t count;
  std::uint32_t rank;
  std::uint32_t fill_bits;
  std::uint32_t out_dims[kMaxPadRank];
  std::uint32_t in_dims[kMaxPadRank];
  std::uint32_t pad_begin[kMaxPadRank];
};

}  // namespace

void encode_pad(const Encoder& enc, const PadParams& params, const Tensor& input, const Tensor& output,
                const std::string& label) {
  const Shape out = pad_output_shape(params, input.shape, label);
  expect_shape(label, "output", output.shape, out);
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_storage_dtype(label, "output", output, enc.precision);

  PadPush push{};
  push.count = to_u32(numel(out), label, "output element count");
  to_u32(numel(input.shape), label, "input element count");
  const std::size_t rank = input.shape.size();
  push.rank = static_cast<std::uint32_t>(rank);
  // The fill in the tensors' own element bits: the kernel copies elements as raw bits.
  push.fill_bits = output.dtype == DType::f16 ? float_to_half(params.value) : float_bits(params.value);
  for (std::size_t d = 0; d < rank; ++d) {
    push.out_dims[d] = to_u32(out[d], label, "output dim");
    push.in_dims[d] = to_u32(input.shape[d], label, "input dim");
    push.pad_begin[d] = to_u32(params.pads[d], label, "begin pad");
  }

  gpu::Device& device = enc.device;
  const gpu::KernelSpec spec{shader_variant(enc, "pad", label), 2, sizeof(PadPush),
                             {kLocalSize, static_cast<std::uint32_t>(params.mode)}};
  enc.recorder.dispatch(kernel_for(enc, spec),
                        {{input.buffer, gpu::Access::read}, {output.buffer, gpu::Access::write}}, push,
                        gpu::groups_for(push.count, kLocalSize, device), label);
}

}  // namespace fusescope::ops
