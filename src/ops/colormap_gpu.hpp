// Encodes the colormap (ops/colormap.hpp) as one dispatch: batch item params.n of `a` (and `b`
// for abs_difference) becomes colormap_image_size(params) RGBA8 pixels in `out_rgba`, straight
// from device memory. It reads params.nhwc and params.dtype, not the encoder's layout and
// precision: the picture follows how the tensor's bytes lie (Executor::stored_layout, the
// tensor's dtype), whatever the recorder around it runs.
#pragma once
#include <string>

#include "gpu/buffer.hpp"
#include "ops/colormap.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::gpu {
class Device;
}

namespace fusescope::ops {

// a (and b) must be params.dtype and hold batch item params.n: a 4-D tensor of logical shape
// [N > n, channels, height, width], or any other rank with at least (n + 1) * C * H * W
// elements (read as NCHW; params.nhwc must then be false). b is required for abs_difference
// (same shape and dtype as a) and ignored otherwise. out_rgba needs 4 bytes per pixel and must
// not overlap a or b. Throws InvalidArgument naming `label` on any mismatch.
void encode_colormap(const Encoder& enc, const Tensor& a, const Tensor* b, const ColormapParams& params,
                     const gpu::BufferView& out_rgba, const std::string& label = "colormap");

// One-shot: records the colormap of raw buffers (a and b hold at least (n + 1) * C * H * W
// elements of params.dtype), submits, waits. For a picture outside any executor recording.
void run_colormap(gpu::Device& device, const gpu::BufferView& a, const gpu::BufferView* b,
                  const ColormapParams& params, const gpu::BufferView& out_rgba,
                  const std::string& label = "colormap");

}  // namespace fusescope::ops
