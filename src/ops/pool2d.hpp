// Max and average pooling over H and W of NCHW, and global average pooling.
#pragma once
#include <cstdint>

#include "ops/shape.hpp"

namespace fusescope::ops {

enum class PoolKind : std::uint32_t { max = 0, average = 1 };

struct Pool2dParams {
  PoolKind kind = PoolKind::max;
  std::int64_t kernel_h = 2, kernel_w = 2;
  std::int64_t stride_h = 2, stride_w = 2;
  std::int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  // Max pooling only (ONNX MaxPool-10+): the window's taps lie `dilation` apart, spanning
  // (kernel - 1) * dilation + 1 input rows (columns).
  std::int64_t dilation_h = 1, dilation_w = 1;
  // PyTorch/ONNX ceil_mode: the last window may hang over the padded input, but a window that
  // starts inside the bottom/right padding is dropped.
  bool ceil_mode = false;
  // Average: count padded positions (within the padded input only) in the divisor.
  bool count_include_pad = false;
};

// A square window with symmetric padding — how nearly every network writes its pools.
Pool2dParams square_pool(PoolKind kind, std::int64_t kernel, std::int64_t stride, std::int64_t pad = 0,
                         bool ceil_mode = false, bool count_include_pad = false);

// Padding must be smaller than the kernel's span (PyTorch asks for at most half the kernel), and
// no window may lie wholly in the padding (for a dilated window: have no tap on the input);
// kernel >= 1, stride >= 1, dilation >= 1 and 1 for average pooling.
Shape pool2d_output_shape(const Pool2dParams& p, const Shape& input, const std::string& name = "pool2d");

// [N, C, H, W] -> [N, C, 1, 1]
Shape global_average_pool_output_shape(const Shape& input, const std::string& name = "global_average_pool");

}  // namespace fusescope::ops
