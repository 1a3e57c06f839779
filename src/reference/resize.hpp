// The oracle's resize of H and W of NCHW: nearest (four rounding rules) and bilinear, with
// ONNX Resize's five coordinate transformations, in float64 straight from the ONNX operator
// text (output size and scales from ops::ResizeParams).
#pragma once
#include "ops/resize.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor resize(const ops::ResizeParams& p, const HostTensor& input);

}  // namespace fusescope::reference
