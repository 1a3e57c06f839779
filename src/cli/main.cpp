// fusescope: run CNN kernels and networks on any Vulkan device and see what fusing costs.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <exception>

#include "cli/app.hpp"
#include "gpu/device.hpp"
#include "gpu/error.hpp"
#include "gpu/glsl_compiler.hpp"
#include "io/safetensors.hpp"
#include "ops/shape.hpp"

int main(int argc, char** argv) {
  CLI::App app{"fusescope — conv/BatchNorm fusion, made visible, on any Vulkan device"};
  fusescope::cli::GlobalOptions global;
  int exit_code = 0;
  fusescope::cli::add_fusescope_commands(app, global, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fmt::print(stderr, "fusescope: {}\nRun `fusescope --help` for usage.\n", e.what());
    return 2;
  } catch (const fusescope::gpu::NoVulkanDevice& e) {
    fmt::print(stderr, "fusescope: {}\n", e.what());
    return 1;
  } catch (const fusescope::gpu::DeviceLost& e) {
    // Nothing of this run can be trusted, and nothing of it was written (files appear whole at
    // the end or not at all); another try on a fresh device usually works.
    fmt::print(stderr,
               "fusescope: error: the GPU device was lost: {}; no results were written. Run the "
               "command again; if it keeps happening, the driver or GPU is failing (try another "
               "device with --device, see `fusescope devices`)\n",
               e.what());
    return 1;
  } catch (const fusescope::io::FormatError& e) {
    fmt::print(stderr, "fusescope: invalid input: {}\n", e.what());
    return 2;
  } catch (const fusescope::ops::InvalidArgument& e) {
    fmt::print(stderr, "fusescope: invalid input: {}\n", e.what());
    return 2;
  } catch (const fusescope::gpu::GlslCompileError& e) {
    // A user's shader (--kernel-override, kernel-check): its own file:line messages, one a line.
    fmt::print(stderr, "fusescope: the shader does not compile:\n{}\n", e.what());
    return 2;
  } catch (const fusescope::gpu::KernelInterfaceMismatch& e) {
    fmt::print(stderr, "fusescope: invalid input: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "fusescope: error: {}\n", e.what());
    return 1;
  }
  // What the validation layer said while a device was destroyed (printed then, by the device):
  // objects left undestroyed. The command's files are written by now; the run still fails.
  if (const std::size_t n = fusescope::gpu::Device::take_validation_messages_at_teardown(); n > 0) {
    fmt::print(stderr, "fusescope: the validation layer reported {} message(s) while the device was destroyed\n", n);
    return 1;
  }
  return exit_code;
}
