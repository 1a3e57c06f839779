#include "ops/concat_gpu.hpp"

#include <fmt/format.h>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {

struct CopyAxisPush {
  std::uint32_t count;
  std::uint32_t slices;
  std::uint32_t inner;
  std::uint32_t src_axis, src_start;
  std::uint32_t dst_axis, dst_start;
};

// dst[o, dst_start + s, i] = src[o, src_start + s, i] for s < slices.
void encode_copy_axis(const Encoder& enc, const Tensor& src,
                      std::int64_t src_start, const Tensor& dst, std::int64_t dst_start,
                      std::int64_t slices, std::int64_t axis, const std::string& label) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const AxisView sv = axis_view(src.shape, axis);
  const AxisView dv = axis_view(dst.shape, axis);
  CopyAxisPush push{};
  push.count = to_u32(sv.outer * slices * sv.inner, label, "copied element count");
  to_u32(numel(src.shape), label, "source element count");
  to_u32(numel(dst.shape), label, "destination element count");
  push.slices = to_u32(slices, label, "slices");
  push.inner = to_u32(sv.inner, label, "inner size");
  push.src_axis = to_u32(sv.axis, label, "source axis size");
  push.src_start = to_u32(src_start, label, "source start");
  push.dst_axis = to_u32(dv.axis, label, "destination axis size");
  push.dst_start = to_u32(dst_start, label, "destination start");
  const gpu::KernelSpec spec{shader_variant(enc, "copy_axis", label), 2, sizeof(CopyAxisPush),
                                   {kLocalSize}};
  recorder.dispatch(kernel_for(enc, spec),
                    {{src.buffer, gpu::Access::read}, {dst.buffer, gpu::Access::write}}, push,
                    gpu::groups_for(push.count, kLocalSize, device), label);
}

}  // namespace

void encode_concat(const Encoder& enc, const std::vector<const Tensor*>& inputs, std::int64_t axis, const Tensor& out,
                   const std::string& label) {
  std::vector<Shape> shapes;
  shapes.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] == nullptr)
      throw InvalidArgument(fmt::format("{}: input {} tensor is missing", label, i));
    shapes.push_back(inputs[i]->shape);
    expect_storage_dtype(label, fmt::format("input {}", i), *inputs[i], enc.precision);
  }
  expect_storage_dtype(label, "output", out, enc.precision);
  const Shape out_shape = concat_output_shape(shapes, axis, label);
  expect_shape(label, "output", out.shape, out_shape);
  const std::int64_t a = normalize_axis(axis, out_shape.size(), label);
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = *inputs[i];
    encode_copy_axis(enc, in, 0, out, offset, in.shape[a], a,
                     fmt::format("{}[{}]", label, i));
    offset += in.shape[a];
  }
}

void encode_slice(const Encoder& enc, const SliceParams& p,
                  const Tensor& input, const Tensor& out, const std::string& label) {
  const Shape out_shape = slice_output_shape(p, input.shape, label);
  expect_shape(label, "output", out.shape, out_shape);
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_storage_dtype(label, "output", out, enc.precision);
  const std::int64_t a = normalize_axis(p.axis, input.shape.size(), label);
  encode_copy_axis(enc, input, p.start, out, 0, p.length, a, label);
}

}  // namespace fusescope::ops
