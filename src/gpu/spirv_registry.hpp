// Embedded SPIR-V: every shader under shaders/ is compiled by glslc at build time and linked
// into the library as an array of words, so nothing is read from disk at run time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace fusescope::gpu {

struct SpirvBlob {
  const char* name;            // file stem under shaders/, e.g. "conv2d"
  const std::uint32_t* words;  // SPIR-V module
  std::size_t word_count;
};

// All embedded shaders (generated table).
std::span<const SpirvBlob* const> embedded_shaders();

// The shader named `name`; throws when there is none (a build or spelling error).
const SpirvBlob& find_shader(std::string_view name);

}  // namespace fusescope::gpu
