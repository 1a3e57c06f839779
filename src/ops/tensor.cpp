#include "ops/tensor.hpp"

#include <fmt/format.h>

#include "gpu/device.hpp"
#include "ops/half.hpp"

namespace fusescope::ops {

const char* to_string(DType t) { return t == DType::f16 ? "f16" : "f32"; }

Tensor make_tensor(gpu::Device& device, const Shape& shape, const std::string& name, DType dtype) {
  const std::int64_t n = checked_numel(shape, name, dtype_bytes(dtype));
  Tensor t;
  t.shape = shape;
  t.dtype = dtype;
  t.name = name;
  t.storage = device.allocate(static_cast<std::uint64_t>(n * dtype_bytes(dtype)), name);
  t.buffer = t.storage.view();
  return t;
}

Tensor view_tensor(const gpu::BufferView& region, const Shape& shape, const std::string& name,
                   DType dtype) {
  const std::int64_t n = checked_numel(shape, name, dtype_bytes(dtype));
  const std::uint64_t bytes = static_cast<std::uint64_t>(n * dtype_bytes(dtype));
  if (region.size < bytes) {
    throw InvalidArgument(fmt::format("{}: shape {} needs {} bytes, the region has {}", name,
                                      to_string(shape), bytes, region.size));
  }
  Tensor t;
  t.shape = shape;
  t.dtype = dtype;
  t.name = name;
  t.buffer = region.slice(0, bytes);
  return t;
}

void upload_values(gpu::Device& device, const Tensor& t, std::span<const float> values) {
  if (static_cast<std::int64_t>(values.size()) != t.numel()) {
    throw InvalidArgument(fmt::format("{}: {} values given for shape {} ({} elements)", t.name,
                                      values.size(), to_string(t.shape), t.numel()));
  }
  if (t.dtype == DType::f32) {
    device.upload(t.buffer, std::as_bytes(values));
    return;
  }
  std::vector<std::uint16_t> halves(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) halves[i] = float_to_half(values[i]);
  device.upload(t.buffer, std::as_bytes(std::span<const std::uint16_t>(halves)));
}

Tensor upload_tensor(gpu::Device& device, const Shape& shape, std::span<const float> values,
                     const std::string& name, DType dtype) {
  checked_numel(shape, name, dtype_bytes(dtype));
  if (static_cast<std::int64_t>(values.size()) != numel(shape)) {
    throw InvalidArgument(fmt::format("{}: {} values given for shape {} ({} elements)", name,
                                      values.size(), to_string(shape), numel(shape)));
  }
  Tensor t = make_tensor(device, shape, name, dtype);
  upload_values(device, t, values);
  return t;
}

std::vector<float> download_tensor(gpu::Device& device, const Tensor& t) {
  std::vector<float> values(static_cast<std::size_t>(t.numel()));
  if (t.dtype == DType::f32) {
    device.download(t.buffer, std::as_writable_bytes(std::span<float>(values)));
    return values;
  }
  std::vector<std::uint16_t> halves(values.size());
  device.download(t.buffer, std::as_writable_bytes(std::span<std::uint16_t>(halves)));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = half_to_float(halves[i]);
  return values;
}

}  // namespace fusescope::ops
