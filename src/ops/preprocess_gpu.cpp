#include "ops/preprocess_gpu.hpp"

#include <fmt/format.h>

#include <vector>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {

struct PreprocessPush {
  std::uint32_t count;
  std::uint32_t src_width, src_height;
  std::uint32_t stride, channels;
  std::uint32_t swap;
  std::uint32_t out_width, out_height;
  std::uint32_t content_x, content_y;
  std::uint32_t content_width, content_height;
  std::uint32_t nhwc;
  float scale;
  float pad;
  float mean[3];
  float std[3];
};
// Vulkan guarantees 128 bytes of push constants on every device.
static_assert(sizeof(PreprocessPush) <= 128);

bool overlaps(const gpu::BufferView& x, const gpu::BufferView& y) {
  return x.handle == y.handle && x.offset < y.offset + y.size && y.offset < x.offset + x.size;
}

}  // namespace

std::uint64_t preprocess_frame_buffer_bytes(const PreprocessParams& p) {
  return (static_cast<std::uint64_t>(preprocess_source_bytes(p)) + 3) / 4 * 4;
}

void encode_preprocess(const Encoder& enc, const PreprocessParams& p, const gpu::BufferView& frame,
                       const Tensor& output, const std::string& label) {
  const Shape shape = preprocess_output_shape(p, label);
  const LetterboxGeometry g = letterbox_geometry(p, label);
  expect_shape(label, "output", output.shape, shape);
  if (output.dtype != p.dtype) {
    throw InvalidArgument(fmt::format("{}: output tensor '{}' is {}, but the params say dtype {}", label, output.name,
                                      to_string(output.dtype), to_string(p.dtype)));
  }
  if (output.buffer.size < output.bytes()) {
    throw InvalidArgument(fmt::format("{}: output tensor '{}' has a buffer of {} bytes, smaller than its shape {}",
                                      label, output.name, output.buffer.size, to_string(output.shape)));
  }
  const std::uint64_t frame_bytes = preprocess_frame_buffer_bytes(p);
  if (!frame.valid() || frame.size < frame_bytes) {
    throw InvalidArgument(fmt::format("{}: frame buffer has {} bytes, a {}x{} frame with {} bytes per pixel and "
                                      "stride {} needs {} (rounded up to whole 32-bit words)",
                                      label, frame.size, p.src_width, p.src_height, p.src_channels, p.stride(),
                                      frame_bytes));
  }
  if (overlaps(frame, output.buffer)) {
    throw InvalidArgument(fmt::format("{}: the output tensor '{}' overlaps the frame buffer", label, output.name));
  }

  PreprocessPush push{};
  push.count = to_u32(p.out_width * p.out_height, label, "output pixel count");
  push.src_width = to_u32(p.src_width, label, "source width");
  push.src_height = to_u32(p.src_height, label, "source height");
  push.stride = to_u32(p.stride(), label, "row stride");
  push.channels = to_u32(p.src_channels, label, "bytes per pixel");
  push.swap = p.src_order != p.out_order ? 1u : 0u;
  push.out_width = to_u32(p.out_width, label, "output width");
  push.out_height = to_u32(p.out_height, label, "output height");
  push.content_x = static_cast<std::uint32_t>(g.offset.x);
  push.content_y = static_cast<std::uint32_t>(g.offset.y);
  push.content_width = to_u32(g.content_width, label, "content width");
  push.content_height = to_u32(g.content_height, label, "content height");
  push.nhwc = p.nhwc ? 1u : 0u;
  push.scale = p.scale();
  push.pad = p.pad_value;
  for (int c = 0; c < 3; ++c) {
    push.mean[c] = p.mean[c];
    push.std[c] = p.std[c];
  }

  const Encoder variant_enc{enc.device, enc.recorder,
                            p.dtype == DType::f16 ? Precision::fp16s : Precision::fp32, enc.layout};
  gpu::Device& device = enc.device;
  const gpu::KernelSpec spec{shader_variant(variant_enc, "preprocess", label), 2, sizeof(PreprocessPush),
                             {kLocalSize}};
  enc.recorder.dispatch(kernel_for(enc, spec),
                        {{frame.slice(0, frame_bytes), gpu::Access::read},
                         {output.buffer.slice(0, output.bytes()), gpu::Access::write}},
                        push, gpu::groups_for(push.count, kLocalSize, device), label);
}

gpu::Buffer upload_frame_bytes(gpu::Device& device, std::span<const std::uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) throw InvalidArgument(fmt::format("{}: a frame of 0 bytes", name));
  std::vector<std::uint8_t> padded((bytes.size() + 3) / 4 * 4, 0);
  std::copy(bytes.begin(), bytes.end(), padded.begin());
  gpu::Buffer buffer = device.allocate(padded.size(), name);
  device.upload(buffer.view(), std::as_bytes(std::span(padded)));
  return buffer;
}

void run_preprocess(gpu::Device& device, const PreprocessParams& params, const gpu::BufferView& frame,
                    const gpu::BufferView& out, const std::string& label) {
  const Shape shape = preprocess_output_shape(params, label);
  const Tensor output = view_tensor(out, shape, label + " output", params.dtype);
  gpu::Recorder recorder(device, label);
  encode_preprocess(Encoder{device, recorder}, params, frame, output, label);
  recorder.submit_and_wait();
}

}  // namespace fusescope::ops
