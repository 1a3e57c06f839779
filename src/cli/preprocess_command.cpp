// `fusescope preprocess`: an image turned into an input tensor exactly as `run --input IMAGE`
// would feed it, written to safetensors under a chosen name — no model needed. This is how
// another runtime (tools/ort/run_model.mjs, ONNX Runtime) gets fusescope's exact input, for
// models fusescope cannot import yet too.
#include <fmt/format.h>

#include <filesystem>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "io/safetensors.hpp"

namespace fusescope::cli {

namespace {

struct PreprocessOptions {
  std::string image;
  std::string shape;
  std::string name = "input";
  std::string output;  // -o/--output (older: --out)
  workbench::ImageOptions options;
};

int run_preprocess(const PreprocessOptions& o) {
  const ops::Shape shape = parse_shape(o.shape);
  if (!std::filesystem::exists(o.image)) throw ops::InvalidArgument(fmt::format("{}: no such file", o.image));
  std::vector<float> values = image_tensor(o.image, o.options, shape);
  const std::string how = describe(o.options, shape);
  io::write_safetensors(o.output, {{o.name, shape, std::move(values)}},
                        {{"producer", "fusescope preprocess"},
                         {"image", std::filesystem::path(o.image).filename().string()},
                         {"preprocess", how}});
  fmt::print("wrote {} {} ({}) to {}\n", o.name, ops::to_string(shape), how, o.output);
  return 0;
}

}  // namespace

void add_preprocess_command(CLI::App& app, GlobalOptions&, int& exit_code) {
  auto o = std::make_shared<PreprocessOptions>();
  CLI::App* cmd = app.add_subcommand(
      "preprocess", "Write an image as a model input tensor (as `run --input IMAGE` feeds it) to safetensors");
  // Positional, or --input as run, compare, bench, detect and gui spell it.
  cmd->add_option("IMAGE,--input", o->image, "PNG/JPEG image (or --input IMAGE, as `run` takes it)")->required();
  cmd->add_option("--shape", o->shape, "Tensor shape NxCxHxW (NxHxWxC with --nhwc), e.g. 1x3x48x192")->required();
  cmd->add_option("--name", o->name, "Tensor name (the model's input name)")->capture_default_str();
  add_output_option(cmd, o->output, "Output .safetensors file", {"--out"});
  add_image_options(cmd, o->options);
  cmd->callback([&exit_code, o] {
    require_output(o->output);
    exit_code = run_preprocess(*o);
  });
}

}  // namespace fusescope::cli
