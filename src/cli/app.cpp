#include "cli/app.hpp"

#include <fmt/format.h>

#include "cli/build_info.hpp"
#include "gpu/device.hpp"

namespace fusescope::cli {

namespace {

// A bug report needs all three: what was built, from which commit, and which Vulkan loader ran it.
std::string version_text() {
  std::string loader;
  try {
    loader = gpu::api_version_string(gpu::loader_api_version());
  } catch (const std::exception& e) {
    loader = fmt::format("unknown ({})", e.what());
  }
  return fmt::format("fusescope {}\ncommit {}\nVulkan loader {}", build_version(), build_commit(), loader);
}

}  // namespace

void add_fusescope_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  app.require_subcommand(1);
  app.fallthrough();  // global options (--device, --validation) may follow the subcommand
  app.add_option("--device", global.device,
                 "Vulkan device index from `fusescope devices` (default: $FUSESCOPE_DEVICE, "
                 "else discrete > integrated > virtual > CPU)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--validation", global.validation,
               "Enable the Khronos validation layer; any message it reports fails the command");
  app.add_flag("-q,--quiet", global.quiet,
               "No progress line on stderr (it is drawn only when stderr is a terminal anyway)");
  app.set_version_flag("--version", version_text,
                       "Print the version, the git commit it was built from and the Vulkan loader version");
  add_devices_command(app, global, exit_code);
  add_demo_command(app, global, exit_code);
  add_models_command(app, global, exit_code);
  add_run_command(app, global, exit_code);
  add_compare_command(app, global, exit_code);
  add_bench_command(app, global, exit_code);
  add_export_command(app, global, exit_code);
  add_preprocess_command(app, global, exit_code);
  add_gui_command(app, global, exit_code);
  add_detect_command(app, global, exit_code);
  add_kernel_check_command(app, global, exit_code);
  add_kernel_source_command(app, global, exit_code);
}

}  // namespace fusescope::cli
