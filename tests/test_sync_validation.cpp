// The validation layer's synchronization validation is on wherever validation is (gpu/device.cpp):
// proven by a hazard made on purpose — two writes to one buffer with no barrier between them —
// which the layer must report. Without this, "no validation message" from the suite and the CLI
// could mean sync validation was never running.
#include <catch2/catch.hpp>

#include <algorithm>

#include "gpu/device.hpp"
#include "test_support.hpp"

using namespace fusescope;

TEST_CASE("validation: synchronization validation sees a missing barrier", "[gpu][validation]") {
  gpu::Device& dev = testing::device();
  dev.clear_validation_messages();
  gpu::Buffer b = dev.allocate(256, "sync-hazard");
  dev.submit_and_wait([&](VkCommandBuffer cmd) {
    vkCmdFillBuffer(cmd, b.handle(), b.offset(), 256, 1u);
    vkCmdFillBuffer(cmd, b.handle(), b.offset(), 256, 2u);  // write after write, no barrier
  });
  const std::vector<std::string> messages = dev.validation_messages();
  dev.clear_validation_messages();  // the hazard was the point; later cases start clean
  std::string all;
  for (const std::string& m : messages) all += m + "\n";
  INFO(all);
  CHECK(std::any_of(messages.begin(), messages.end(),
                    [](const std::string& m) { return m.find("SYNC-HAZARD-WRITE-AFTER-WRITE") != std::string::npos; }));
}
