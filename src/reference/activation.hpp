// The oracle's activation functions: each ops::ActivationKind evaluated in double straight from its
// textbook definition (the formulas are listed next to the enum in ops/activation.hpp), applied to
// one value or elementwise to a whole tensor. Conv, BN and GEMM epilogues reuse apply_activation so
// that every op in the oracle agrees on what "relu6" or "gelu" means.
#pragma once
#include "ops/activation.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

double apply_activation(double x, const ops::Activation& act);

HostTensor activation(const HostTensor& input, const ops::Activation& act);

}  // namespace fusescope::reference
