// The `fusescope` command line as one CLI11 app: the global flags and every subcommand. main.cpp
// parses it and turns exceptions into exit codes; the command-line fuzz target
// (tests/fuzz/fuzz_command_line.cpp) parses the same app with the subcommands' actions removed,
// so what it proves about the parser holds for the program users run.
#pragma once
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace fusescope::cli {

// Adds --device, --validation and every subcommand to `app`. A subcommand's callback runs its
// work and stores the exit code in `exit_code`; `global` is filled by the parse.
void add_fusescope_commands(CLI::App& app, GlobalOptions& global, int& exit_code);

}  // namespace fusescope::cli
