#include "process_device.hpp"

#include <mutex>

namespace fusescope::python {

namespace {

std::mutex mutex;
std::shared_ptr<gpu::Device> device;
gpu::DeviceOptions options;

}  // namespace

std::shared_ptr<gpu::Device> process_device() {
  std::lock_guard lock(mutex);
  if (!device) device = std::make_shared<gpu::Device>(options);
  return device;
}

std::shared_ptr<gpu::Device> use_device(std::optional<std::uint32_t> index, bool validation) {
  gpu::DeviceOptions wanted;
  wanted.index = index;
  wanted.validation = validation;
  auto made = std::make_shared<gpu::Device>(wanted);  // throws before anything is replaced
  std::lock_guard lock(mutex);
  options = wanted;
  device = made;
  return made;
}

void forget_device() {
  std::lock_guard lock(mutex);
  device.reset();
}

}  // namespace fusescope::python
