// The GLSL text of the built-in kernels and their shared headers (shaders/*.comp, *.glsl),
// embedded at build time beside their SPIR-V (cmake/EmbedShaders.cmake).
//
// Why embedded rather than read from the source tree or an installed share/ folder: the shader
// sandbox must give a user the very source the running kernel was compiled from, and compile an
// edit against the very common.glsl the build used. A source tree may have moved on (or be
// absent, installed), and a share/ folder can belong to another version; the embedded copy is
// always the build's. A user's own files may still #include files beside them (glsl_compiler).
#pragma once
#include <span>
#include <string>
#include <string_view>

namespace fusescope::gpu {

struct GlslSourceFile {
  std::string_view name;  // file name under shaders/: "conv2d.comp", "common.glsl"
  std::string_view text;
};

// Every embedded file (generated table).
std::span<const GlslSourceFile> embedded_glsl_sources();

// shaders/<name> as embedded, or nullptr when there is no such file.
const GlslSourceFile* find_glsl_source(std::string_view name);

// The GLSL source of built-in kernel `shader`: a stem ("conv2d") or an embedded variant's name
// ("conv2d_f16s": the same source, compiled with other defines). Throws std::invalid_argument
// naming the kernels there are when there is no such kernel.
std::string_view builtin_kernel_source(std::string_view shader);

// The stem and precision variant of an embedded kernel's name: "conv2d_f16s" -> {"conv2d",
// "f16s"}, "conv2d_texel_f16" -> {"conv2d", "texel_f16"}, "conv2d_subgroup" -> {"conv2d_subgroup",
// ""}. A suffix counts as a variant only when it is one (f16s, f16, texel, texel_f16s, texel_f16)
// and the stem's source exists.
struct KernelName {
  std::string stem, variant;
};
KernelName split_kernel_name(std::string_view shader);

}  // namespace fusescope::gpu
