#include "cli/options.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <filesystem>

#include "gpu/shader_override.hpp"

namespace fusescope::cli {

void add_image_options(CLI::App* cmd, workbench::ImageOptions& o) {
  cmd->add_option("--mean", o.mean, "Image mean per channel, on 0..1 pixels (default ImageNet's)")
      ->expected(3);
  cmd->add_option("--std", o.std, "Image std per channel (default ImageNet's)")->expected(3);
  cmd->add_flag("--bgr", o.bgr, "Feed image channels as B, G, R");
  cmd->add_flag("--nhwc", o.nhwc,
                "The model's input tensor is N x H x W x 3 (channels last), e.g. BlazeFace; "
                "not how activations lie on the device (that is --layout)");
  cmd->add_option("--crop", o.crop, "Crop the image to X,Y,W,H (source pixels) before resizing")
      ->expected(4)
      ->delimiter(',');
  cmd->add_flag("--rotate180", o.rotate180, "Turn the (cropped) image upside down before resizing");
}

void add_model_source_options(CLI::App* cmd, ModelSource& o, bool required) {
  cmd->add_option("MODEL", o.model,
                  "Zoo model (`fusescope models` lists them), optionally with arguments: "
                  "conv_bn_layer:filter_size=3,num_filters=64,stride=2; or an .onnx file")
      ->required(required);
  cmd->add_option("--input", o.input,
                  "Input: a .safetensors file (its first tensor, or the one named like the model's "
                  "input) or an image (PNG/JPEG), resized and normalised; default: a seeded input");
  cmd->add_option("--seed", o.seed, "Seed for weights and the default input")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Batch size (default: the model's)")->check(CLI::Range(1, 1024));
  cmd->add_option("--size", o.size, "Input height x width, e.g. 224x224 or 224 (default: the model's)");
  cmd->add_option("--shape", o.shape,
                  "Input shape NxCxHxW of an .onnx model, for its dynamic dimensions (e.g. 1x3x48x192)");
  add_image_options(cmd, o.image);
}

void add_output_option(CLI::App* cmd, std::string& output, const std::string& help,
                       std::initializer_list<const char*> older_spellings) {
  CLI::Option* canonical = cmd->add_option("-o,--output", output, help);
  std::vector<std::pair<std::string, CLI::Option*>> older;
  for (const char* name : older_spellings) {
    // group(""): parsed, but left out of --help (and of the completions, which skip it).
    older.emplace_back(name, cmd->add_option(name, output, "Older spelling of --output")->group(""));
  }
  if (older.empty()) return;
  // Both spellings at once is a usage error (which file was meant?). Not CLI11's excludes(): it
  // lists "Excludes:" in --help and names a hidden option as "" in its message.
  cmd->parse_complete_callback([canonical, older] {
    for (const auto& [name, option] : older)
      if (option->count() > 0 && canonical->count() > 0) throw CLI::ExcludesError(name, "-o/--output");
  });
}

void require_output(const std::string& output) {
  if (output.empty()) throw CLI::RequiredError("-o/--output");
}

void add_execution_options(CLI::App* cmd, ExecutionOptions& o) {
  cmd->add_option("--precision", o.precision, "fp32, fp16s (16-bit storage) or fp16 (16-bit arithmetic too)")
      ->capture_default_str();
  cmd->add_option("--layout", o.layout,
                  "nchw or nhwc: how activations lie in device memory (tensors are still fed and read "
                  "back in the graph's logical NCHW order); not the model's input layout (that is --nhwc)")
      ->capture_default_str();
  cmd->add_option("--algorithm", o.algorithm,
                  "Conv algorithm for every conv: auto (chosen per shape), direct, gemm (implicit GEMM "
                  "on shared-memory tiles), subgroup (a subgroup shares each weight load), depthwise "
                  "(direct with the kernel size fixed, its taps unrolled), winograd (F(2x2,3x3) for 3x3 "
                  "stride-1 convs, weights transformed at load) or winograd4 (F(4x4,3x3), fp32 only); convs a "
                  "winograd cannot compute run auto's choice")
      ->capture_default_str();
  cmd->add_flag("--autotune", o.autotune,
                "Time every conv algorithm once per conv shape on this device and run each conv on the fastest "
                "(instead of auto's rule); the winners are cached per device UUID and driver version in "
                "conv_autotune.json in the cache directory ($FUSESCOPE_CACHE_DIR), so later runs time only new "
                "shapes. Not with a forced --algorithm");
  cmd->add_option("--kernel-override", o.kernel_overrides,
                  "NODE=FILE.comp: run node NODE with the GLSL compute shader in FILE (an edit of the node's "
                  "built-in kernel: same bindings and push constants) instead of the built-in one; repeatable")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

graph::ExecutorOptions executor_options(const ExecutionOptions& o) {
  graph::ExecutorOptions eo = workbench::executor_options(o.precision, o.layout, o.algorithm);
  // One choice per conv: either measured (--autotune) or forced for all (--algorithm X).
  if (o.autotune && eo.conv_algorithm != ops::ConvAlgorithm::automatic)
    throw ops::InvalidArgument(fmt::format("--autotune picks each conv's algorithm by timing; --algorithm {} forces "
                                           "one for every conv: give one of them",
                                           o.algorithm));
  eo.autotune = o.autotune;
  // On a terminal the line first erases a progress line that may be showing (cli/progress_line.hpp).
  if (o.autotune)
    eo.autotune_log = [](const std::string& line) { fmt::print(stderr, "{}{}\n", ::isatty(2) ? "\r\x1b[K" : "", line); };
  for (const std::string& text : o.kernel_overrides) {
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
      throw ops::InvalidArgument(fmt::format("--kernel-override {}: expected NODE=FILE.comp", text));
    const std::string node = text.substr(0, eq), file = text.substr(eq + 1);
    if (eo.kernel_overrides.contains(node))
      throw ops::InvalidArgument(fmt::format("--kernel-override {}: node '{}' is given twice", text, node));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      throw ops::InvalidArgument(fmt::format("--kernel-override {}: {}: no such file", text, file));
    eo.kernel_overrides[node] = gpu::ShaderOverride::from_file(file);
  }
  return eo;
}

gpu::DeviceOptions device_options(const GlobalOptions& global) {
  gpu::DeviceOptions d;
  if (global.device) d.index = static_cast<std::uint32_t>(*global.device);
  d.validation = global.validation;
  return d;
}

bool validation_failed(const GlobalOptions& global, const gpu::Device& device, const char* command) {
  if (!global.validation) return false;
  const std::vector<std::string> messages = device.validation_messages();
  if (messages.empty()) return false;
  for (const auto& m : messages) fmt::print(stderr, "{}\n", m);
  fmt::print(stderr, "{}: the validation layer reported {} message(s); nothing written\n", command, messages.size());
  return true;
}

}  // namespace fusescope::cli
