// Run-time GLSL -> SPIR-V for the shader sandbox, with libshaderc: the compiler glslc is built
// on, driven the way cmake/EmbedShaders.cmake drives glslc, so a built-in kernel's source
// compiled here gives the embedded kernel's SPIR-V word for word (tests/test_kernel_sandbox.cpp
// holds every kernel and variant to that):
//   --target-env=vulkan1.1 -O, compute stage, `#include` from shaders/ (here: the embedded copy,
//   gpu/shader_sources.hpp), and per precision variant the same -D defines.
// Includes resolve first beside the including file (a user's own folder), then in the
// `include_dirs` given, then in the embedded shaders/ headers.
#pragma once
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fusescope::gpu {

// One compiler message. line 0: the message names no line (a linker or include error).
struct GlslDiagnostic {
  std::string file;
  int line = 0;
  std::string severity;  // "error" or "warning"
  std::string message;
};

// The source did not compile. what() is every message as "file:line: error: text" lines (what
// the CLI prints); diagnostics() the same as data, so an editor can mark the lines.
class GlslCompileError : public std::runtime_error {
 public:
  GlslCompileError(const std::string& what, std::vector<GlslDiagnostic> diagnostics)
      : std::runtime_error(what), diagnostics_(std::move(diagnostics)) {}
  const std::vector<GlslDiagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<GlslDiagnostic> diagnostics_;
};

struct GlslCompileOptions {
  // A variant as a `// variants:` line names them: "" (fp32), "f16s", "f16", "texel",
  // "texel_f16s" or "texel_f16".
  std::string variant;
  std::vector<std::filesystem::path> include_dirs;
};

// The -D defines of a precision variant, as cmake/EmbedShaders.cmake passes them to glslc
// (FUSESCOPE_SHADER_VARIANT_DEFINES_*). Throws std::invalid_argument for an unknown variant.
std::vector<std::pair<std::string, std::string>> variant_defines(const std::string& variant);

// The variants a shader's `// variants:` line (in its first 4 KiB) lists, as the build reads it.
std::vector<std::string> declared_variants(std::string_view source);

// Compiles a compute shader. `file_name` is what messages call it (and, when it is a path,
// where includes beside it are looked for). Throws GlslCompileError.
std::vector<std::uint32_t> compile_compute_glsl(std::string_view source, const std::string& file_name,
                                                const GlslCompileOptions& options = {});

// Splits shaderc's message text ("f.comp:12: error: 'x' : undeclared identifier\n...") into
// diagnostics; lines it cannot read become line-0 diagnostics, the "N errors generated" tally
// is dropped.
std::vector<GlslDiagnostic> parse_glsl_messages(std::string_view text);

}  // namespace fusescope::gpu
