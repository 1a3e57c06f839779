#include "cli/app.hpp"

namespace fusescope::cli {

void add_fusescope_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  app.require_subcommand(1);
  app.fallthrough();  // global options (--device, --validation) may follow the subcommand
  app.add_option("--device", global.device,
                 "Vulkan device index from `fusescope devices` (default: $FUSESCOPE_DEVICE, "
                 "else discrete > integrated > virtual > CPU)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--validation", global.validation,
               "Enable the Khronos validation layer; any message it reports fails the command");
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
}

}  // namespace fusescope::cli
