// The oracle's softmax over one axis (negative counts from the end):
// y = exp(x - max) / sum(exp(x - max)) along that axis, independently for every position of the
// other axes. Subtracting the max changes nothing mathematically and keeps exp from overflowing.
#pragma once
#include "ops/softmax.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor softmax(const ops::SoftmaxParams& p, const HostTensor& input);

}  // namespace fusescope::reference
