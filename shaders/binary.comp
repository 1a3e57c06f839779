// binary: y = a (op) b, elementwise with NumPy broadcasting, up to rank 6.
// Layout: a, b, y contiguous row-major. The output index is unravelled over out_dims (rank
// dims, last fastest) and re-ravelled with each operand's strides, which are 0 along the
// dims it broadcasts (ops::broadcast_strides), so one source serves every broadcast pattern.
// One invocation per output element. fp32; division is IEEE (x / 0 gives +-inf or NaN).
#version 450
#include "common.glsl"

layout(constant_id = 1) const uint OP = 0u;  // ops::BinaryOp: add, sub, mul, div

const uint OP_ADD = 0u;
const uint OP_SUB = 1u;
const uint OP_MUL = 2u;
const uint OP_DIV = 3u;

layout(std430, binding = 0) readonly buffer InputA { float a[]; };
layout(std430, binding = 1) readonly buffer InputB { float b[]; };
layout(std430, binding = 2) writeonly buffer Output { float y[]; };

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
  float x = a[ia];
  float z = b[ib];
  float r;
  if (OP == OP_ADD) r = x + z;
  else if (OP == OP_SUB) r = x - z;
  else if (OP == OP_MUL) r = x * z;
  else r = x / z;
  y[i] = r;
}
