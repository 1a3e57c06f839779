// The oracle's 2-D transposed convolution, in float64 and in scatter form — the definition:
// every input pixel adds its value times the kernel to the output window it maps to — so it
// shares no indexing with the gather-form shader. Weight [in_channels, out_channels/groups, kh,
// kw], optional bias [out_channels].
#pragma once
#include "ops/conv_transpose.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor conv_transpose2d(const ops::ConvTranspose2dParams& p, const HostTensor& input, const HostTensor& weight,
                            const HostTensor* bias);

}  // namespace fusescope::reference
