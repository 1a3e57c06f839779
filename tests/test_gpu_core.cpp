// The GPU layer itself: the validation capture really captures, the arena sub-allocates and
// reuses, barriers appear exactly where a dispatch depends on an earlier one, large 1-D
// dispatches fold into 2-D grids, recordings replay with fresh timings, and the pipeline cache
// reaches the disk.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "gpu/error.hpp"
#include "gpu/pipeline_cache_file.hpp"
#include "ops/activation_gpu.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

TEST_CASE("validation layer messages are captured (so 'no messages' means something)", "[gpu]") {
  gpu::Device& dev = device();
  REQUIRE(dev.validation_enabled());
  dev.clear_validation_messages();
  // A barrier whose access mask does not match its stage mask is invalid usage the layer
  // reports (VUID-vkCmdPipelineBarrier-dstAccessMask-02816) and drivers execute harmlessly.
  dev.submit_and_wait([](VkCommandBuffer cmd) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;  // not a compute-stage access: invalid
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
  });
  auto messages = dev.validation_messages();
  dev.clear_validation_messages();
  INFO("captured: " << (messages.empty() ? std::string("nothing") : messages.front()));
  CHECK(!messages.empty());
}

TEST_CASE("arena sub-allocates, aligns and reuses memory", "[gpu]") {
  gpu::Device& dev = device();
  const std::uint64_t align = std::max<std::uint64_t>(dev.info().min_storage_buffer_offset_alignment, 16);
  std::vector<gpu::Buffer> buffers;
  std::set<VkBuffer> blocks;
  for (int i = 0; i < 500; ++i) {
    buffers.push_back(dev.allocate(1000 + i, fmt::format("t{}", i)));
    CHECK(buffers.back().offset() % align == 0);
    blocks.insert(buffers.back().handle());
  }
  // 500 small tensors share one block rather than making 500 allocations.
  CHECK(blocks.size() == 1);
  // Ranges never overlap.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (auto& b : buffers) ranges.emplace_back(b.offset(), b.offset() + b.size());
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) CHECK(ranges[i - 1].second <= ranges[i].first);
  // Freed space is reused: free all, allocate one big range; it lies inside the span the small
  // ones covered (not beyond it). Not necessarily at its very start: earlier tests in the same
  // process may have left a long-lived buffer (the placeholder) and a small hole before it.
  const std::uint64_t first = ranges.front().first, end = ranges.back().second;
  buffers.clear();
  gpu::Buffer big = dev.allocate(400000, "big");
  CHECK(big.handle() == *blocks.begin());
  CHECK(big.offset() >= first);
  CHECK(big.offset() + big.size() <= end);
  CHECK_THROWS_AS(dev.allocate(0, "empty"), std::invalid_argument);
}

TEST_CASE("an allocation beyond what the device can bind is a clear error", "[gpu][bad-input]") {
  gpu::Device& dev = device();
  const std::uint64_t too_big = dev.info().max_storage_buffer_range + 1;
  try {
    (void)dev.allocate(too_big, "huge_activation");
    FAIL("expected OutOfDeviceMemory");
  } catch (const gpu::OutOfDeviceMemory& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("huge_activation"));
    CHECK_THAT(what, Catch::Contains("maxStorageBufferRange"));
  }
}

TEST_CASE("recorder inserts barriers only for dependencies, and replays", "[gpu]") {
  gpu::Device& dev = device();
  std::mt19937 rng(1);
  auto x = random_values(rng, 1000);
  auto a = upload({1000}, x, "a");
  auto b = upload({1000}, x, "b");
  auto ya = output_tensor({1000}, "ya");
  auto yb = output_tensor({1000}, "yb");
  auto z = output_tensor({1000}, "z");
  gpu::Recorder rec(dev, "barrier-test");
  ops::encode_activation({dev, rec}, ops::Activation::relu(), a, ya, "relu a");
  ops::encode_activation({dev, rec}, ops::Activation::relu(), b, yb, "relu b");  // independent
  CHECK(rec.barrier_count() == 0);
  ops::encode_activation({dev, rec}, ops::Activation::sigmoid(), ya, z, "sigmoid ya");  // reads ya
  CHECK(rec.barrier_count() == 1);
  ops::encode_activation({dev, rec}, ops::Activation::relu(), b, ya, "overwrite ya");  // WAR on ya
  CHECK(rec.barrier_count() == 2);
  rec.submit_and_wait();
  if (dev.info().timestamps) {
    REQUIRE(rec.timings().size() == 4);
    CHECK(rec.timings()[2].label == "sigmoid ya");
  }
  auto first = ops::download_tensor(dev, z);
  rec.submit_and_wait();  // replay the same recording
  auto second = ops::download_tensor(dev, z);
  CHECK(first == second);
  auto expected = reference::HostTensor({1000});
  for (int i = 0; i < 1000; ++i) expected.data[i] = 1.0 / (1.0 + std::exp(-std::max(0.0, double(x[i]))));
  require_close("recorder", "relu->sigmoid chain", second, expected, 1e-6, 1e-6);
}

TEST_CASE("dispatches beyond maxComputeWorkGroupCount[0] fold into a 2-D grid", "[gpu]") {
  gpu::Device& dev = device();
  // One more workgroup than fits in x: every element must still be written exactly once.
  const std::uint64_t count = (std::uint64_t{dev.info().max_workgroup_count[0]} + 1) * 64 + 3;
  if (count * 4 > dev.info().max_storage_buffer_range) {
    WARN("device limits make the 2-D fold case too large to bind; not run");
    return;
  }
  const gpu::Groups g = gpu::groups_for(count, 64, dev);
  CHECK(g.y == 2);
  std::vector<float> x(count);
  for (std::uint64_t i = 0; i < count; ++i) x[i] = static_cast<float>(i % 1000) - 500.0f;
  const ops::Shape shape{static_cast<std::int64_t>(count)};
  auto tx = upload(shape, x, "x");
  auto ty = output_tensor(shape, "y");
  auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
    ops::encode_activation({dev, rec}, ops::Activation::relu(), tx, ty, "relu 4M");
  });
  std::int64_t wrong = 0;
  for (std::uint64_t i = 0; i < count; ++i) wrong += got[i] == std::max(x[i], 0.0f) ? 0 : 1;
  CHECK(wrong == 0);
  require_no_validation_messages();
}

namespace {
gpu::DeviceOptions validating() {
  gpu::DeviceOptions o;
  o.validation = true;
  return o;
}
}  // namespace

TEST_CASE("the pipeline cache is written to disk and read back", "[gpu]") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / fmt::format("fusescope-cache-test-{}", ::getpid());
  std::filesystem::remove_all(dir);
  ::setenv("FUSESCOPE_CACHE_DIR", dir.c_str(), 1);
  {
    gpu::Device dev(validating());
    auto t = ops::make_tensor(dev, {64}, "t");
    gpu::Recorder rec(dev);
    ops::encode_activation({dev, rec}, ops::Activation::tanh(), t, t, "tanh");
    rec.submit_and_wait();
  }
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
  REQUIRE(files.size() == 1);  // no temporary left behind
  CHECK(files[0].extension() == ".bin");
  // At least Vulkan's 32-byte header; lavapipe stores nothing after it (it does not cache
  // compiled pipelines), GPU drivers store the compiled pipelines.
  CHECK(std::filesystem::file_size(files[0]) >= 32);
  {
    gpu::Device dev(validating());
    CHECK(!gpu::read_pipeline_cache_file(dev.info(), dev.physical()).empty());
    CHECK(dev.validation_messages().empty());
  }
  // A corrupt cache file is ignored, not fatal.
  { std::ofstream(files[0], std::ios::trunc) << "garbage"; }
  {
    gpu::Device dev(validating());
    CHECK(gpu::read_pipeline_cache_file(dev.info(), dev.physical()).empty());
  }
  ::unsetenv("FUSESCOPE_CACHE_DIR");
  std::filesystem::remove_all(dir);
}

TEST_CASE("device choice: bad FUSESCOPE_DEVICE and out-of-range index are clear errors", "[gpu][bad-input]") {
  ::setenv("FUSESCOPE_DEVICE", "not-a-number", 1);
  CHECK_THROWS_WITH(gpu::Device(gpu::DeviceOptions{}), Catch::Contains("FUSESCOPE_DEVICE"));
  ::unsetenv("FUSESCOPE_DEVICE");
  gpu::DeviceOptions far;
  far.index = 99;
  CHECK_THROWS_WITH(gpu::Device(far), Catch::Contains("device 99 does not exist"));
}
