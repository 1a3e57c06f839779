// Encodes the preprocessing (ops/preprocess.hpp) as one dispatch: the frame's packed bytes in
// device memory become the network input tensor. The frame buffer is read as 32-bit words, so it
// must hold the frame's bytes rounded up to a multiple of 4 (upload_frame_bytes does that).
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "gpu/buffer.hpp"
#include "ops/encoder.hpp"
#include "ops/preprocess.hpp"
#include "ops/tensor.hpp"

namespace fusescope::gpu {
class Device;
}

namespace fusescope::ops {

// Bytes a frame buffer needs: preprocess_source_bytes(p) rounded up to whole 32-bit words.
std::uint64_t preprocess_frame_buffer_bytes(const PreprocessParams& p);

// output must have preprocess_output_shape(params) and dtype params.dtype (params.dtype, not
// enc.precision, picks the variant: f16 storage with fp32 arithmetic). frame holds at least
// preprocess_frame_buffer_bytes(params) bytes and must not overlap the output. Throws
// InvalidArgument naming `label` on any mismatch.
void encode_preprocess(const Encoder& enc, const PreprocessParams& params, const gpu::BufferView& frame,
                       const Tensor& output, const std::string& label = "preprocess");

// A device buffer holding `bytes`, zero-padded to a multiple of 4.
gpu::Buffer upload_frame_bytes(gpu::Device& device, std::span<const std::uint8_t> bytes,
                               const std::string& name = "frame");

// One-shot: records the preprocessing of a frame already on the device into `out` (at least the
// output's bytes), submits, waits.
void run_preprocess(gpu::Device& device, const PreprocessParams& params, const gpu::BufferView& frame,
                    const gpu::BufferView& out, const std::string& label = "preprocess");

}  // namespace fusescope::ops
