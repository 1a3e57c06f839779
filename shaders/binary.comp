// binary: y = a (op) b, elementwise with NumPy broadcasting, up to rank 6.
// Layout: a, b, y contiguous row-major. The output index is unravelled over out_dims (rank
// dims, last fastest) and re-ravelled with each operand's strides, which are 0 along the
// dims it broadcasts (ops::broadcast_strides), so one source serves every broadcast pattern.
// One invocation per output element. fp32; division is IEEE (x / 0 gives +-inf or NaN).
// variants: f16s f16
// f16s: a, b, y fp16 in memory, the op in fp32, one rounding on the store. f16: the op in fp16
// (add/sub/mul correctly rounded, division within 2.5 ulp by Vulkan's precision rules); results
// past 65504 become inf, as fp16 arithmetic does.
#version 450
#include "common.glsl"

layout(constant_id = 1) const uint OP = 0u;  // ops::BinaryOp: add, sub, mul, div

const uint OP_ADD = 0u;
const uint OP_SUB = 1u;
const uint OP_MUL = 2u;
const uint OP_DIV = 3u;

layout(std430, binding = 0) readonly buffer InputA { STORE_T a[]; };
layout(std430, binding = 1) readonly buffer InputB { STORE_T b[]; };
layout(std430, binding = 2) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint count;
  uint rank;
  uint out_dims[6];
  uint a_strides[6];
  uint b_strides[6];
} pc;

void main() {
  uint i = flat_invocation_index();
  if (i >= pc.count) return;
  uint rest = i;
  uint ia = 0u;
  uint ib = 0u;
  for (uint d = pc.rank; d-- > 0u;) {
    uint coord = rest % pc.out_dims[d];
    rest /= pc.out_dims[d];
    ia += coord * pc.a_strides[d];
    ib += coord * pc.b_strides[d];
  }
  ARITH_T x = LOAD(a[ia]);
  ARITH_T z = LOAD(b[ib]);
  ARITH_T r;
  if (OP == OP_ADD) r = x + z;
  else if (OP == OP_SUB) r = x - z;
  else if (OP == OP_MUL) r = x * z;
  else r = x / z;
  y[i] = STORE(r);
}
