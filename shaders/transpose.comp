// transpose: y = x with its axes permuted (ONNX Transpose): output element (i_0, ..., i_{r-1})
// is x[i_0 * src_stride[0] + ... + i_{r-1} * src_stride[r-1]], where src_stride[d] is the
// row-major stride of the input dim that output dim d reads (the host folds the permutation into
// these strides, after collapsing size-1 dims and dims that stay adjacent: rank <= 6).
// Layout: x and y row-major in the shapes the encoder was given (the executor hands physical
// shapes and permutations under --layout nhwc). One invocation per output element, so writes are
// contiguous and reads strided. A pure copy over uints: every bit pattern moves unchanged.
// variants: f16s f16
// The 16-bit variants (identical: no arithmetic) move uint16_t elements.
#version 450
#include "common.glsl"

#ifdef FS_STORAGE_F16
#define ELEMENT_T uint16_t
#else
#define ELEMENT_T uint
#endif

layout(std430, binding = 0) readonly buffer Source { ELEMENT_T x[]; };
layout(std430, binding = 1) writeonly buffer Destination { ELEMENT_T y[]; };

layout(push_constant) uniform Push {
  uint count;  // output elements
  uint rank;   // 1..6
  uint out_dims[6];
  uint src_stride[6];
} pc;

void main() {
  uint idx = flat_invocation_index();
  if (idx >= pc.count) return;
  uint rem = idx;
  uint src = 0u;
  for (int d = int(pc.rank) - 1; d >= 0; --d) {
    uint i = rem % pc.out_dims[d];
    rem /= pc.out_dims[d];
    src += i * pc.src_stride[d];
  }
  y[idx] = x[src];
}
