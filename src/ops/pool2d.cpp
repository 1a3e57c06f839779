#include "ops/pool2d.hpp"

#include <fmt/format.h>

namespace fusescope::ops {

Pool2dParams square_pool(PoolKind kind, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                         bool ceil_mode, bool count_include_pad) {
  Pool2dParams p;
  p.kind = kind;
  p.kernel_h = p.kernel_w = kernel;
  p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.ceil_mode = ceil_mode;
  p.count_include_pad = count_include_pad;
  return p;
}

namespace {

// PyTorch's pooling_output_shape: in ceil mode a window may hang over the bottom/right, but one
// that would start inside that padding (at or past size + pad_begin) covers no real element and
// is dropped.
std::int64_t pooled_size(std::int64_t size, std::int64_t kernel, std::int64_t stride,
                         std::int64_t pad_begin, std::int64_t pad_end, bool ceil_mode) {
  const std::int64_t span = size + pad_begin + pad_end - kernel;
  std::int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= size + pad_begin) --out;
  return out;
}

}  // namespace

Shape pool2d_output_shape(const Pool2dParams& p, const Shape& input, const std::string& name) {
  auto fail = [&](const std::string& what) { throw InvalidArgument(name + ": " + what); };
  if (p.kind != PoolKind::max && p.kind != PoolKind::average)
    fail(fmt::format("kind = {}, expected 0 (max) or 1 (average)",
                     static_cast<std::uint32_t>(p.kind)));
  if (input.size() != 4)
    fail(fmt::format("input has shape {}, expected 4 dimensions N x C x H x W", to_string(input)));
  checked_numel(input, name + ": input");
  if (p.kernel_h <= 0 || p.kernel_w <= 0)
    fail(fmt::format("kernel {}x{}, expected positive sizes", p.kernel_h, p.kernel_w));
  if (p.stride_h <= 0 || p.stride_w <= 0)
    fail(fmt::format("stride {}x{}, expected positive strides", p.stride_h, p.stride_w));
  if (p.pad_top < 0 || p.pad_left < 0 || p.pad_bottom < 0 || p.pad_right < 0)
    fail(fmt::format("padding (top {}, left {}, bottom {}, right {}) must not be negative",
                     p.pad_top, p.pad_left, p.pad_bottom, p.pad_right));
  // Padding up to kernel - 1 (ONNX allows any; PyTorch stops at half the kernel): every window
  // still holds a real element (the first starts at -pad > -kernel; the last, without ceil mode,
  // starts at most at size + pad_end - kernel < size; ceil mode drops windows that start in the
  // end padding). From `kernel` on a window could lie wholly in the padding: max of nothing,
  // average over zero real elements.
  if (p.dilation_h <= 0 || p.dilation_w <= 0)
    fail(fmt::format("dilation {}x{}, expected positive dilations", p.dilation_h, p.dilation_w));
  if (p.kind == PoolKind::average && (p.dilation_h != 1 || p.dilation_w != 1))
    fail(fmt::format("dilation {}x{}: dilated average pooling is not supported (max pooling only)", p.dilation_h,
                     p.dilation_w));
  // The window's span: the kernel itself unless dilated.
  const std::int64_t span_h = (p.kernel_h - 1) * p.dilation_h + 1;
  const std::int64_t span_w = (p.kernel_w - 1) * p.dilation_w + 1;
  if (p.pad_top >= span_h || p.pad_bottom >= span_h || p.pad_left >= span_w || p.pad_right >= span_w)
    fail(fmt::format("padding (top {}, left {}, bottom {}, right {}) is not smaller than kernel {}x{}: a window "
                     "could lie wholly in the padding (expected at most {} vertically and {} horizontally)",
                     p.pad_top, p.pad_left, p.pad_bottom, p.pad_right, span_h, span_w, span_h - 1, span_w - 1));
  const std::int64_t padded_h = input[2] + p.pad_top + p.pad_bottom;
  const std::int64_t padded_w = input[3] + p.pad_left + p.pad_right;
  if (span_h > padded_h || span_w > padded_w)
    fail(fmt::format("kernel {}x{} does not fit input {}x{} after padding (padded {}x{})",
                     span_h, span_w, input[2], input[3], padded_h, padded_w));
  const std::int64_t oh =
      pooled_size(input[2], span_h, p.stride_h, p.pad_top, p.pad_bottom, p.ceil_mode);
  const std::int64_t ow =
      pooled_size(input[3], span_w, p.stride_w, p.pad_left, p.pad_right, p.ceil_mode);
  // A dilated window can step over every real row of a small input: refuse rather than return
  // the max of nothing. (Undilated, the padding rule above already rules it out.)
  auto every_window_has_a_tap = [](std::int64_t out, std::int64_t size, std::int64_t kernel, std::int64_t stride,
                                   std::int64_t pad, std::int64_t dilation) {
    for (std::int64_t o = 0; o < out; ++o) {
      bool any = false;
      for (std::int64_t t = 0; t < kernel && !any; ++t) {
        const std::int64_t i = o * stride - pad + t * dilation;
        any = i >= 0 && i < size;
      }
      if (!any) return false;
    }
    return true;
  };
  if (!every_window_has_a_tap(oh, input[2], p.kernel_h, p.stride_h, p.pad_top, p.dilation_h) ||
      !every_window_has_a_tap(ow, input[3], p.kernel_w, p.stride_w, p.pad_left, p.dilation_w))
    fail(fmt::format("kernel {}x{} with dilation {}x{} on input {}x{}: a window has no tap on the input, only on "
                     "padding", p.kernel_h, p.kernel_w, p.dilation_h, p.dilation_w, input[2], input[3]));
  Shape out{input[0], input[1], oh, ow};
  checked_numel(out, name + ": output");
  return out;
}

Shape global_average_pool_output_shape(const Shape& input, const std::string& name) {
  if (input.size() != 4) {
    throw InvalidArgument(fmt::format("{}: input has shape {}, expected 4 dimensions N x C x H x W",
                                      name, to_string(input)));
  }
  checked_numel(input, name + ": input");
  return {input[0], input[1], 1, 1};
}

}  // namespace fusescope::ops
