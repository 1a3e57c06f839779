// pool2d: max or average pooling over H and W, with PyTorch's semantics (max_pool2d /
// avg_pool2d; ONNX MaxPool's dilations):
//   window rows [oy*SH - PT, oy*SH - PT + KH), clipped to the real input [0, H) for reading;
//   max: the largest real element among the taps oy*SH - PT + ky*DH (DH = 1 but for dilated max
//   pooling; padding never wins; NaN propagates, as in PyTorch);
//   average: sum of real elements / divisor, where the divisor is the window clipped to the
//   padded input [-PT, H + PB) when COUNT_INCLUDE_PAD, else the number of real elements.
// Ceil mode needs nothing here: the shape rule already sized OH/OW and dropped windows that
// would start inside the bottom/right padding, so every window holds a real element.
// Layout: x and y NCHW, or both NHWC when the NHWC constant is set (the executor's --layout
// nhwc); the window and its summation order are the same in both. One invocation per output
// element. fp32 sum in (ky, kx) order.
// variants: f16s f16
// f16s: fp16 in memory, fp32 sum and division. f16: the window sum (at most KH*KW terms) and the
// division in fp16. Max pooling picks one stored element, so it is exact in every variant.
#version 450
#include "common.glsl"

layout(constant_id = 1) const uint KIND = 0u;  // ops::PoolKind: 0 max, 1 average
layout(constant_id = 2) const bool COUNT_INCLUDE_PAD = false;
layout(constant_id = 3) const bool NHWC = false;  // x and y NHWC instead of NCHW

layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint count;  // N * C * OH * OW
  uint H, W;
  uint OH, OW;
  uint KH, KW;
  uint SH, SW;
  int PT, PL, PB, PR;
  uint C;  // channels: the innermost stride of NHWC
  uint DH, DW;  // dilation (max pooling; 1 for average)
} pc;

void main() {
  uint idx = flat_invocation_index();
  if (idx >= pc.count) return;

  // Unpack (plane, oy, ox) from y's physical index; x[plane, iy, ix] sits at
  // base + iy * y_step + ix * x_step.
  uint ox, oy, base, y_step, x_step;
  if (NHWC) {
    uint c = idx % pc.C;
    uint t = idx / pc.C;
    ox = t % pc.OW;
    t /= pc.OW;
    oy = t % pc.OH;
    uint n = t / pc.OH;
    base = n * pc.H * pc.W * pc.C + c;
    y_step = pc.W * pc.C;
    x_step = pc.C;
  } else {
    ox = idx % pc.OW;
    uint t = idx / pc.OW;
    oy = t % pc.OH;
    uint nc = t / pc.OH;  // n * C + c: planes are contiguous in NCHW
    base = nc * pc.H * pc.W;
    y_step = pc.W;
    x_step = 1u;
  }

  int y0 = int(oy * pc.SH) - pc.PT;
  int x0 = int(ox * pc.SW) - pc.PL;
  int y1 = y0 + int(pc.KH);
  int x1 = x0 + int(pc.KW);
  // The divisor's window: clipped to the padded input only.
  int pad_area = (min(y1, int(pc.H) + pc.PB) - y0) * (min(x1, int(pc.W) + pc.PR) - x0);
  int ys = max(y0, 0);
  int xs = max(x0, 0);
  int ye = min(y1, int(pc.H));
  int xe = min(x1, int(pc.W));

  ARITH_T result;
  if (KIND == 0u) {
    result = ARITH_T(uintBitsToFloat(0xFF800000u));  // -inf
    for (uint ky = 0u; ky < pc.KH; ++ky) {
      int iy = y0 + int(ky * pc.DH);
      if (iy < 0 || iy >= int(pc.H)) continue;
      for (uint kx = 0u; kx < pc.KW; ++kx) {
        int ix = x0 + int(kx * pc.DW);
        if (ix < 0 || ix >= int(pc.W)) continue;
        ARITH_T v = LOAD(x[base + uint(iy) * y_step + uint(ix) * x_step]);
        if (v > result || isnan(v)) result = v;
        if (isnan(result)) break;
      }
      if (isnan(result)) break;
    }
  } else {
    ARITH_T sum = ARITH_T(0.0);
    for (int iy = ys; iy < ye; ++iy) {
      for (int ix = xs; ix < xe; ++ix) sum += LOAD(x[base + uint(iy) * y_step + uint(ix) * x_step]);
    }
    int divisor = COUNT_INCLUDE_PAD ? pad_area : (ye - ys) * (xe - xs);
    result = sum / ARITH_T(divisor);
  }
  y[idx] = STORE(result);
}
