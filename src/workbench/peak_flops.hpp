// The device's multiply-add peak, measured: shaders/peak_fma.comp (independent fma chains on
// registers, no memory traffic) timed by timestamp queries. `fusescope bench --peak` reads each
// network's and layer's GFLOP/s against it (issue 11), so "how fast" comes with "of what".
#pragma once
#include "gpu/device.hpp"
#include "ops/encoder.hpp"

namespace fusescope::workbench {

struct PeakFlops {
  double gflops = 0;       // median of the timed dispatches, an fma counted as 2 flops
  double dispatch_ms = 0;  // median GPU time of one timed dispatch
  std::uint64_t invocations = 0;
};

// fp32 or fp16 arithmetic (fp16 needs shaderFloat16: InvalidArgument otherwise; fp16s is fp32
// arithmetic and measures as fp32). Grows the dispatch until it takes >= 20 ms, then times
// `runs` dispatches. Throws gpu::DeviceLimit when the device has no timestamps.
PeakFlops measure_peak_flops(gpu::Device& device, ops::Precision precision, int runs = 5);

}  // namespace fusescope::workbench
