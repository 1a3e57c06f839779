// The command-line faces of the workbench's choices: CLI11 flags that fill a
// workbench::ModelSource and the execution options, shared by every subcommand so one flag has
// one meaning everywhere (a user who learned `run` guesses `compare`, `bench` and `gui` right).
#pragma once
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "gpu/device.hpp"
#include "graph/executor.hpp"
#include "io/atomic_file.hpp"
#include "workbench/candidate.hpp"
#include "workbench/model_source.hpp"

namespace fusescope::cli {

// The workbench's vocabulary, as the subcommands use it.
using io::write_file_atomically;
using workbench::describe;
using workbench::FuseMode;
using workbench::fused_copy;
using workbench::image_tensor;
using workbench::load_input;
using workbench::load_model;
using workbench::ModelSource;
using workbench::parse_fold_precision;
using workbench::parse_fuse_mode;
using workbench::parse_shape;
using workbench::to_string;

// Adds --mean/--std/--bgr/--nhwc/--crop/--rotate180 to a subcommand.
void add_image_options(CLI::App* cmd, workbench::ImageOptions& o);

// Adds MODEL plus --input/--seed/--batch/--size/--shape and the image options to a subcommand.
// `required`: whether MODEL must be given (the window opens without one).
void add_model_source_options(CLI::App* cmd, ModelSource& o, bool required = true);

// How the executor keeps a network on the device, shared by run, bench, compare and gui: the
// arithmetic (--precision) and how activations lie in device memory (--layout). --layout is not
// the model's input layout (that is --nhwc): tensors are read back and fed as NCHW either way.
struct ExecutionOptions {
  std::string precision = "fp32";    // fp32 | fp16s | fp16
  std::string layout = "nchw";       // nchw | nhwc
  std::string algorithm = "auto";    // auto | direct | gemm | ...: every conv's algorithm
  // --autotune: each conv's algorithm measured on the device per shape (graph/conv_autotune.hpp)
  // instead of auto's heuristic; refused beside a forced --algorithm.
  bool autotune = false;
  // --kernel-override NODE=FILE.comp, repeatable: the node's dispatches run FILE's GLSL (the
  // shader sandbox's saved variant) instead of the built-in kernel.
  std::vector<std::string> kernel_overrides;
};

// Adds -o/--output FILE, the one name for the main file a command writes (run's tensors,
// export's model, preprocess's tensor, detect's lines), and each of `older_spellings` as a
// hidden option filling the same string, so scripts written against an earlier release keep
// working while --help and the completions teach one name. A required output is checked with
// require_output, since CLI11's ->required() would refuse the older spellings.
void add_output_option(CLI::App* cmd, std::string& output, const std::string& help,
                       std::initializer_list<const char*> older_spellings = {});

// Throws CLI's "is required" usage error (exit 2) when no output was given by any spelling.
void require_output(const std::string& output);

// Adds --precision, --layout, --algorithm, --autotune and --kernel-override to a subcommand.
void add_execution_options(CLI::App* cmd, ExecutionOptions& o);

// The executor options the flags name (taps left empty); throws ops::InvalidArgument naming the
// flag on a bad value, so a command can call it first to check its flags before any slow work.
// Each --kernel-override file is read and compiled here (gpu::GlslCompileError with file:line
// messages); whether its node exists and its interface fits is the executor's check.
graph::ExecutorOptions executor_options(const ExecutionOptions& o);

// --validation: prints the layer's messages and returns true when there were any, so the command
// fails before it writes anything (a file made under a validation error is not to be trusted).
bool validation_failed(const GlobalOptions& global, const gpu::Device& device, const char* command);

gpu::DeviceOptions device_options(const GlobalOptions& global);

}  // namespace fusescope::cli
