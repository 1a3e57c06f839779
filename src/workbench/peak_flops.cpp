#include "workbench/peak_flops.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "gpu/error.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"
#include "ops/tensor.hpp"

namespace fusescope::workbench {

namespace {

struct PeakPush {
  std::uint32_t iterations;
  std::uint32_t count;
};

// Rounds per invocation: enough that the chains dominate the invocation's set-up and final
// store, and 256 loop iterations stay far below lavapipe's loop limit (gpu::DeviceInfo).
constexpr std::uint32_t kRounds = 256;
constexpr double kFlopsPerRound = 16.0 * 8 * 4 * 2;  // 16 steps x 8 vec4 chains x 4 lanes x fma

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

PeakFlops measure_peak_flops(gpu::Device& device, ops::Precision precision, int runs) {
  if (!device.info().timestamps)
    throw gpu::DeviceLimit(fmt::format("peak flops: {} has no timestamp queries on its compute queue, "
                                       "so its GPU time cannot be measured",
                                       device.info().name));
  // fp16s is fp32 arithmetic: measure the fp32 kernel (16-bit storage does not touch the loop).
  const ops::Precision arith = precision == ops::Precision::fp16 ? ops::Precision::fp16 : ops::Precision::fp32;
  auto time_dispatches = [&](std::uint64_t invocations, int count) {
    // Only the first 64k invocations store (the shader cannot know which, so none skips work).
    const std::uint64_t writers = std::min<std::uint64_t>(invocations, 65536);
    const ops::Tensor out = ops::make_tensor(device, {static_cast<std::int64_t>(writers)}, "peak_fma.y",
                                             ops::storage_dtype(arith));
    gpu::Recorder recorder(device, "peak_fma");
    const ops::Encoder enc{device, recorder, arith};
    const gpu::KernelSpec spec{ops::shader_variant(enc, "peak_fma", "peak flops"), 1, sizeof(PeakPush),
                               {ops::kLocalSize}};
    const PeakPush push{kRounds, static_cast<std::uint32_t>(writers)};
    for (int i = 0; i < count; ++i)
      recorder.dispatch(device.kernel(spec), {{out.buffer, gpu::Access::write}}, push,
                        gpu::groups_for(invocations, ops::kLocalSize, device), "peak_fma");
    recorder.submit_and_wait();
    std::vector<double> ms;
    for (const gpu::DispatchTiming& t : recorder.timings()) ms.push_back(t.gpu_ms);
    return ms;
  };
  // Grow until one dispatch takes 20 ms: long enough for the timestamps' resolution and to fill
  // every core or SM, short enough for a CPU driver (lavapipe: ~0.1 s in all).
  // The median of 3 at each size: the first dispatch of a pipeline can be slow (caches, JIT).
  std::uint64_t invocations = 1024;
  double ms = median(time_dispatches(invocations, 3));
  while (ms < 20.0 && invocations < (std::uint64_t{1} << 31)) {
    const double grow = ms > 0.5 ? std::clamp(25.0 / ms, 2.0, 64.0) : 64.0;
    invocations = std::min<std::uint64_t>(static_cast<std::uint64_t>(static_cast<double>(invocations) * grow),
                                          std::uint64_t{1} << 31);
    invocations = (invocations + ops::kLocalSize - 1) / ops::kLocalSize * ops::kLocalSize;
    ms = median(time_dispatches(invocations, 3));
  }
  PeakFlops r;
  r.invocations = invocations;
  r.dispatch_ms = median(time_dispatches(invocations, std::max(runs, 1)));
  r.gflops = static_cast<double>(invocations) * kRounds * kFlopsPerRound / (r.dispatch_ms * 1e6);
  return r;
}

}  // namespace fusescope::workbench
