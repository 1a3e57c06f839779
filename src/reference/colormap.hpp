// The oracle's colormap (ops/colormap.hpp): the same image, pixel by pixel, in float64 from the
// same params and the control points of that header. It reads the values the tensor holds, in
// logical NCHW (Executor::read gives exactly that): params.nhwc and params.dtype describe only
// the device bytes, so the caller rounds to fp16 first where the kernel reads fp16 storage.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "ops/colormap.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

// a (and b, required for abs_difference) are 4-D [N > n, channels, height, width].
// Returns one RGBA word per pixel of ops::colormap_image_size(p), row-major.
std::vector<std::uint32_t> colormap(const ops::ColormapParams& p, const HostTensor& a,
                                    const HostTensor* b = nullptr);

// One value's colour by the mapping rules (NaN, infinities, lo == hi included).
std::uint32_t colormap_color(const ops::ColormapParams& p, double v);

// The R, G, B of a non-NaN value before rounding to bytes (sRGB units, 0..255): what a test
// needs to tell a rounding tie (c within a hair of n + 0.5) from a wrong colour.
std::array<double, 3> colormap_rgb_unrounded(const ops::ColormapParams& p, double v);

}  // namespace fusescope::reference
