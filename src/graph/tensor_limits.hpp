// Limits before work: every tensor of a graph is sized (with 64-bit overflow checks) before any
// memory is allocated for inputs, oracle copies or device buffers, so an absurd --size or a model
// declaring huge dimensions is refused in milliseconds with the tensor named — not after seconds
// of computing, and not as std::bad_alloc.
#pragma once
#include <cstdint>
#include <string>

#include "graph/graph.hpp"

namespace fusescope::graph {

// The per-tensor cap: $FUSESCOPE_MAX_TENSOR_BYTES when set (a positive byte count), else 4 GiB —
// the most one Vulkan storage-buffer binding can address on any device (maxStorageBufferRange
// is 32-bit), and the device is where every activation lives.
std::uint64_t max_tensor_bytes();

// The most dimensions a tensor may have, as in ONNX Runtime's CPU kernels and cuDNN's descriptors:
// CNN tensors have 4, a transformer's at most 6; more is a broken or hostile file.
inline constexpr std::size_t kMaxRank = 8;

// Throws ops::InvalidArgument "<context>: tensor 'x' is 1x3x100000x100000 = 3e+10 values
// (111.8 GiB as fp32), more than the 4.0 GiB one tensor may take (...)" for the first value whose
// fp32 size exceeds `max_bytes` or whose element count overflows, or whose rank is over kMaxRank.
// Zero-size tensors are fine.
void check_tensor_sizes(const Graph& g, std::uint64_t max_bytes, const std::string& context);

// Throws gpu::OutOfDeviceMemory — what the device's memory arena throws when it is asked for
// the buffer, so the CLI exits 1 and the window offers smaller loads — for the first value
// whose size at `element_bytes` per element (4 for fp32 storage, 2 for fp16) exceeds
// `binding_bytes`, a device's maxStorageBufferRange: before calibration, planning and upload
// rather than after them.
void check_tensors_fit_binding(const Graph& g, std::uint64_t binding_bytes, std::uint64_t element_bytes,
                               const std::string& context);

}  // namespace fusescope::graph
