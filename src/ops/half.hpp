// IEEE 754 binary16 conversions on the host, round to nearest even, with subnormals, infinities
// and NaN — used to upload fp16 tensors and read them back, and by the at-risk channel check.
#pragma once
#include <cstdint>

namespace fusescope::ops {

std::uint16_t float_to_half(float value);
float half_to_float(std::uint16_t bits);

constexpr float kHalfMax = 65504.0f;             // largest finite fp16
constexpr float kHalfMinNormal = 6.103515625e-05f;  // 2^-14: below it fp16 loses precision

}  // namespace fusescope::ops
