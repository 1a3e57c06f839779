#include "ops/reduce_mean_gpu.hpp"

#include <fmt/format.h>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {

struct ReduceMeanPush {
  std::uint32_t out_count;
  std::uint32_t reduce_count;
  std::uint32_t kept_rank;
  std::uint32_t reduced_rank;
  std::uint32_t kept_dims[kMaxReduceRank];
  std::uint32_t kept_strides[kMaxReduceRank];
  std::uint32_t reduced_dims[kMaxReduceRank];
  std::uint32_t reduced_strides[kMaxReduceRank];
};
// Vulkan guarantees only 128 bytes of push constants.
static_assert(sizeof(ReduceMeanPush) <= 128);

// As global_average_pool's: the largest workgroup every Vulkan device must accept.
constexpr std::uint32_t kReduceLocalSize = 128;

}  // namespace

void encode_reduce_mean(const Encoder& enc, const ReduceMeanParams& p, const Tensor& input,
                        const Tensor& output, const std::string& label) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const Shape out = reduce_mean_output_shape(p, input.shape, label);
  expect_shape(label, "output", output.shape, out);
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_storage_dtype(label, "output", output, enc.precision);
  to_u32(numel(input.shape), label, "input element count");
  const std::vector<bool> reduced = reduced_axes(p, input.shape, label);

  // Dims of 1 index nothing; neighbours of the same kind merge into one dim (the outer one's
  // stride is the inner one's times its size), which shortens the shader's index loops.
  struct Dim {
    std::int64_t size, stride;
  };
  std::vector<Dim> kept, red;
  std::int64_t stride = 1;
  std::vector<Dim>* last = nullptr;
  for (std::size_t d = input.shape.size(); d-- > 0;) {
    const std::int64_t size = input.shape[d];
    if (size != 1) {
      std::vector<Dim>& group = reduced[d] ? red : kept;
      if (last == &group) {
        group.back().size *= size;  // contiguous with the dim just inside it
      } else {
        group.push_back({size, stride});
      }
      last = &group;
    }
    stride *= size;
  }
  ReduceMeanPush push{};
  push.out_count = to_u32(numel(out), label, "output element count");
  push.reduce_count = to_u32(numel(input.shape) / numel(out), label, "reduced element count");
  push.kept_rank = static_cast<std::uint32_t>(kept.size());
  push.reduced_rank = static_cast<std::uint32_t>(red.size());
  // Collected innermost first; the shader wants outermost first.
  for (std::size_t i = 0; i < kept.size(); ++i) {
    const Dim& k = kept[kept.size() - 1 - i];
    push.kept_dims[i] = to_u32(k.size, label, "kept dimension");
    push.kept_strides[i] = to_u32(k.stride, label, "kept stride");
  }
  for (std::size_t i = 0; i < red.size(); ++i) {
    const Dim& r = red[red.size() - 1 - i];
    push.reduced_dims[i] = to_u32(r.size, label, "reduced dimension");
    push.reduced_strides[i] = to_u32(r.stride, label, "reduced stride");
  }
  const std::uint32_t local = reduction_local_size(push.reduce_count, kReduceLocalSize);
  // Each invocation walks every local-th reduced element, unravelling its index over the reduced
  // dimensions in an inner loop, then the tree.
  require_loop_budget(device,
                      (static_cast<std::uint64_t>(push.reduce_count) + local - 1) / local *
                              (push.reduced_rank + 3) + push.kept_rank + 48,
                      label, "reduce_mean", fmt::format("{} reduced elements", push.reduce_count));
  const gpu::KernelSpec spec{shader_variant(enc, "reduce_mean", label), 2, sizeof(ReduceMeanPush), {local}};
  // One workgroup per output element: out_count * local invocations.
  recorder.dispatch(kernel_for(enc, spec),
                    {{input.buffer, gpu::Access::read}, {output.buffer, gpu::Access::write}},
                    push,
                    gpu::groups_for(static_cast<std::uint64_t>(push.out_count) * local, local, device),
                    label);
}

}  // namespace fusescope::ops
