#include "gpu/glsl_compiler.hpp"

#include <fmt/format.h>
#include <shaderc/shaderc.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "gpu/shader_sources.hpp"

namespace fusescope::gpu {

namespace {

// What shaderc asks for an #include: beside the including file, then the caller's folders, then
// the embedded shaders/ headers (where the build's glslc -I shaders/ finds common.glsl).
class Includer : public shaderc::CompileOptions::IncluderInterface {
 public:
  explicit Includer(std::vector<std::filesystem::path> dirs) : dirs_(std::move(dirs)) {}

  shaderc_include_result* GetInclude(const char* requested, shaderc_include_type type, const char* requesting,
                                     size_t /*depth*/) override {
    auto found = std::make_unique<Found>();
    std::vector<std::filesystem::path> candidates;
    if (type == shaderc_include_type_relative) {
      const std::filesystem::path from(requesting);
      if (from.has_parent_path()) candidates.push_back(from.parent_path() / requested);
    }
    for (const auto& dir : dirs_) candidates.push_back(dir / requested);
    for (const auto& path : candidates) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) continue;
      std::ifstream in(path, std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      found->name = path.string();
      found->content = text.str();
      return found.release()->result();
    }
    if (const GlslSourceFile* f = find_glsl_source(requested)) {
      found->name = std::string(f->name);
      found->content = std::string(f->text);
      return found.release()->result();
    }
    // An empty name tells shaderc the include failed; the content is its message.
    found->content = fmt::format("cannot find '{}' beside {}, in the include folders or among the built-in "
                                 "headers of shaders/",
                                 requested, requesting);
    return found.release()->result();
  }

  void ReleaseInclude(shaderc_include_result* data) override { delete static_cast<Found*>(data->user_data); }

 private:
  struct Found {
    std::string name, content;
    shaderc_include_result r{};
    shaderc_include_result* result() {
      r.source_name = name.c_str();
      r.source_name_length = name.size();
      r.content = content.c_str();
      r.content_length = content.size();
      r.user_data = this;
      return &r;
    }
  };
  std::vector<std::filesystem::path> dirs_;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> variant_defines(const std::string& variant) {
  // Keep in step with FUSESCOPE_SHADER_VARIANT_DEFINES_* in cmake/EmbedShaders.cmake; the
  // sandbox test compiles every embedded variant here and compares the words.
  if (variant.empty()) return {};
  if (variant == "f16s") return {{"FS_STORAGE_F16", "1"}};
  if (variant == "f16") return {{"FS_STORAGE_F16", "1"}, {"FS_ARITH_F16", "1"}};
  if (variant.starts_with("texel")) {
    auto defines = variant_defines(variant == "texel" ? "" : variant.substr(std::string("texel_").size()));
    defines.insert(defines.begin(), {"FS_TEXEL_READS", "1"});
    return defines;
  }
  throw std::invalid_argument(
      fmt::format("unknown shader variant '{}' (known: f16s f16 texel texel_f16s texel_f16)", variant));
}

std::vector<std::string> declared_variants(std::string_view source) {
  static const std::regex line(R"(^[ \t]*//[ \t]*variants:(.*)$)");
  static const std::regex word(R"([^ \t,]+)");
  std::vector<std::string> out;
  std::istringstream in(std::string(source.substr(0, 4096)));
  std::string text;
  while (std::getline(in, text)) {
    std::smatch m;
    if (!std::regex_match(text, m, line)) continue;
    const std::string listed = m[1].str();
    for (auto it = std::sregex_iterator(listed.begin(), listed.end(), word); it != std::sregex_iterator(); ++it) {
      if (std::find(out.begin(), out.end(), it->str()) == out.end()) out.push_back(it->str());
    }
  }
  return out;
}

std::vector<GlslDiagnostic> parse_glsl_messages(std::string_view text) {
  static const std::regex with_line(R"(^(.*?):([0-9]+): (error|warning): (.*)$)");
  static const std::regex without_line(R"(^(.*?): (error|warning): (.*)$)");
  static const std::regex tally(R"(^[0-9]+ (error|warning)s? generated\.$)");
  std::vector<GlslDiagnostic> out;
  std::istringstream in{std::string(text)};
  std::string s;
  while (std::getline(in, s)) {
    if (!s.empty() && s.back() == '\r') s.pop_back();
    if (s.empty() || std::regex_match(s, tally)) continue;
    std::smatch m;
    if (std::regex_match(s, m, with_line)) {
      out.push_back({m[1].str(), std::stoi(m[2].str()), m[3].str(), m[4].str()});
    } else if (std::regex_match(s, m, without_line)) {
      out.push_back({m[1].str(), 0, m[2].str(), m[3].str()});
    } else {
      out.push_back({"", 0, "error", s});
    }
  }
  return out;
}

std::vector<std::uint32_t> compile_compute_glsl(std::string_view source, const std::string& file_name,
                                                const GlslCompileOptions& options) {
  shaderc::CompileOptions co;
  co.SetTargetEnvironment(shaderc_target_env_vulkan, shaderc_env_version_vulkan_1_1);
  co.SetOptimizationLevel(shaderc_optimization_level_performance);  // glslc -O
  for (const auto& [name, value] : variant_defines(options.variant)) co.AddMacroDefinition(name, value);
  co.SetIncluder(std::make_unique<Includer>(options.include_dirs));
  shaderc::Compiler compiler;
  if (!compiler.IsValid()) throw std::runtime_error("libshaderc could not create a compiler");
  const shaderc::SpvCompilationResult result = compiler.CompileGlslToSpv(
      source.data(), source.size(), shaderc_compute_shader, file_name.c_str(), "main", co);
  if (result.GetCompilationStatus() != shaderc_compilation_status_success) {
    std::vector<GlslDiagnostic> diagnostics = parse_glsl_messages(result.GetErrorMessage());
    std::erase_if(diagnostics, [](const GlslDiagnostic& d) { return d.severity != "error"; });
    std::string what;
    for (const GlslDiagnostic& d : diagnostics) {
      what += (what.empty() ? "" : "\n") + (d.line > 0 ? fmt::format("{}:{}: error: {}", d.file, d.line, d.message)
                                                       : fmt::format("{}{}error: {}", d.file, d.file.empty() ? "" : ": ",
                                                                     d.message));
    }
    if (what.empty()) what = fmt::format("{}: the shader did not compile (shaderc status {})", file_name,
                                         static_cast<int>(result.GetCompilationStatus()));
    throw GlslCompileError(what, std::move(diagnostics));
  }
  return {result.cbegin(), result.cend()};
}

}  // namespace fusescope::gpu
