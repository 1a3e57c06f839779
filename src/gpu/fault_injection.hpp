// Faults on purpose: test hooks that make the device run out of memory or get lost, so the code
// a failing driver drives users into is run by tests instead of first met on someone's machine.
// They come from the environment (read once per process), so a shell test can inject them into
// any command — run, compare, bench, detect, the window — without a flag users would see:
//
//   FUSESCOPE_FAULT_DEVICE_MEMORY=BYTES  the device memory fusescope may reserve, per device
//                                        (suffix K, M or G: KiB, MiB, GiB), as if the GPU had
//                                        no more; allocations beyond it fail like a full device.
//   FUSESCOPE_FAULT_DEVICE_LOST=N        the Nth queue submission of the process (1: the first)
//                                        returns VK_ERROR_DEVICE_LOST, and so does every later
//                                        one on that device, as after a GPU reset. Counted over
//                                        the whole process, so a window that recreates its
//                                        device after the loss gets a working one.
//   FUSESCOPE_FAULT_PIPELINE_CREATE=N    the Nth compute pipeline the process creates (1: the
//                                        first; pipelines are made once per device and kernel,
//                                        on first use) fails with VK_ERROR_UNKNOWN, as when a
//                                        driver's shader compiler gives up. Only that one: the
//                                        device stays usable, and asking again creates it.
//
// Device::lose_at_next_submit() and Device::fail_next_pipeline_create() do the second and the
// third from code (unit tests, the window's test seam).
#pragma once
#include <cstdint>
#include <optional>

namespace fusescope::gpu {

struct InjectedFaults {
  std::optional<std::uint64_t> device_memory_bytes;
  std::optional<std::uint64_t> device_lost_at_submit;
  std::optional<std::uint64_t> pipeline_create_fails_at;
};

// Parsed once; a malformed value throws std::invalid_argument naming the variable.
const InjectedFaults& injected_faults();

// Counts one queue submission of the process; true when FUSESCOPE_FAULT_DEVICE_LOST picks it.
bool injected_device_lost_at_this_submit();

// Counts one compute pipeline creation of the process; true when FUSESCOPE_FAULT_PIPELINE_CREATE
// picks it.
bool injected_pipeline_failure_at_this_create();

}  // namespace fusescope::gpu
