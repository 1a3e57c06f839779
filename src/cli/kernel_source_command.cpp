// `fusescope kernel-source KERNEL`: the GLSL a built-in kernel was compiled from (embedded in the
// binary, gpu/shader_sources.hpp), to start an edit from — the shader sandbox's "open the
// node's kernel". `--list` names the kernels. `-o FILE` writes it instead of printing.
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "gpu/shader_sources.hpp"

namespace fusescope::cli {

namespace {

struct KernelSourceOptions {
  std::string kernel;
  bool list = false;
  std::string output;
};

int run_kernel_source(const KernelSourceOptions& o) {
  if (o.list || o.kernel.empty()) {
    for (const gpu::GlslSourceFile& f : gpu::embedded_glsl_sources()) fmt::print("{}\n", f.name);
    return 0;
  }
  std::string_view text;
  try {
    text = gpu::builtin_kernel_source(o.kernel);
  } catch (const std::invalid_argument& e) {
    throw ops::InvalidArgument(e.what());
  }
  if (o.output.empty()) {
    fmt::print("{}", text);
    return 0;
  }
  write_file_atomically(o.output, std::string(text));
  fmt::print("wrote {} ({} bytes)\n", o.output, text.size());
  return 0;
}

}  // namespace

void add_kernel_source_command(CLI::App& app, GlobalOptions& /*global*/, int& exit_code) {
  auto o = std::make_shared<KernelSourceOptions>();
  CLI::App* cmd = app.add_subcommand("kernel-source", "Print the GLSL source of a built-in kernel, to start an edit from");
  cmd->add_option("KERNEL", o->kernel, "A kernel's name (conv2d, conv2d_gemm, ...; a variant name like conv2d_f16s too)");
  cmd->add_flag("--list", o->list, "List the embedded shader files");
  add_output_option(cmd, o->output, "Write the source to this file instead of printing it");
  cmd->callback([&exit_code, o] { exit_code = run_kernel_source(*o); });
}

}  // namespace fusescope::cli
