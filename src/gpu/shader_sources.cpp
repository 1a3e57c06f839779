#include "gpu/shader_sources.hpp"

#include <stdexcept>
#include <string>

namespace fusescope::gpu {

const GlslSourceFile* find_glsl_source(std::string_view name) {
  for (const GlslSourceFile& f : embedded_glsl_sources()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

KernelName split_kernel_name(std::string_view shader) {
  // Longest first: "conv2d_texel_f16" also ends in "_f16".
  for (std::string_view variant : {"texel_f16s", "texel_f16", "texel", "f16s", "f16"}) {
    const std::string suffix = "_" + std::string(variant);
    if (shader.size() > suffix.size() && shader.ends_with(suffix)) {
      const std::string stem(shader.substr(0, shader.size() - suffix.size()));
      if (find_glsl_source(stem + ".comp") != nullptr) return {stem, std::string(variant)};
    }
  }
  return {std::string(shader), ""};
}

std::string_view builtin_kernel_source(std::string_view shader) {
  const KernelName k = split_kernel_name(shader);
  if (const GlslSourceFile* f = find_glsl_source(k.stem + ".comp")) return f->text;
  std::string known;
  for (const GlslSourceFile& f : embedded_glsl_sources()) {
    if (!f.name.ends_with(".comp")) continue;
    known += (known.empty() ? "" : ", ") + std::string(f.name.substr(0, f.name.size() - 5));
  }
  throw std::invalid_argument("no built-in kernel named '" + std::string(shader) + "' (there are: " + known + ")");
}

}  // namespace fusescope::gpu
