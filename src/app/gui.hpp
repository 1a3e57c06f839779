// `fusescope gui`: the window, interactive or scripted. Scripted mode (--screenshot) drives the
// very requests a user's clicks post (load, step, select, switch tab), renders a few frames once
// the worker is idle, writes the window as a PNG and exits — for tests, documentation and bug
// reports. What a test sees is what a user sees.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/session.hpp"

namespace fusescope::app {

struct GuiOptions {
  std::optional<LoadRequest> load;       // the model to open (else: the last one, interactively)
  std::string select;                    // a node or value name to select
  std::optional<std::size_t> step;       // from the start: run this many nodes
  std::optional<std::size_t> run_block;  // from the start: run this many blocks
  std::string run_to;                    // run to this node
  std::string panel;                     // tensor | compare | fusion | timing | camera | kernel
  // Kernel edits run once the model has loaded (--kernel-override NODE=FILE.comp), as the kernel
  // panel's Apply does: the panel shows their verdicts.
  std::vector<KernelEditRequest> kernel_edits;
  // Frames for the camera panel (vision::open_frame_source spec), through `load`'s model as the
  // detector; opens the camera panel. Scripted: the screenshot is taken once 3 frames (or all
  // of a shorter source) went through, paused there.
  std::string source;
  int frames = 3;                        // scripted: frames rendered after the work is done
  std::string screenshot;                // scripted mode: write the window here and exit
  int width = 1280, height = 800;
  std::optional<std::uint32_t> device;   // Vulkan device index
  bool validation = false;
  float font_scale = 0;                  // 0: the display's content scale
  // Settings (last model and input, font scale) and ImGui's layout under
  // $XDG_CONFIG_HOME/fusescope/ (~/.config/fusescope/); scripted runs neither read nor write them.
  bool remember = true;
  // Tests: once the model has loaded, switch to the same device (tears down and rebuilds the
  // device, renderer and session on the same window), as the device picker does.
  bool reopen_device_after_load = false;
  // Tests: once the model has loaded, the device's next submission fails as a lost device
  // (gpu::Device::lose_at_next_submit); the window must recreate it and reload the model.
  // FUSESCOPE_FAULT_DEVICE_LOST (gpu/fault_injection.hpp) does the same from outside.
  bool lose_device_after_load = false;
  // Called each time a lost device was rebuilt, with what the log says and the request that
  // reloads the model on the new device (null: nothing was loaded). Tests count and check them.
  std::function<void(const std::string&, const LoadRequest*)> on_device_rebuilt;
};

// Runs the window until it is closed (or, scripted, until the screenshot is written).
// Returns the exit code: 0; 2 when a scripted request failed on bad input (a missing or malformed
// file, an unknown name), 1 when one failed otherwise or the validation layer spoke. A lost device
// is rebuilt (its model reloaded with the same settings, the log saying what happened) up to
// kMaxDeviceLosses times in one run; the next loss throws gpu::DeviceLost.
int run_gui(const GuiOptions& options);
inline constexpr int kMaxDeviceLosses = 3;

}  // namespace fusescope::app
