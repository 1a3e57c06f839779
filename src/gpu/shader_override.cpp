#include "gpu/shader_override.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "gpu/error.hpp"
#include "gpu/glsl_compiler.hpp"
#include "gpu/shader_sources.hpp"
#include "gpu/spirv_interface.hpp"
#include "gpu/spirv_registry.hpp"

namespace fusescope::gpu {

ShaderOverride::ShaderOverride(std::string source, std::string file_name, std::vector<std::filesystem::path> include_dirs)
    : source_(std::move(source)), file_name_(std::move(file_name)), include_dirs_(std::move(include_dirs)) {
  spirv("");
}

std::shared_ptr<const ShaderOverride> ShaderOverride::from_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: no such file (or it cannot be read)", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return std::make_shared<const ShaderOverride>(text.str(), path.string());
}

std::span<const std::uint32_t> ShaderOverride::spirv(const std::string& variant) const {
  std::lock_guard lock(mutex_);
  auto it = compiled_.find(variant);
  if (it == compiled_.end()) {
    GlslCompileOptions options;
    options.variant = variant;
    options.include_dirs = include_dirs_;
    it = compiled_.emplace(variant, compile_compute_glsl(source_, file_name_, options)).first;
  }
  return it->second;  // map nodes stay put: the span outlives later insertions
}

std::span<const std::uint32_t> ShaderOverride::spirv_replacing(const std::string& shader) const {
  const SpirvBlob& builtin = find_shader(shader);
  const std::span<const std::uint32_t> words = spirv(split_kernel_name(shader).variant);
  const std::vector<std::string> mismatches =
      interface_mismatches(reflect_spirv_interface({builtin.words, builtin.word_count}), reflect_spirv_interface(words));
  if (!mismatches.empty()) {
    std::string listed;
    for (const std::string& m : mismatches) listed += "; " + m;
    throw KernelInterfaceMismatch(fmt::format("{} cannot replace kernel {}: its interface differs{} (an edit must "
                                              "keep the built-in kernel's bindings and push-constant block; "
                                              "start from its source)",
                                              file_name_, shader, listed));
  }
  return words;
}

}  // namespace fusescope::gpu
