// `fusescope models`: the zoo, with parameter counts, FLOPs and input shapes; `--json` for scripts.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "models/zoo.hpp"

namespace fusescope::cli {

namespace {

int list_models(bool json) {
  nlohmann::json list = nlohmann::json::array();
  if (!json) {
    fmt::print("{:<22} {:>12} {:>10} {:>7} {:<16} {}\n", "model", "parameters", "GFLOPs", "nodes", "input",
               "description");
  }
  for (const models::ZooEntry& e : models::zoo()) {
    // Built without calibration: structure and sizes only, so the list is instant.
    models::ModelArgs args(e.name, {});
    const graph::Graph g = e.build(e.default_input, 1, args);
    if (json) {
      list.push_back({{"name", e.name},
                      {"parameters", g.parameter_count()},
                      {"flops", g.total_flops()},
                      {"nodes", g.nodes().size()},
                      {"input", e.default_input},
                      {"description", e.description}});
      continue;
    }
    fmt::print("{:<22} {:>12} {:>10.3f} {:>7} {:<16} {}\n", e.name, g.parameter_count(), g.total_flops() / 1e9,
               g.nodes().size(), ops::to_string(e.default_input), e.description);
  }
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"models", list}}.dump(2));
    return 0;
  }
  fmt::print("\nparameters count every constant (BN's gamma, beta, mean and var included, as Keras does);\n"
             "FLOPs count a multiply-add as 2, at the default input.\n");
  return 0;
}

}  // namespace

void add_models_command(CLI::App& app, GlobalOptions&, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("models", "List the model zoo");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json,
                "Print the list as JSON on stdout: {\"models\": [{name, parameters, flops, nodes, input "
                "(NCHW), description}]}");
  cmd->callback([&exit_code, json] { exit_code = list_models(*json); });
}

}  // namespace fusescope::cli
