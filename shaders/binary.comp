// binary: y = a (op) b, elementwise with NumPy broadcasting, up to rank 6.
// Layout: a, b, y contiguous row-major. The output index is unravelled over out_dims (rank
// dims, last fastest) and re-ravelled with each operand's strides, which are 0 along the
// dims it broadcasts, so one source serves every broadcast pattern. The encoder hands it the
// fewest dims that describe the walk (ops::broadcast_walk), rank >= 1.
// One invocation per output element. fp32; division is IEEE (x / 0 gives +-inf or NaN).
// pow follows C's pow (ONNX Pow): GLSL's pow() is undefined for x < 0 and for x = 0 with
// y <= 0, so pow_c handles signs, zeros, infinities and NaN itself. Integer exponents up to 16
// in magnitude are repeated multiplications (x^n within (n - 1) roundings, exact squares for
// the x^2 of variance computations); other exponents are exp2(y * log2|x|).
// variants: f16s f16 texel texel_f16s texel_f16
// The texel variants (FS_TEXEL_READS) read a and b as uniform texel buffers (R32F, or R16F when
// stored in fp16): lavapipe fetches a texel for all lanes in one gather, where it loads a storage
// buffer lane by lane. Same values, same op: the storage variants' bits.
// f16s: a, b, y fp16 in memory, the op in fp32, one rounding on the store. f16: the op in fp16
// (add/sub/mul correctly rounded, division within 2.5 ulp by Vulkan's precision rules); results
// past 65504 become inf, as fp16 arithmetic does. pow stays fp32 in the f16 variant too: Vulkan
// lets an fp16 log2 be off by 2^-7 absolute near 1, which exp2 turns into ~0.7% per unit of the
// exponent; the fp32 result is rounded to fp16 once.
#version 450
#include "common.glsl"

layout(constant_id = 1) const uint OP = 0u;  // ops::BinaryOp: add, sub, mul, div, pow

const uint OP_ADD = 0u;
const uint OP_SUB = 1u;
const uint OP_MUL = 2u;
const uint OP_DIV = 3u;
const uint OP_POW = 4u;

// C99 Annex F pow, case by case, in fp32.
float pow_c(float x, float y) {
  if (y == 0.0 || x == 1.0) return 1.0;  // even for a NaN other operand
  if (isnan(x) || isnan(y)) return x + y;
  float ax = abs(x);
  float inf = uintBitsToFloat(0x7F800000u);
  if (isinf(y)) {
    if (ax == 1.0) return 1.0;  // (-1)^+-inf
    return (ax < 1.0) == (y < 0.0) ? inf : 0.0;
  }
  bool y_integer = floor(y) == y;
  // mod is exact here: y / 2 and floor() are exact, and every fp32 past 2^24 is even.
  bool y_odd = y_integer && abs(mod(y, 2.0)) == 1.0;
  // Zero and infinite bases are defined for every exponent, negative ones included.
  if (x < 0.0 && !isinf(x) && !y_integer) return uintBitsToFloat(0x7FC00000u);  // NaN
  float m;  // |x|^y
  if (ax == 0.0) {
    m = y > 0.0 ? 0.0 : inf;
  } else if (isinf(ax)) {
    m = y > 0.0 ? inf : 0.0;
  } else if (y_integer && abs(y) <= 16.0) {
    uint n = uint(abs(y));
    float base = ax;
    m = 1.0;
    for (; n > 0u; n >>= 1u) {
      if ((n & 1u) != 0u) m *= base;
      if (n > 1u) base *= base;
    }
    if (y < 0.0) m = 1.0 / m;
  } else {
    m = exp2(y * log2(ax));
  }
  // The sign bit, not x < 0: (-0)^-1 is -inf.
  bool negative = (floatBitsToUint(x) >> 31) != 0u;
  return negative && y_odd ? -m : m;
}

#ifdef FS_TEXEL_READS
layout(binding = 0) uniform samplerBuffer a;
layout(binding = 1) uniform samplerBuffer b;
#define A_AT(i) ARITH_T(texelFetch(a, int(i)).r)
#define B_AT(i) ARITH_T(texelFetch(b, int(i)).r)
#else
layout(std430, binding = 0) readonly buffer InputA { STORE_T a[]; };
layout(std430, binding = 1) readonly buffer InputB { STORE_T b[]; };
#define A_AT(i) LOAD(a[i])
#define B_AT(i) LOAD(b[i])
#endif
layout(std430, binding = 2) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint count;
  uint rank;
  uint out_dims[6];
  uint a_strides[6];
  uint b_strides[6];
  uint magic[6];  // fast_div's multipliers for out_dims
  uint shifts;    // and its shifts, 5 bits per dim (dim d at bit 5d)
} pc;

void main() {
  uint i = flat_invocation_index();
  if (i >= pc.count) return;
  // The outermost dim's coordinate is what is left after the inner ones: no division for it,
  // so a walk the encoder merged into one dim (same shapes, a scalar) divides not at all.
  uint rest = i;
  uint ia = 0u;
  uint ib = 0u;
  for (uint d = pc.rank - 1u; d > 0u; --d) {
    const uint q = fast_div(rest, pc.out_dims[d], pc.magic[d], (pc.shifts >> (5u * d)) & 31u);
    const uint coord = rest - q * pc.out_dims[d];
    rest = q;
    ia += coord * pc.a_strides[d];
    ib += coord * pc.b_strides[d];
  }
  ia += rest * pc.a_strides[0];
  ib += rest * pc.b_strides[0];
  ARITH_T x = A_AT(ia);
  ARITH_T z = B_AT(ib);
  ARITH_T r;
  if (OP == OP_ADD) r = x + z;
  else if (OP == OP_SUB) r = x - z;
  else if (OP == OP_MUL) r = x * z;
  else if (OP == OP_DIV) r = x / z;
  else r = ARITH_T(pow_c(float(x), float(z)));
  y[i] = STORE(r);
}
