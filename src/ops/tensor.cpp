#include "ops/tensor.hpp"

#include <fmt/format.h>

#include "gpu/device.hpp"

namespace fusescope::ops {

Tensor make_tensor(gpu::Device& device, const Shape& shape, const std::string& name) {
  const std::int64_t n = checked_numel(shape, name, sizeof(float));
  Tensor t;
  t.shape = shape;
  t.buffer = device.allocate(static_cast<std::uint64_t>(n) * sizeof(float), name);
  return t;
}

Tensor upload_tensor(gpu::Device& device, const Shape& shape, std::span<const float> values,
                     const std::string& name) {
  Tensor t = make_tensor(device, shape, name);
  if (static_cast<std::int64_t>(values.size()) != t.numel()) {
    throw InvalidArgument(fmt::format("{}: {} values given for shape {} ({} elements)", name,
                                      values.size(), to_string(shape), t.numel()));
  }
  device.upload(t.buffer, std::as_bytes(values));
  return t;
}

std::vector<float> download_tensor(gpu::Device& device, const Tensor& tensor) {
  std::vector<float> values(static_cast<std::size_t>(tensor.numel()));
  device.download(tensor.buffer, std::as_writable_bytes(std::span<float>(values)));
  return values;
}

}  // namespace fusescope::ops
