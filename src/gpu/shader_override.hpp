// ShaderOverride: a user's GLSL standing in for a built-in kernel — the shader sandbox's edit,
// or `--kernel-override NODE=FILE.comp`. A KernelSpec that carries one (KernelSpec::
// shader_override) gets a pipeline from this source instead of the embedded SPIR-V, under the
// built-in kernel's own pipeline layout, specialization constants and push constants; the
// executor puts it on the specs of one node's dispatches only (graph::ExecutorOptions::
// kernel_overrides).
//
// The source is compiled per precision variant on first use, with the build's defines (an fp16
// node gets the FS_STORAGE_F16/FS_ARITH_F16 build of the edit, as it gets the built-in's), and
// its interface is checked against the built-in kernel it replaces (gpu/spirv_interface.hpp)
// before any pipeline is made from it. An override is immutable once made: an edit is a new
// ShaderOverride, so a KernelSpec naming the old one still finds the old pipeline, and a failed
// edit leaves whatever ran before untouched.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace fusescope::gpu {

class ShaderOverride {
 public:
  // Compiles `source` for fp32 at once, so a syntax error is reported here (GlslCompileError,
  // with file:line messages) and not at the first dispatch. `file_name` names it in messages and
  // pipeline labels; includes resolve beside it, then in `include_dirs`, then in shaders/.
  ShaderOverride(std::string source, std::string file_name, std::vector<std::filesystem::path> include_dirs = {});

  // Reads and compiles a file; throws std::runtime_error naming it when it cannot be read.
  static std::shared_ptr<const ShaderOverride> from_file(const std::filesystem::path& path);

  const std::string& source() const { return source_; }
  const std::string& file_name() const { return file_name_; }

  // The SPIR-V for a precision variant ("", "f16s", "f16"), compiled on first use and kept.
  // Throws GlslCompileError.
  std::span<const std::uint32_t> spirv(const std::string& variant) const;

  // The SPIR-V to run in place of built-in kernel `shader` ("conv2d", "conv2d_subgroup_f16s"):
  // that kernel's variant of this source, after checking that its descriptors and push constants
  // fit the built-in's pipeline layout. Throws KernelInterfaceMismatch naming the file, the
  // kernel and each binding that differs (expected vs found), or GlslCompileError.
  std::span<const std::uint32_t> spirv_replacing(const std::string& shader) const;

 private:
  std::string source_, file_name_;
  std::vector<std::filesystem::path> include_dirs_;
  mutable std::mutex mutex_;  // compiled_: executors on several threads may ask at once
  mutable std::map<std::string, std::vector<std::uint32_t>> compiled_;
};

}  // namespace fusescope::gpu
