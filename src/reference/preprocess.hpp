// The oracle's preprocessing (ops/preprocess.hpp): the network input from the frame's bytes, in
// float64, element by element, from the same params and the same letterbox_geometry(). It shares
// no code with the shader's integer coordinate arithmetic: the source coordinate is computed
// straight from the formula in doubles.
#pragma once
#include <cstdint>
#include <span>

#include "ops/preprocess.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

// frame holds at least ops::preprocess_source_bytes(p) bytes. Returns a tensor of
// ops::preprocess_output_shape(p) (NCHW or NHWC as p.nhwc says), unrounded (p.dtype is ignored:
// the caller rounds to fp16 where the kernel stores fp16).
HostTensor preprocess(const ops::PreprocessParams& p, std::span<const std::uint8_t> frame);

}  // namespace fusescope::reference
