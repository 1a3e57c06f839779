// Writes the bash completion script for `fusescope` to stdout, generated at build time from the
// very CLI11 app the program parses (src/cli/app.cpp) and the zoo (models::zoo()), so a new flag,
// subcommand or model completes without anyone editing a hand-kept list. Hidden options (the
// older spellings kept for scripts, cli/options.hpp) are left out: completion teaches one name.
// The script needs nothing but bash itself (no bash-completion package helpers).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "models/zoo.hpp"
#include "ops/conv2d.hpp"

namespace {

std::string option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty()) continue;  // hidden
    for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
    for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
  }
  return fmt::format("{}", fmt::join(names, " "));
}

}  // namespace

int main() {
  CLI::App app{"fusescope"};
  fusescope::cli::GlobalOptions global;
  int exit_code = 0;
  fusescope::cli::add_fusescope_commands(app, global, exit_code);

  std::vector<std::string> commands, models;
  std::string per_command;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    commands.push_back(sub->get_name());
    per_command += fmt::format("      {}) flags=\"{}\" ;;\n", sub->get_name(), option_names(*sub));
  }
  for (const auto& e : fusescope::models::zoo()) models.push_back(e.name);
  // Values of the flags that take one of a few words (the parsers in workbench/ and ops/ refuse
  // anything else with a message naming these), and the flags that take a path.
  // --algorithm's from ops::kConvAlgorithms, so an algorithm added there is offered too.
  std::string algorithms = "auto";
  for (fusescope::ops::ConvAlgorithm a : fusescope::ops::kConvAlgorithms) algorithms += std::string(" ") + fusescope::ops::to_string(a);
  const std::map<std::string, std::string> choices = {
      {"--fuse", "none bn all runtime"},       {"--precision", "fp32 fp16s fp16"},
      {"--layout", "nchw nhwc"},               {"--fold", "float64 float32"},
      {"--algorithm", algorithms},
      {"--panel", "tensor compare fusion timing kernel camera"}};
  std::string choice_cases;
  for (const auto& [flag, words] : choices) choice_cases += fmt::format("    {}) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); return ;;\n", flag, words);

  fmt::print(R"(# bash completion for fusescope — generated at build time by tools/make_bash_completion.cpp
# from the program's own command line; do not edit.
_fusescope() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="" cmd="" flags="" i
  [[ $COMP_CWORD -gt 0 ]] && prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  local global_flags="{global}"
  local commands="{commands}"
  local models="{models}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case " $commands " in *" ${{COMP_WORDS[i]}} "*) cmd="${{COMP_WORDS[i]}}"; break ;; esac
  done
  case "$prev" in
{choice_cases}    -o|--output|--input|--decoder|--screenshot)
      COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --json)  # a file for compare and bench; a plain flag for models and devices
      if [[ $cmd != models && $cmd != devices ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi ;;
    --save-frames) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --model) COMPREPLY=($(compgen -W "blazeface-front blazeface-back dpn-shapes" -- "$cur") $(compgen -f -X '!*.onnx' -- "$cur")); return ;;
  esac
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "$commands $global_flags" -- "$cur"))
    return
  fi
  case "$cmd" in
{per_command}  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags $global_flags" -- "$cur"))
    return
  fi
  case "$cmd" in
    run|compare|bench|export|gui)
      # MODEL: a zoo name, or an .onnx file (directories too, to walk into).
      COMPREPLY=($(compgen -W "$models" -- "$cur") $(compgen -f -X '!*.onnx' -- "$cur") $(compgen -d -- "$cur")) ;;
    preprocess) COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}}
complete -F _fusescope fusescope
)",
             fmt::arg("global", option_names(app)), fmt::arg("commands", fmt::join(commands, " ")),
             fmt::arg("models", fmt::join(models, " ")), fmt::arg("choice_cases", choice_cases),
             fmt::arg("per_command", per_command));
  return 0;
}
