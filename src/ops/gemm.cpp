#include "ops/gemm.hpp"

#include <fmt/format.h>

namespace fusescope::ops {

Shape gemm_weight_shape(const GemmParams& p) {
  return p.transpose_weight ? Shape{p.out_features, p.in_features}
                            : Shape{p.in_features, p.out_features};
}

Shape gemm_output_shape(const GemmParams& p, const Shape& input, const std::string& name) {
  if (p.in_features <= 0 || p.out_features <= 0) {
    throw InvalidArgument(fmt::format("{}: in_features {} and out_features {} must be positive",
                                      name, p.in_features, p.out_features));
  }
  if (static_cast<std::uint32_t>(p.activation.kind) >
      static_cast<std::uint32_t>(ActivationKind::hard_swish_affine)) {
    throw InvalidArgument(fmt::format("{}: activation kind = {}, expected 0..{}", name,
                                      static_cast<std::uint32_t>(p.activation.kind),
                                      static_cast<std::uint32_t>(ActivationKind::hard_swish_affine)));
  }
  if (input.size() < 2) {
    throw InvalidArgument(fmt::format("{}: input has shape {}, expected at least 2 dimensions "
                                      "(M x K, or M x ... with trailing dims flattening to K)",
                                      name, to_string(input)));
  }
  checked_numel(input, name + ": input");
  std::int64_t k = 1;
  for (std::size_t d = 1; d < input.size(); ++d) k *= input[d];
  if (k != p.in_features) {
    throw InvalidArgument(fmt::format("{}: input has shape {}, whose trailing dims flatten to K = "
                                      "{}, expected in_features = {}",
                                      name, to_string(input), k, p.in_features));
  }
  Shape out{input[0], p.out_features};
  checked_numel(out, name + ": output");
  return out;
}

}  // namespace fusescope::ops
