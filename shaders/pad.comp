// pad: y = x grown by pad_begin[d] elements before and some after along each axis d (ONNX Pad):
// output index o_d reads input index i_d = o_d - pad_begin[d]; where i_d falls outside
// [0, in_dims[d]) the mode decides:
//   constant: the element is the fill value;
//   reflect:  i_d mirrors about the edge element (-1 -> 1, n -> n - 2), at most once (the shape
//             rule keeps pads <= n - 1);
//   edge:     i_d clamps to [0, n - 1].
// Layout: x and y row-major in the shapes the encoder was given (physical shapes and pads under
// --layout nhwc). One invocation per output element. A pure copy over uints: every bit pattern
// moves unchanged, and the fill arrives as the bits of an element of the tensors' own dtype
// (the host rounds it to fp16 for the 16-bit variants as uploads do), so no variant converts.
// variants: f16s f16
// The 16-bit variants (identical: no arithmetic) move uint16_t elements.
#version 450
#include "common.glsl"

#ifdef FS_STORAGE_F16
#define ELEMENT_T uint16_t
#else
#define ELEMENT_T uint
#endif

layout(constant_id = 1) const uint MODE = 0u;  // ops::PadMode: 0 constant, 1 reflect, 2 edge

layout(std430, binding = 0) readonly buffer Source { ELEMENT_T x[]; };
layout(std430, binding = 1) writeonly buffer Destination { ELEMENT_T y[]; };

layout(push_constant) uniform Push {
  uint count;  // output elements
  uint rank;   // 1..6
  uint fill_bits;
  uint out_dims[6];
  uint in_dims[6];
  uint pad_begin[6];
} pc;

void main() {
  uint idx = flat_invocation_index();
  if (idx >= pc.count) return;
  uint rem = idx;
  uint src = 0u;
  uint stride = 1u;
  for (int d = int(pc.rank) - 1; d >= 0; --d) {
    int o = int(rem % pc.out_dims[d]);
    rem /= pc.out_dims[d];
    int n = int(pc.in_dims[d]);
    int i = o - int(pc.pad_begin[d]);
    if (i < 0 || i >= n) {
      if (MODE == 0u) {
        y[idx] = ELEMENT_T(pc.fill_bits);
        return;
      }
      if (MODE == 1u) {
        i = i < 0 ? -i : 2 * (n - 1) - i;
      } else {
        i = clamp(i, 0, n - 1);
      }
    }
    src += uint(i) * stride;
    stride *= uint(n);
  }
  y[idx] = x[src];
}
