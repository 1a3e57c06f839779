// `fusescope devices`: every Vulkan device with what matters for running networks on it;
// `--json` for scripts.
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "gpu/device.hpp"
#include "workbench/device_list.hpp"

namespace fusescope::cli {

namespace {

int list_devices(bool json) {
  auto devices = gpu::Device::enumerate();
  const char* env = std::getenv("FUSESCOPE_DEVICE");
  if (json) {
    fmt::print("{}\n", workbench::devices_json(devices, 2));
    return 0;
  }
  for (const gpu::DeviceInfo& d : devices) {
    fmt::print("[{}] {}\n", d.index, d.name);
    fmt::print("    type               {}\n", gpu::device_type_name(d.type));
    fmt::print("    driver             {} ({})\n", d.driver_name, d.driver_info);
    fmt::print("    Vulkan API         {}\n", gpu::api_version_string(d.api_version));
    fmt::print("    fp16 arithmetic    {}\n", d.fp16_arithmetic ? "yes" : "no");
    fmt::print("    16-bit storage     {}\n", d.storage_16bit ? "yes" : "no");
    fmt::print("    subgroup size      {}\n", d.subgroup_size);
    fmt::print("    timestamps         {}\n",
               d.timestamps ? fmt::format("yes ({:g} ns per tick)", d.timestamp_period_ns) : "no");
    fmt::print("    max storage buffer {:.0f} MiB\n", d.max_storage_buffer_range / 1048576.0);
    for (std::size_t h = 0; h < d.heaps.size(); ++h) {
      fmt::print("    memory heap {}      {:.1f} GiB{}\n", h, d.heaps[h].bytes / 1073741824.0,
                 d.heaps[h].device_local ? " device-local" : "");
    }
  }
  fmt::print("\nChoose one with --device N or FUSESCOPE_DEVICE=N{}.\n",
             env ? fmt::format(" (FUSESCOPE_DEVICE is {} now)", env) : "");
  return 0;
}

}  // namespace

void add_devices_command(CLI::App& app, GlobalOptions&, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("devices", "List Vulkan devices and their capabilities");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json,
                "Print the list as JSON on stdout: {\"devices\": [{index, name, type, driver, api_version, "
                "fp16_arithmetic, storage_16bit, subgroup_size, timestamps, memory_heaps, ...}]}");
  cmd->callback([&exit_code, json] { exit_code = list_devices(*json); });
}

}  // namespace fusescope::cli
