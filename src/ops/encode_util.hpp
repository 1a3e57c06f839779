// Helpers shared by the ops' GPU encoders: narrowing shape values into the uint32 push
// constants every shader uses, and the default workgroup size.
#pragma once
#include <bit>
#include <cstdint>
#include <string>

#include "ops/shape.hpp"

namespace fusescope::ops {

// 64 invocations: two waves on AMD's wave32, a warp pair on NVIDIA, eight lavapipe subgroups.
constexpr std::uint32_t kLocalSize = 64;

// Throws InvalidArgument naming the op and value when v does not fit a shader's uint.
std::uint32_t to_u32(std::int64_t v, const std::string& op, const char* what);

inline std::uint32_t float_bits(float f) { return std::bit_cast<std::uint32_t>(f); }

}  // namespace fusescope::ops
