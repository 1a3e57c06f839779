// The validation layer's synchronization validation is on wherever validation is (gpu/device.cpp):
// proven by a hazard made on purpose — two writes to one buffer with no barrier between them —
// which the layer must report. Without this, "no validation message" from the suite and the CLI
// could mean sync validation was never running.
#include <catch2/catch.hpp>

#include <algorithm>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

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

// What the layer says at vkDestroyDevice (an object never destroyed) comes when no caller can ask
// validation_messages() any more: the device counts it for main() to fail the run. Proven with a
// fence left behind on purpose; the count is taken here, so this process still exits clean.
TEST_CASE("validation: an object left undestroyed is reported when the device goes", "[gpu][validation]") {
  gpu::Device::take_validation_messages_at_teardown();  // start from 0
  {
    gpu::DeviceOptions options;
    options.validation = true;
    gpu::Device dev(options);
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence forgotten = VK_NULL_HANDLE;
#if defined(__SANITIZE_ADDRESS__)
    __lsan_disable();  // the driver's memory for the fence is leaked on purpose, not a finding
#endif
    const VkResult created = vkCreateFence(dev.handle(), &fi, nullptr, &forgotten);
#if defined(__SANITIZE_ADDRESS__)
    __lsan_enable();
#endif
    REQUIRE(created == VK_SUCCESS);
  }
  CHECK(gpu::Device::take_validation_messages_at_teardown() >= 1);
  {
    gpu::DeviceOptions options;
    options.validation = true;
    gpu::Device dev(options);  // the same device, everything destroyed: nothing to say
  }
  CHECK(gpu::Device::take_validation_messages_at_teardown() == 0);
}
