// The oracle's ReduceMean: for every output coordinate, the float64 mean of the input elements
// that agree with it on the kept axes. The output shape is ops::reduce_mean_output_shape; the
// walk is done here, over input coordinates, so it shares no index arithmetic with the
// kernel's kept/reduced strides.
#pragma once
#include "ops/reduce_mean.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor reduce_mean(const ops::ReduceMeanParams& p, const HostTensor& input);

}  // namespace fusescope::reference
