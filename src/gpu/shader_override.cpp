#include "gpu/shader_override.hpp"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "gpu/error.hpp"
#include "gpu/glsl_compiler.hpp"
#include "gpu/shader_sources.hpp"
#include "gpu/spirv_interface.hpp"
#include "gpu/spirv_registry.hpp"

namespace fusescope::gpu {

namespace {

// A kernel source's specialization constants by id, as `layout(constant_id = N) const T NAME`.
std::map<std::uint32_t, std::string> constant_names(std::string_view source) {
  static const std::regex declaration(
      R"(layout[ \t]*\([ \t]*constant_id[ \t]*=[ \t]*([0-9]+)[ \t]*\)[ \t]*const[ \t]+\w+[ \t]+(\w+))");
  const std::string text(source);
  std::map<std::uint32_t, std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), declaration); it != std::sregex_iterator(); ++it)
    names[static_cast<std::uint32_t>(std::stoul((*it)[1].str()))] = (*it)[2].str();
  return names;
}

// The specialization constants a kernel's source lets an edit leave out, by its
// `// an edit may omit: NAME ...` lines: those that only make the same computation faster
// (conv2d's FIXED_KH, FIXED_KW, ROW_WINDOW_STRIDE), as ids.
std::vector<std::uint32_t> omittable_constants(std::string_view source,
                                               const std::map<std::uint32_t, std::string>& names) {
  static const std::regex line(R"(//[ \t]*an edit may omit:([^\n]*))");
  static const std::regex word(R"(\w+)");
  const std::string text(source);
  std::vector<std::uint32_t> ids;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator(); ++it) {
    const std::string listed = (*it)[1].str();
    for (auto w = std::sregex_iterator(listed.begin(), listed.end(), word); w != std::sregex_iterator(); ++w) {
      for (const auto& [id, name] : names)
        if (name == w->str()) ids.push_back(id);
    }
  }
  return ids;
}

}  // namespace

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
  const std::string_view builtin_source = builtin_kernel_source(shader);
  const std::map<std::uint32_t, std::string> names = constant_names(builtin_source);
  const std::vector<std::string> mismatches =
      interface_mismatches(reflect_spirv_interface({builtin.words, builtin.word_count}), reflect_spirv_interface(words),
                           omittable_constants(builtin_source, names), names);
  if (!mismatches.empty()) {
    std::string listed;
    for (const std::string& m : mismatches) listed += "; " + m;
    throw KernelInterfaceMismatch(fmt::format("{} cannot replace kernel {}: its interface differs{} (an edit must "
                                              "keep the built-in kernel's bindings, push-constant block and "
                                              "specialization constants; start from its current source: "
                                              "`fusescope kernel-source {}`)",
                                              file_name_, shader, listed, split_kernel_name(shader).stem));
  }
  return words;
}

}  // namespace fusescope::gpu
