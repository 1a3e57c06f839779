#include "ops/colormap_gpu.hpp"

#include <fmt/format.h>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {

struct ColormapPush {
  std::uint32_t count;
  std::uint32_t image_width;
  std::uint32_t channels, height, width;
  std::uint32_t base;
  std::uint32_t channel_begin, channel_count, grid_columns, gap;
  std::uint32_t nhwc;
  std::uint32_t abs_difference;
  float lo, hi;
  std::uint32_t stop_count;
  std::uint32_t nan_word, background_word;
  std::uint32_t stops[kMaxColorStops];
};
// Vulkan guarantees 128 bytes of push constants on every device.
static_assert(sizeof(ColormapPush) <= 128);

void check_input(const std::string& label, const char* what, const Tensor& t, const ColormapParams& p) {
  if (t.dtype != p.dtype) {
    throw InvalidArgument(fmt::format("{}: {} tensor '{}' is {}, but the params say dtype {}", label, what,
                                      t.name, to_string(t.dtype), to_string(p.dtype)));
  }
  if (t.shape.size() == 4) {
    if (t.shape[1] != p.channels || t.shape[2] != p.height || t.shape[3] != p.width || p.n >= t.shape[0]) {
      throw InvalidArgument(fmt::format("{}: {} tensor '{}' has shape {}, but the params ask for batch item "
                                        "{} of a [N, {}, {}, {}] tensor",
                                        label, what, t.name, to_string(t.shape), p.n, p.channels, p.height,
                                        p.width));
    }
  } else {
    if (p.nhwc) {
      throw InvalidArgument(fmt::format("{}: {} tensor '{}' has rank {}; only 4-D tensors are stored NHWC",
                                        label, what, t.name, t.shape.size()));
    }
    if (numel(t.shape) < (p.n + 1) * p.channels * p.height * p.width) {
      throw InvalidArgument(fmt::format("{}: {} tensor '{}' of shape {} has fewer than the (n + 1) * C * H * "
                                        "W = {} elements the params read",
                                        label, what, t.name, to_string(t.shape),
                                        (p.n + 1) * p.channels * p.height * p.width));
    }
  }
  if (t.buffer.size < static_cast<std::uint64_t>(numel(t.shape) * dtype_bytes(t.dtype))) {
    throw InvalidArgument(fmt::format("{}: {} tensor '{}' has a buffer of {} bytes, smaller than its shape {}",
                                      label, what, t.name, t.buffer.size, to_string(t.shape)));
  }
}

bool overlaps(const gpu::BufferView& x, const gpu::BufferView& y) {
  return x.handle == y.handle && x.offset < y.offset + y.size && y.offset < x.offset + x.size;
}

}  // namespace

void encode_colormap(const Encoder& enc, const Tensor& a, const Tensor* b, const ColormapParams& p,
                     const gpu::BufferView& out_rgba, const std::string& label) {
  const ColormapImage image = colormap_image_size(p, label);
  const bool diff = p.source == ColormapSource::abs_difference;
  check_input(label, "a", a, p);
  if (diff) {
    if (b == nullptr) {
      throw InvalidArgument(fmt::format("{}: source abs_difference needs a second tensor b", label));
    }
    check_input(label, "b", *b, p);
  }
  const std::uint64_t out_bytes = static_cast<std::uint64_t>(image.pixels()) * 4;
  if (!out_rgba.valid() || out_rgba.size < out_bytes) {
    throw InvalidArgument(fmt::format("{}: output buffer has {} bytes, the {}x{} image needs {}", label,
                                      out_rgba.size, image.width, image.height, out_bytes));
  }
  if (overlaps(out_rgba, a.buffer) || (diff && overlaps(out_rgba, b->buffer))) {
    throw InvalidArgument(fmt::format("{}: the output buffer overlaps an input tensor", label));
  }

  ColormapPush push{};
  push.count = to_u32(image.pixels(), label, "pixel count");
  push.image_width = to_u32(image.width, label, "image width");
  push.channels = to_u32(p.channels, label, "channels");
  push.height = to_u32(p.height, label, "height");
  push.width = to_u32(p.width, label, "width");
  const std::int64_t item = p.channels * p.height * p.width;
  to_u32((p.n + 1) * item, label, "elements up to batch item n");
  push.base = static_cast<std::uint32_t>(p.n * item);
  push.channel_begin = to_u32(p.channel_begin, label, "channel_begin");
  push.channel_count = to_u32(p.channel_count, label, "channel_count");
  push.grid_columns = to_u32(p.grid_columns, label, "grid_columns");
  // tile + gap is a divisor in the kernel.
  to_u32(p.width + p.gap, label, "tile width + gap");
  to_u32(p.height + p.gap, label, "tile height + gap");
  push.gap = static_cast<std::uint32_t>(p.gap);
  push.nhwc = p.nhwc ? 1u : 0u;
  push.abs_difference = diff ? 1u : 0u;
  push.lo = p.lo;
  push.hi = p.hi;
  const std::span<const ColorStop> stops = color_stops(p.map);
  push.stop_count = static_cast<std::uint32_t>(stops.size());
  for (std::size_t i = 0; i < stops.size(); ++i) push.stops[i] = rgba_word(stops[i].r, stops[i].g, stops[i].b, 0);
  push.nan_word = kColormapNaN;
  push.background_word = kColormapBackground;

  // The variant follows the tensors' dtype, not enc.precision (f16 storage, fp32 arithmetic).
  const Encoder variant_enc{enc.device, enc.recorder,
                            p.dtype == DType::f16 ? Precision::fp16s : Precision::fp32, enc.layout};
  gpu::Device& device = enc.device;
  const gpu::KernelSpec spec{shader_variant(variant_enc, "colormap", label), 3, sizeof(ColormapPush),
                             {kLocalSize}};
  const gpu::BufferView b_view = diff ? b->buffer : device.placeholder_buffer();
  enc.recorder.dispatch(kernel_for(enc, spec),
                        {{a.buffer, gpu::Access::read}, {b_view, gpu::Access::read},
                         {out_rgba.slice(0, out_bytes), gpu::Access::write}},
                        push, gpu::groups_for(push.count, kLocalSize, device), label);
}

void run_colormap(gpu::Device& device, const gpu::BufferView& a, const gpu::BufferView* b,
                  const ColormapParams& params, const gpu::BufferView& out_rgba, const std::string& label) {
  colormap_image_size(params, label);  // checked before the shapes below use the params
  const Shape shape{params.n + 1, params.channels, params.height, params.width};
  const Tensor ta = view_tensor(a, shape, label + " a", params.dtype);
  Tensor tb;
  if (params.source == ColormapSource::abs_difference) {
    if (b == nullptr) {
      throw InvalidArgument(fmt::format("{}: source abs_difference needs a second buffer b", label));
    }
    tb = view_tensor(*b, shape, label + " b", params.dtype);
  }
  gpu::Recorder recorder(device, label);
  encode_colormap(Encoder{device, recorder}, ta, b != nullptr ? &tb : nullptr, params, out_rgba, label);
  recorder.submit_and_wait();
}

}  // namespace fusescope::ops
