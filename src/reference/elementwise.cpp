#include "reference/elementwise.hpp"

#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "reference/checks.hpp"

namespace fusescope::reference {

namespace {

// Flat index into `t` of the output coordinate `out_index` (NumPy broadcasting): `t`'s dims line
// up with the output's last t.rank dims, and a dim of size 1 always reads coordinate 0.
std::int64_t broadcast_source_index(const ops::Shape& t, const ops::Shape& out,
                                    const std::vector<std::int64_t>& out_index) {
  const std::size_t offset = out.size() - t.size();
  std::int64_t flat = 0;
  for (std::size_t d = 0; d < t.size(); ++d) {
    const std::int64_t coord = t[d] == 1 ? 0 : out_index[offset + d];
    flat = flat * t[d] + coord;
  }
  return flat;
}

// Every dim of `t` must be 1 or equal to the output's matching dim. ops::broadcast_shapes already
// guarantees this; repeated because the index mapping above relies on it.
void expect_broadcastable(const std::string& name, const ops::Shape& t, const ops::Shape& out) {
  bool ok = t.size() <= out.size();
  for (std::size_t d = 0; ok && d < t.size(); ++d) {
    const std::int64_t o = out[out.size() - t.size() + d];
    ok = t[d] == 1 || t[d] == o;
  }
  if (!ok) {
    throw ops::InvalidArgument(fmt::format("elementwise: {} has shape {}, which does not broadcast "
                                           "to {}",
                                           name, ops::to_string(t), ops::to_string(out)));
  }
}

double apply(ops::BinaryOp op, double x, double y) {
  switch (op) {
    case ops::BinaryOp::add: return x + y;
    case ops::BinaryOp::sub: return x - y;
    case ops::BinaryOp::mul: return x * y;
    case ops::BinaryOp::div: return x / y;  // IEEE: x / 0 is +-inf, 0 / 0 is NaN
    // C99 Annex F pow, which ONNX Pow and NumPy follow: (-8)^(1/3) is NaN, (-2)^3 is -8,
    // pow(NaN, 0) = pow(1, NaN) = 1, 0^-1 = inf.
    case ops::BinaryOp::pow: return std::pow(x, y);
  }
  throw ops::InvalidArgument(fmt::format("elementwise: op has value {}, expected 0..4",
                                         static_cast<unsigned>(op)));
}

}  // namespace

// out[i] = a[map_a(i)] op b[map_b(i)] for every output coordinate i, where map_* follows NumPy's
// broadcasting rule (numpy.org, "Broadcasting"). Each output index is unravelled into coordinates
// row-major and re-ravelled per operand.
HostTensor binary(ops::BinaryOp op, const HostTensor& a, const HostTensor& b) {
  detail::expect_consistent("elementwise", "a", a);
  detail::expect_consistent("elementwise", "b", b);
  const ops::Shape out_shape = ops::broadcast_shapes(a.shape, b.shape);
  expect_broadcastable("a", a.shape, out_shape);
  expect_broadcastable("b", b.shape, out_shape);

  HostTensor out(out_shape);
  std::vector<std::int64_t> index(out_shape.size(), 0);
  for (std::int64_t i = 0; i < std::ssize(out.data); ++i) {
    std::int64_t rest = i;
    for (std::size_t d = out_shape.size(); d-- > 0;) {
      index[d] = rest % out_shape[d];
      rest /= out_shape[d];
    }
    const double x = a.data[broadcast_source_index(a.shape, out_shape, index)];
    const double y = b.data[broadcast_source_index(b.shape, out_shape, index)];
    out.data[i] = apply(op, x, y);
  }
  return out;
}

}  // namespace fusescope::reference
