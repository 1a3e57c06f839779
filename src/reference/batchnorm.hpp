// The oracle's inference BatchNorm: y = (x - mean) / sqrt(var + eps) * gamma + beta per channel,
// channel axis 1 of a tensor of any rank >= 2, then an optional activation. The statistics come as
// one [4, C] tensor with rows gamma, beta, running mean, running var (the kernel's binding layout).
// It evaluates the unfolded formula on purpose: folded kernels are judged against it.
#pragma once
#include "ops/activation.hpp"
#include "ops/batchnorm.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor batchnorm(const ops::BatchNormParams& p, const HostTensor& input,
                     const HostTensor& stats, const ops::Activation& act = {});

}  // namespace fusescope::reference
