#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <optional>

#include "graph/executor.hpp"
#include "ops/winograd.hpp"
#include "workbench/kernel_cases.hpp"

namespace fusescope::testing {

namespace {
std::optional<std::uint32_t> g_device_index;
}

void set_device_index(int index) { g_device_index = static_cast<std::uint32_t>(index); }

ops::Conv2dParams conv_params(std::int64_t c, std::int64_t oc, std::int64_t k, std::int64_t stride,
                              std::int64_t pad, std::int64_t dilation, std::int64_t groups, bool bias) {
  return workbench::square_conv_params(c, oc, k, stride, pad, dilation, groups, bias);
}

namespace {
std::unique_ptr<gpu::Device> g_device;
}  // namespace

gpu::Device& device() {
  if (!g_device) {
    gpu::DeviceOptions options;
    options.index = g_device_index;
    options.validation = true;
    g_device = std::make_unique<gpu::Device>(options);
  }
  return *g_device;
}

void release_device() { g_device.reset(); }

std::vector<float> random_values(std::mt19937& rng, std::int64_t count, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& x : v) x = dist(rng);
  return v;
}

reference::HostTensor to_host(const ops::Shape& shape, std::span<const float> values) {
  return reference::HostTensor(shape, std::vector<double>(values.begin(), values.end()));
}

ops::Tensor upload(const ops::Shape& shape, std::span<const float> values, const std::string& name,
                   ops::DType dtype) {
  return ops::upload_tensor(device(), shape, values, name, dtype);
}

ops::Tensor output_tensor(const ops::Shape& shape, const std::string& name, ops::DType dtype) {
  return ops::make_tensor(device(), shape, name, dtype);
}

gpu::BufferView poison_region(const ops::Tensor& output) {
  gpu::BufferView region = output.buffer;
  if (region.size % 4 == 0) return region;
  if (!output.storage.view().valid()) {
    throw std::logic_error(output.name + ": run_kernel cannot poison the last element of a view "
                                         "whose size is not a whole number of words");
  }
  region.size = (region.size + 3) / 4 * 4;
  return region;
}

numerics::ErrorStats require_close(const std::string& kernel, const std::string& what, std::span<const float> actual,
                                   const reference::HostTensor& expected, double rel_l2_max,
                                   double max_abs_max) {
  const numerics::ErrorStats e = numerics::measure_error(actual, expected.data);
  const double abs_limit = max_abs_max * std::max(1.0, e.max_abs_expected);
  INFO(what << ": " << numerics::to_string(e) << "; limits rel-L2 " << rel_l2_max << ", max-abs "
            << abs_limit);
  CHECK(e.non_finite == 0);
  CHECK(e.rel_l2 <= rel_l2_max);
  CHECK(e.max_abs <= abs_limit);
  require_no_validation_messages();
  log_error(kernel, what, e);
  return e;
}

void require_no_validation_messages() {
  auto messages = device().validation_messages();
  device().clear_validation_messages();
  std::string joined;
  for (const auto& m : messages) joined += m + "\n";
  INFO(joined);
  CHECK(messages.empty());
}

void log_error(const std::string& kernel, const std::string& what, const numerics::ErrorStats& e) {
  const char* path = std::getenv("FUSESCOPE_ERROR_LOG");
  if (path == nullptr || *path == '\0') return;
  if (std::FILE* f = std::fopen(path, "a")) {
    std::fprintf(f, "%s\t%s\t%.3e\t%.3e\n", kernel.c_str(), what.c_str(), e.rel_l2, e.max_abs);
    std::fclose(f);
  }
}

std::vector<float> run_graph(const graph::Graph& g, const std::vector<float>& x) {
  graph::Executor e(device(), g);
  e.set_input(x);
  e.run();
  require_no_validation_messages();
  return e.read(g.value(g.outputs()[0]).name);
}

std::map<std::string, std::vector<float>> run_graph_all_values(const graph::Graph& g, const std::vector<float>& x) {
  graph::ExecutorOptions eo;
  eo.tap_all = true;
  graph::Executor e(device(), g, eo);
  e.set_input(x);
  e.run();
  require_no_validation_messages();
  std::map<std::string, std::vector<float>> out;
  for (const auto& n : g.nodes()) out[g.value(n.output).name] = e.read(g.value(n.output).name);
  return out;
}

std::filesystem::path fetched_model(const std::filesystem::path& relative) {
  const std::filesystem::path path = std::filesystem::path(FUSESCOPE_SOURCE_DIR) / "assets" / "models" / relative;
  if (std::filesystem::exists(path)) return path;
  WARN("skipped: " << path.string() << " is absent (run scripts/fetch-models.sh)");
  note_skipped();
  return {};
}

namespace {
bool g_skipped = false;
}  // namespace

void note_skipped() { g_skipped = true; }
bool skipped() { return g_skipped; }

const char* conv_kernel_name(ops::ConvAlgorithm algorithm) {
  switch (algorithm) {
    case ops::ConvAlgorithm::gemm: return "conv2d_gemm";
    case ops::ConvAlgorithm::subgroup: return "conv2d_subgroup";
    case ops::ConvAlgorithm::depthwise: return "conv2d_depthwise";
    case ops::ConvAlgorithm::winograd: return "conv2d_winograd";
    case ops::ConvAlgorithm::winograd4: return "conv2d_winograd4";
    case ops::ConvAlgorithm::direct:
    case ops::ConvAlgorithm::automatic: break;
  }
  return "conv2d";
}

ops::Tensor winograd_weights_for(ops::ConvAlgorithm algorithm, const ops::Conv2dParams& p, std::span<const float> w,
                                 ops::DType dtype) {
  const int tile = ops::winograd_tile(algorithm);
  if (tile == 0) return {};
  return upload(ops::winograd_weight_shape(p, tile), ops::winograd_weights(p, w, tile), "w:winograd", dtype);
}

}  // namespace fusescope::testing
