// What every shader test shares: the device (validation layer always on), seeded random
// tensors, conversions to the oracle's float64 tensors, and the check that compares a kernel's
// output with the oracle and prints both error numbers.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "gpu/device.hpp"
#include "graph/graph.hpp"
#include "gpu/recorder.hpp"
#include "numerics/error_metrics.hpp"
#include "ops/conv2d.hpp"
#include "ops/tensor.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::testing {

void set_device_index(int index);

// Square-kernel conv parameters for the case tables: symmetric padding, same stride and
// dilation on both axes.
ops::Conv2dParams conv_params(std::int64_t c, std::int64_t oc, std::int64_t k, std::int64_t stride = 1,
                              std::int64_t pad = 0, std::int64_t dilation = 1, std::int64_t groups = 1,
                              bool bias = true);

// One device per test process, validation on. Messages are cleared at the start of each use
// of `gpu_case`, and each kernel check requires that none arrived.
gpu::Device& device();
// Destroys the shared device (tests/main.cpp, after the last test): what the validation layer
// says while it goes (objects never destroyed) is counted by gpu::Device and fails the run.
void release_device();

// Seeded, so every run of the suite sees the same values (seed printed on failure via INFO).
std::vector<float> random_values(std::mt19937& rng, std::int64_t count, float lo = -1.0f, float hi = 1.0f);

reference::HostTensor to_host(const ops::Shape& shape, std::span<const float> values);

// Values are converted to `dtype` on upload (round to nearest even for f16).
ops::Tensor upload(const ops::Shape& shape, std::span<const float> values, const std::string& name,
                   ops::DType dtype = ops::DType::f32);

// A fresh output tensor.
ops::Tensor output_tensor(const ops::Shape& shape, const std::string& name,
                          ops::DType dtype = ops::DType::f32);

// The region run_kernel poisons: the tensor's bytes rounded up to whole 32-bit words, since
// vkCmdFillBuffer writes words only and an f16 tensor with an odd element count would otherwise
// keep its last element unpoisoned. The rounding stays inside the tensor's own allocation
// (the arena reserves whole 256-byte blocks), so it needs a tensor that owns its storage.
gpu::BufferView poison_region(const ops::Tensor& output);

// Records `encode` after poisoning `output` with NaN (ops::poison_word of its dtype), submits,
// downloads the output, and checks no validation message arrived.
template <class Encode>
std::vector<float> run_kernel(const ops::Tensor& output, Encode&& encode) {
  gpu::Recorder recorder(device(), "test");
  recorder.fill(poison_region(output), ops::poison_word(output.dtype));
  encode(recorder);
  recorder.submit_and_wait();
  return ops::download_tensor(device(), output);
}

// The kernel an algorithm runs, as the error log names it: "conv2d", "conv2d_gemm",
// "conv2d_subgroup" or "conv2d_depthwise" (conv2d.comp with its taps fixed).
const char* conv_kernel_name(ops::ConvAlgorithm algorithm);
// For a conv test that runs `algorithm`: winograd's weights U = G w G^T (ops::winograd_weights,
// as the executor makes them at load) uploaded in `dtype`, to pass as
// Conv2dOperands::winograd_weight; an empty tensor for any other algorithm. Winograd computes
// 3x3 stride-1 convs only: callers skip the others (test_conv2d checks they are refused).
ops::Tensor winograd_weights_for(ops::ConvAlgorithm algorithm, const ops::Conv2dParams& p,
                                 std::span<const float> w, ops::DType dtype = ops::DType::f32);
inline const ops::Tensor* winograd_operand(const ops::Tensor& u) { return u.numel() > 0 ? &u : nullptr; }

// Tolerances are stated per kernel where they are used; this checks and prints.
// Fails when rel-L2 > rel_l2_max or max-abs > max_abs_max * max(1, max|expected|).
numerics::ErrorStats require_close(const std::string& kernel, const std::string& what, std::span<const float> actual,
                                   const reference::HostTensor& expected, double rel_l2_max,
                                   double max_abs_max);

// Fails the running test if the validation layer said anything since the last call.
void require_no_validation_messages();

// Appends one line per checked case to $FUSESCOPE_ERROR_LOG (when set) so scripts can report
// each kernel's worst measured error across the suite.
void log_error(const std::string& kernel, const std::string& what, const numerics::ErrorStats& e);

// How many nodes of `g` have attributes T (graph::ConvAttrs, ...).
template <class T>
int count_nodes(const graph::Graph& g) {
  int n = 0;
  for (const graph::Node& node : g.nodes()) n += node.as<T>() != nullptr;
  return n;
}

// Runs `g` (default executor options) on the device with `x` as its one input; returns its first
// output, after checking the validation layer stayed quiet.
std::vector<float> run_graph(const graph::Graph& g, const std::vector<float>& x);
// The same with every node's output tapped: value name -> contents.
std::map<std::string, std::vector<float>> run_graph_all_values(const graph::Graph& g, const std::vector<float>& x);

// A real model under assets/models/ (scripts/fetch-models.sh puts it there). When the file is
// absent (an offline machine that never fetched it) this warns, naming the file, calls
// note_skipped() and returns an empty path: the caller returns, and CTest reports SKIPPED.
std::filesystem::path fetched_model(const std::filesystem::path& relative);

// A test whose data is missing calls note_skipped() and returns; the process then exits 77,
// which CTest reports as SKIPPED (each test case runs in its own process), never as passed.
void note_skipped();
bool skipped();

}  // namespace fusescope::testing
