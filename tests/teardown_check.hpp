// What the validation layer said while the tests' devices were destroyed (objects never
// destroyed), which no test could see: both test suites' mains fail on it after their last test.
#pragma once

#include <cstdio>

#include "gpu/device.hpp"

namespace fusescope::testing {

// rc, or 1 when the layer reported anything at a device's teardown (each message was printed
// then, by the device).
inline int fail_on_teardown_validation_messages(int rc) {
  if (const std::size_t n = gpu::Device::take_validation_messages_at_teardown(); n > 0) {
    std::fprintf(stderr, "FAILED: the validation layer reported %zu message(s) while a device was destroyed\n", n);
    return 1;
  }
  return rc;
}

}  // namespace fusescope::testing
