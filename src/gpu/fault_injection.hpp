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
//
// Device::lose_at_next_submit() does the second from code (unit tests, the window's test seam).
#pragma once
#include <cstdint>
#include <optional>

namespace fusescope::gpu {

struct InjectedFaults {
  std::optional<std::uint64_t> device_memory_bytes;
  std::optional<std::uint64_t> device_lost_at_submit;
};

// Parsed once; a malformed value throws std::invalid_argument naming the variable.
const InjectedFaults& injected_faults();

// Counts one queue submission of the process; true when FUSESCOPE_FAULT_DEVICE_LOST picks it.
bool injected_device_lost_at_this_submit();

}  // namespace fusescope::gpu
