// `fusescope kernel-check FILE.comp --op conv2d [--cases all|GROUP|SHAPE|NAME …]`: a user's edited
// kernel (the shader sandbox's saved variant) through the shader suite's case table for its op,
// headless — the very cases and tolerances tests/test_conv2d.cpp holds the built-in kernels to
// (workbench/kernel_cases.hpp), each judged against the float64 oracle. Prints one row per case
// and exits 0 when every case passes, 1 naming the failing cases, 2 on bad input (a shader that
// does not compile — with its file:line messages —, one whose bindings or push constants do not
// fit the kernel it replaces, an unknown op or case).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "gpu/device.hpp"
#include "gpu/shader_override.hpp"
#include "ops/conv2d.hpp"
#include "ops/conv2d_gpu.hpp"
#include "ops/winograd.hpp"
#include "workbench/kernel_cases.hpp"

namespace fusescope::cli {

namespace {

struct KernelCheckOptions {
  std::string file;
  std::string op;
  std::vector<std::string> cases{"all"};
  std::string algorithm = "direct";
};

// The cases `selection` names: "all", a group of the table, a case's input shape (1x17x9x11)
// or a case's full name. Throws ops::InvalidArgument for a word that names nothing.
std::vector<workbench::Conv2dCase> select_cases(const std::vector<std::string>& selection) {
  const std::vector<workbench::Conv2dCase> all = workbench::conv2d_cases("all");
  std::vector<bool> chosen(all.size(), false);
  const std::vector<std::string> groups = workbench::conv2d_case_groups();
  for (const std::string& word : selection) {
    bool matched = false;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const bool hit = word == "all" || word == all[i].group || word == all[i].name || word == ops::to_string(all[i].input);
      if (hit) chosen[i] = matched = true;
    }
    if (!matched)
      throw ops::InvalidArgument(fmt::format("--cases {}: no conv2d case is called so or has that input shape; give "
                                             "all, a group ({}), an input shape NxCxHxW of a case, or a case's name",
                                             word, fmt::join(groups, ", ")));
  }
  std::vector<workbench::Conv2dCase> out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (chosen[i]) out.push_back(all[i]);
  }
  return out;
}

int run_kernel_check(const GlobalOptions& global, const KernelCheckOptions& o) {
  if (o.op != "conv2d")
    throw ops::InvalidArgument(fmt::format("--op {}: kernel-check has the case table of conv2d only so far", o.op));
  const ops::ConvAlgorithm algorithm = ops::parse_conv_algorithm(o.algorithm);
  if (algorithm == ops::ConvAlgorithm::automatic)
    throw ops::InvalidArgument("--algorithm auto: name the algorithm whose kernel FILE replaces (direct, depthwise, "
                               "gemm, subgroup, winograd or winograd4)");
  std::vector<workbench::Conv2dCase> cases = select_cases(o.cases);
  if (ops::is_winograd(algorithm)) {
    // Winograd computes 3x3 stride-1 convs only: the other cases are not its to run.
    std::erase_if(cases, [](const workbench::Conv2dCase& c) { return !ops::winograd_applies(c.params); });
    if (cases.empty())
      throw ops::InvalidArgument(fmt::format("--algorithm {}: none of the chosen cases is a 3x3 conv of stride 1 "
                                             "(try --cases winograd)",
                                             ops::to_string(algorithm)));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(o.file, ec)) throw ops::InvalidArgument(fmt::format("{}: no such file", o.file));
  const auto edited = gpu::ShaderOverride::from_file(o.file);  // GlslCompileError: exit 2 with file:line
  // The interface is checked before anything prints (KernelInterfaceMismatch: exit 2), against the
  // fp32 build of the kernel the algorithm runs.
  edited->spirv_replacing(ops::conv2d_kernel_name(algorithm));

  gpu::Device device(device_options(global));
  fmt::print("kernel-check {} as conv2d ({} algorithm) on {}: {} case(s), judged against the float64 oracle\n\n",
             o.file, ops::to_string(algorithm), device.info().name, cases.size());
  fmt::print("{:<44} {:<30} {:>10} {:>10} {:>19} {:>8}  {}\n", "case", "shape", "rel-L2", "max-abs",
             "tolerance (L2/abs)", "GPU ms", "result");
  std::vector<std::string> failing;
  for (const workbench::Conv2dCase& c : cases) {
    const workbench::KernelCaseResult r = workbench::run_conv2d_case(device, c, algorithm, edited);
    if (!r.failure.empty()) {
      fmt::print("{:<44} {:<30} {:>10} {:>10} {:>19} {:>8}  FAIL ({})\n", c.name, r.shape, "-", "-", "-", "-", r.failure);
    } else {
      fmt::print("{:<44} {:<30} {:>10.3e} {:>10.3e} {:>9.0e}/{:<9.1e} {:>8.3f}  {}\n", c.name, r.shape, r.error.rel_l2,
                 r.error.max_abs, r.rel_l2_limit, r.max_abs_limit, r.gpu_ms, r.pass ? "PASS" : "FAIL");
    }
    if (!r.pass) failing.push_back(c.name);
  }
  if (validation_failed(global, device, "kernel-check")) return 1;
  if (!failing.empty()) {
    fmt::print("\n{} of {} case(s) FAIL: {}\n", failing.size(), cases.size(), fmt::join(failing, "; "));
    return 1;
  }
  fmt::print("\nall {} case(s) PASS\n", cases.size());
  return 0;
}

}  // namespace

void add_kernel_check_command(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto o = std::make_shared<KernelCheckOptions>();
  CLI::App* cmd = app.add_subcommand(
      "kernel-check", "Run an edited kernel (GLSL) through the shader suite's cases for its op, against the float64 oracle");
  cmd->add_option("FILE", o->file, "The edited compute shader (.comp); start from `fusescope kernel-source KERNEL`")
      ->required();
  cmd->add_option("--op", o->op, "The op whose built-in kernel FILE replaces: conv2d")->required();
  cmd->add_option("--cases", o->cases,
                  "all (default), a group (shapes, groups, padding, batch, random, winograd), a case's input shape NxCxHxW, or "
                  "a case's name; several may be given");
  cmd->add_option("--algorithm", o->algorithm,
                  "Which built-in conv kernel FILE replaces: direct (conv2d.comp), depthwise (conv2d.comp, taps "
                  "fixed), gemm (conv2d_gemm.comp), subgroup (conv2d_subgroup.comp), winograd or winograd4 "
                  "(conv2d_winograd.comp with 2x2 or 4x4 output tiles, 3x3 stride-1 cases only)")
      ->capture_default_str();
  cmd->callback([&global, &exit_code, o] { exit_code = run_kernel_check(global, *o); });
}

}  // namespace fusescope::cli
