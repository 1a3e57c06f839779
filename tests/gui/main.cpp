// The window's tests: Catch2's main, then a check of what the validation layer said while the
// tests' devices were destroyed (objects never destroyed), which no test could see.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "gpu/device.hpp"

int main(int argc, char** argv) {
  int rc = Catch::Session().run(argc, argv);
  if (const std::size_t n = fusescope::gpu::Device::take_validation_messages_at_teardown(); n > 0) {
    std::fprintf(stderr, "FAILED: the validation layer reported %zu message(s) while a device was destroyed\n", n);
    rc = 1;
  }
  return rc;
}
