// The oracle's concatenation and slicing along one axis (negative counts from the end): concat
// joins tensors that agree on every other dim, in order; slice keeps `length` elements of one axis
// starting at `start`. Output shapes are ops::concat_output_shape / ops::slice_output_shape.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/concat.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor concat(const std::vector<const HostTensor*>& inputs, std::int64_t axis);

HostTensor slice(const ops::SliceParams& p, const HostTensor& input);

}  // namespace fusescope::reference
