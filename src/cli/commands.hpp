// The `fusescope` subcommands. Each returns the process exit code: 0 success, 1 a failed
// check or runtime error, 2 a usage error (reported by CLI11 in main).
#pragma once
#include <optional>

#include <CLI/CLI.hpp>

namespace fusescope::cli {

struct GlobalOptions {
  std::optional<int> device;  // --device N (else $FUSESCOPE_DEVICE, else the best device)
  bool validation = false;    // --validation: Khronos validation layer on, messages are errors
  bool quiet = false;         // --quiet: no progress line, even on a terminal (cli/progress_line.hpp)
};

void add_devices_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_demo_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_models_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_run_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_compare_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_bench_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_export_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_preprocess_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_gui_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_detect_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_kernel_check_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_kernel_source_command(CLI::App& app, GlobalOptions& global, int& exit_code);

}  // namespace fusescope::cli
