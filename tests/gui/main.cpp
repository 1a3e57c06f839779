// The window's tests: Catch2's main, then a check of what the validation layer said while the
// tests' devices were destroyed (objects never destroyed), which no test could see.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "../teardown_check.hpp"

int main(int argc, char** argv) {
  int rc = Catch::Session().run(argc, argv);
  return fusescope::testing::fail_on_teardown_validation_messages(rc);
}
