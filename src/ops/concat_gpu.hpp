// Encodes concatenation along an axis (one copy dispatch per input) and slicing a range of one
// axis (one copy dispatch).
#pragma once
#include <string>
#include <vector>

#include "ops/concat.hpp"
#include "ops/tensor.hpp"

namespace fusescope::gpu {
class Device;
class Recorder;
}  // namespace fusescope::gpu

namespace fusescope::ops {

// out must have concat_output_shape of the inputs' shapes; it must not share memory with any
// input. Each input's dispatch is labelled "<label>[i]".
void encode_concat(gpu::Device& device, gpu::Recorder& recorder,
                   const std::vector<const Tensor*>& inputs, std::int64_t axis, const Tensor& out,
                   const std::string& label = "concat");

// out must have slice_output_shape(params, input.shape).
void encode_slice(gpu::Device& device, gpu::Recorder& recorder, const SliceParams& params,
                  const Tensor& input, const Tensor& out, const std::string& label = "slice");

}  // namespace fusescope::ops
