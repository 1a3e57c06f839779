// The one Vulkan device of a Python process. Made on first use (fusescope.devices() needs none),
// with the CLI's choice rule: FUSESCOPE_DEVICE, else discrete > integrated > virtual > CPU; or
// the one fusescope.use_device(index) names. Every run, compare and export of every model uses
// it; executors are made per call and dropped after, so replacing the device (use_device, or
// after the device was lost) never leaves a model pointing at a dead one.
//
// Call these without the GIL held: making a device takes a while (instance, pipeline cache),
// and another thread may be making it.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>

#include "gpu/device.hpp"

namespace fusescope::python {

// The process's device, made now if there is none. Throws gpu::NoVulkanDevice, gpu::VulkanError.
std::shared_ptr<gpu::Device> process_device();

// From now on, device `index` (unset: the default rule), with the validation layer or without.
// Makes it at once, so a bad index fails here; the old device goes when its last run ends.
std::shared_ptr<gpu::Device> use_device(std::optional<std::uint32_t> index, bool validation);

// After gpu::DeviceLost: only a new Device works again, so the next call makes one (same choice).
void forget_device();

}  // namespace fusescope::python
