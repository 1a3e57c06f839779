#include "ops/transpose_gpu.hpp"

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {

struct TransposePush {
  std::uint32_t count;
  std::uint32_t rank;
  std::uint32_t out_dims[kMaxTransposeRank];
  std::uint32_t src_stride[kMaxTransposeRank];
};

}  // namespace

void encode_transpose(const Encoder& enc, const TransposeParams& params, const Tensor& input,
                      const Tensor& output, const std::string& label) {
  const Shape out = transpose_output_shape(params, input.shape, label);
  expect_shape(label, "output", output.shape, out);
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_storage_dtype(label, "output", output, enc.precision);
  const std::vector<std::int64_t> perm = transpose_permutation(params, input.shape.size(), label);
  const CollapsedTranspose c = collapse_transpose(input.shape, perm);

  TransposePush push{};
  push.count = to_u32(numel(out), label, "output element count");
  push.rank = static_cast<std::uint32_t>(c.perm.size());
  std::vector<std::int64_t> in_stride(c.input.size(), 1);
  for (std::size_t d = c.input.size() - 1; d-- > 0;) in_stride[d] = in_stride[d + 1] * c.input[d + 1];
  for (std::size_t d = 0; d < c.perm.size(); ++d) {
    const auto src = static_cast<std::size_t>(c.perm[d]);
    push.out_dims[d] = to_u32(c.input[src], label, "output dim");
    push.src_stride[d] = to_u32(in_stride[src], label, "input stride");
  }
  for (std::size_t d = c.perm.size(); d < kMaxTransposeRank; ++d) push.out_dims[d] = 1;

  gpu::Device& device = enc.device;
  const gpu::KernelSpec spec{shader_variant(enc, "transpose", label), 2, sizeof(TransposePush), {kLocalSize}};
  enc.recorder.dispatch(kernel_for(enc, spec),
                        {{input.buffer, gpu::Access::read}, {output.buffer, gpu::Access::write}}, push,
                        gpu::groups_for(push.count, kLocalSize, device), label);
}

}  // namespace fusescope::ops
