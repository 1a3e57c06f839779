// copy_axis: copies `slices` consecutive entries of one axis from src to dst:
//   dst[o, dst_start + s, i] = src[o, src_start + s, i]   for o < outer, s < slices, i < inner
// Layout: src viewed [outer, src_axis, inner], dst viewed [outer, dst_axis, inner] (row-major).
// Concat is one dispatch per input (src_start 0, dst_start = running offset); slice is one
// dispatch (src_start = start, dst_start 0).
// One invocation per copied element; neighbouring invocations touch neighbouring floats along
// inner. A pure copy, declared over uints so every bit pattern (NaN payloads, the poison word
// tests fill with) moves unchanged whatever the driver does with float loads.
// variants: f16s f16
// The 16-bit variants (identical to each other: a copy has no arithmetic) move 16-bit
// elements: the buffers are uint16_t arrays, so every offset and count here is in elements of
// the tensors' own dtype, and a slice may start at an odd element.
#version 450
#include "common.glsl"

#ifdef FS_STORAGE_F16
#define ELEMENT_T uint16_t
#else
#define ELEMENT_T uint
#endif

layout(std430, binding = 0) readonly buffer Source { ELEMENT_T src[]; };
layout(std430, binding = 1) writeonly buffer Destination { ELEMENT_T dst[]; };

layout(push_constant) uniform Push {
  uint count;  // outer * slices * inner
  uint slices;
  uint inner;
  uint src_axis, src_start;
  uint dst_axis, dst_start;
} pc;

void main() {
  uint i = flat_invocation_index();
  if (i >= pc.count) return;
  uint in_ = i % pc.inner;
  uint t = i / pc.inner;
  uint s = t % pc.slices;
  uint o = t / pc.slices;
  dst[(o * pc.dst_axis + pc.dst_start + s) * pc.inner + in_] =
      src[(o * pc.src_axis + pc.src_start + s) * pc.inner + in_];
}
