// The oracle's pad (ONNX Pad, numpy.pad): constant fills with the value, reflect mirrors about
// the edge element without repeating it, edge repeats the edge element. Output shape is
// ops::pad_output_shape.
#pragma once
#include "ops/pad.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor pad(const ops::PadParams& p, const HostTensor& input);

}  // namespace fusescope::reference
