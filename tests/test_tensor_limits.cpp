// Limits before work (graph/tensor_limits): sizes are checked before anything is allocated.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

#include "gpu/error.hpp"
#include "graph/tensor_limits.hpp"
#include "workbench/model_source.hpp"

using namespace fusescope;

namespace {

graph::Graph one_value(const ops::Shape& shape) {
  graph::Graph g("limits");
  graph::Value v;
  v.name = "x";
  v.shape = shape;
  g.values().push_back(v);
  return g;
}

}  // namespace

TEST_CASE("tensor limits: the cap, 64-bit overflow, zero-size tensors", "[graph][limits][bad-input]") {
  // 1x3x4x4 fp32 = 192 bytes: fits 192, not 191.
  CHECK_NOTHROW(graph::check_tensor_sizes(one_value({1, 3, 4, 4}), 192, "t"));
  CHECK_THROWS_WITH(graph::check_tensor_sizes(one_value({1, 3, 4, 4}), 191, "t"),
                    Catch::Contains("t: tensor 'x' is 1x3x4x4 = 48 values") && Catch::Contains("FUSESCOPE_MAX_TENSOR_BYTES"));
  // 2^31 x 2^31 x 4 bytes = 2^64: overflows.
  const std::int64_t big = std::int64_t{1} << 31;
  CHECK_THROWS_WITH(graph::check_tensor_sizes(one_value({big, big}), std::numeric_limits<std::uint64_t>::max(), "t"),
                    Catch::Contains("overflows 64 bits"));
  // A zero-size tensor is legal however large its other dimensions (issue 13: exporters make them).
  CHECK_NOTHROW(graph::check_tensor_sizes(one_value({0, big, big, big}), 1, "t"));
  CHECK_THROWS_WITH(graph::check_tensor_sizes(one_value({1, -3}), 1 << 20, "t"), Catch::Contains("negative dimension"));
}

TEST_CASE("tensor limits: an absurd --size is refused before the input is made", "[graph][limits][bad-input]") {
  // resnet45 at 100000x100000 once died in std::bad_alloc making its 112 GiB input.
  workbench::ModelSource s;
  s.model = "resnet45";
  s.size = "100000x100000";
  CHECK_THROWS_WITH(workbench::load_model(s),
                    Catch::Contains("resnet45 at --size 100000x100000: tensor") && Catch::Contains("GiB as fp32"));
}

TEST_CASE("tensor limits: a tensor the device cannot bind is an out-of-memory before calibration",
          "[graph][limits]") {
  // 1x3x4x4: 192 bytes in fp32, 96 in fp16.
  CHECK_NOTHROW(graph::check_tensors_fit_binding(one_value({1, 3, 4, 4}), 192, 4, "t"));
  CHECK_THROWS_AS(graph::check_tensors_fit_binding(one_value({1, 3, 4, 4}), 191, 4, "t"), gpu::OutOfDeviceMemory);
  CHECK_THROWS_WITH(graph::check_tensors_fit_binding(one_value({1, 3, 4, 4}), 191, 4, "t"),
                    Catch::Contains("t: tensor 'x' is 1x3x4x4") && Catch::Contains("maxStorageBufferRange") &&
                        Catch::Contains("fp16 storage"));
  CHECK_NOTHROW(graph::check_tensors_fit_binding(one_value({1, 3, 4, 4}), 96, 2, "t"));
  // Through load_model, as run, compare, bench and the window call it: resnet45 at 4000x4000
  // (its first conv's output 1x32x4000x4000, 977 MiB) on a device binding 128 MiB, refused
  // with the requested size named; at the default size it loads.
  workbench::ModelSource s;
  s.model = "resnet45";
  s.size = "4000x4000";
  s.device_binding_bytes = 128u << 20;
  CHECK_THROWS_AS(workbench::load_model(s), gpu::OutOfDeviceMemory);
  CHECK_THROWS_WITH(workbench::load_model(s), Catch::Contains("resnet45 at --size 4000x4000: tensor '"));
  s.size.clear();
  CHECK_NOTHROW(workbench::load_model(s));
}
