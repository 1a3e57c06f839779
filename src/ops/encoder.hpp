// Where an op's GPU encoder records and how: the device (kernels, placeholder buffers), the
// recorder it appends dispatches to, the arithmetic precision of the kernels it picks, and the
// memory layout of 4-D activations. Storage precision is each tensor's dtype.
#pragma once
#include <cstdint>
#include <memory>

namespace fusescope::gpu {
class Device;
class Recorder;
class ShaderOverride;
}  // namespace fusescope::gpu

namespace fusescope::ops {

// fp32: fp32 storage and arithmetic. fp16s: 16-bit storage of weights and activations
// (VK_KHR_16bit_storage), fp32 arithmetic. fp16: fp16 storage and arithmetic (shaderFloat16).
enum class Precision : std::uint32_t { fp32 = 0, fp16s = 1, fp16 = 2 };

const char* to_string(Precision p);

// How a 4-D activation's elements lie in memory. Tensors keep their logical NCHW shape either
// way (ops/tensor.hpp): the layout says only in which order the bytes hold them.
enum class Layout : std::uint32_t { nchw = 0, nhwc = 1 };

const char* to_string(Layout layout);

struct Encoder {
  gpu::Device& device;
  gpu::Recorder& recorder;
  Precision precision = Precision::fp32;
  // Read by the layout-aware encoders only: conv2d (input, residual, output; weights stay
  // OIHW), conv_transpose2d (weights stay [C, OC/groups, KH, KW]), resize, pool2d and
  // global_average_pool, which take logical NCHW shapes and index NHWC memory
  // when this is nhwc. The layout-free ones (activation, batchnorm, binary, concat/slice,
  // reduce_mean, softmax, gemm) ignore it: they see memory through the shapes they are given, so a caller
  // running NHWC hands them the physical shapes (BatchNorm over NHWC is [N*H*W, C]).
  Layout layout = Layout::nchw;
  // 0: every op is one dispatch. Otherwise a convolution of more multiply-adds is recorded as
  // several dispatches of at most this many, each starting a new recorder segment, so a caller
  // that submits segment by segment never holds the queue for long (the window shares it with
  // the network). Same results bit for bit; only conv2d splits (it dominates every model).
  std::uint64_t max_dispatch_macs = 0;
  // Set: every kernel this encoder asks for runs this user source instead of the built-in one
  // (the shader sandbox; gpu/shader_override.hpp). The executor sets it for one node's encoding
  // only. Encoders get their pipelines through kernel_for (ops/encode_util.hpp), which applies it.
  std::shared_ptr<const gpu::ShaderOverride> kernel_override;
  // false: the kernels that have texel variants (the depthwise conv, binary, resize) run their
  // storage-buffer variants, which they otherwise keep for tensors a texel view cannot hold.
  // The same results bit for bit; the shader suite compares the two.
  bool texel_reads = true;
};

}  // namespace fusescope::ops
