// layer_norm: y = (x - mean) / sqrt(var + eps) * gamma + beta along one axis, mean and the
// biased variance over that axis (torch.nn.LayerNorm, ONNX LayerNormalization with one axis).
// Layout: x and y viewed [outer, axis, inner] (row-major); the axis entries of one row are
// `inner` floats apart; affine is fp32 [2, axis]: row 0 gamma, row 1 beta. One invocation per
// (outer, inner) row walks it three times: the mean, the variance as the mean of (x - mean)^2
// (two passes, as PyTorch's exported ReduceMean/Sub/Pow chain computes it, so no cancellation
// of E[x^2] - E[x]^2), then the writes. fp32 throughout; the result is rounded once.
// Neighbouring invocations take neighbouring inner positions, so reads coalesce when inner > 1.
// variants: f16s f16
// Both 16-bit variants read and write fp16 but compute in fp32: the sums over hundreds of
// channels would lose the small terms in fp16, and the cost is memory traffic either way.
#version 450
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) readonly buffer Affine { float affine[]; };
layout(std430, binding = 2) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint rows;  // outer * inner
  uint axis;
  uint inner;
  float eps;
} pc;

void main() {
  uint row = flat_invocation_index();
  if (row >= pc.rows) return;
  uint o = row / pc.inner;
  uint i = row % pc.inner;
  uint base = o * pc.axis * pc.inner + i;

  float sum = 0.0;
  for (uint a = 0u; a < pc.axis; ++a) sum += LOAD_F32(x[base + a * pc.inner]);
  float mean = sum / float(pc.axis);
  float squares = 0.0;
  for (uint a = 0u; a < pc.axis; ++a) {
    float d = LOAD_F32(x[base + a * pc.inner]) - mean;
    squares += d * d;
  }
  // Divide by the root, as the exported chain does (Div by Sqrt), not multiply by inversesqrt:
  // a correctly rounded sqrt and one division keep the two within an ulp or so.
  float root = sqrt(squares / float(pc.axis) + pc.eps);
  for (uint a = 0u; a < pc.axis; ++a) {
    float n = (LOAD_F32(x[base + a * pc.inner]) - mean) / root;
    y[base + a * pc.inner] = STORE_T(n * affine[a] + affine[pc.axis + a]);
  }
}
