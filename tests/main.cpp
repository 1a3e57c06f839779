// The shader suite's entry point: Catch2's, plus `--device N` to run the whole suite on another
// Vulkan device (FUSESCOPE_DEVICE=N does the same, and also reaches each CTest process).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "teardown_check.hpp"
#include "test_support.hpp"

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--device" && i + 1 < argc) {
      fusescope::testing::set_device_index(std::stoi(argv[++i]));
    } else if (arg.rfind("--device=", 0) == 0) {
      fusescope::testing::set_device_index(std::stoi(arg.substr(9)));
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rc = Catch::Session().run(static_cast<int>(rest.size()), rest.data());
  fusescope::testing::release_device();
  rc = fusescope::testing::fail_on_teardown_validation_messages(rc);
  if (rc == 0 && fusescope::testing::skipped()) {
    std::fprintf(stderr, "SKIPPED: a test's data is absent (see the warnings above)\n");
    return 77;  // CTest: SKIP_RETURN_CODE
  }
  return rc;
}
