#include "ops/elementwise.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace fusescope::ops {

const char* to_string(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
    case BinaryOp::pow: return "pow";
  }
  return "unknown binary op";
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& name) {
  checked_numel(a, name + ": a");
  checked_numel(b, name + ": b");
  for (const Shape* s : {&a, &b}) {
    if (s->size() > static_cast<std::size_t>(kMaxBroadcastRank)) {
      throw InvalidArgument(fmt::format("{}: {} has shape {} of rank {}, expected rank <= {}", name,
                                        s == &a ? "a" : "b", to_string(*s), s->size(),
                                        kMaxBroadcastRank));
    }
  }
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (std::size_t d = 0; d < rank; ++d) {
    // Trailing alignment: a missing leading dim behaves as 1.
    const std::int64_t da = d + a.size() >= rank ? a[d + a.size() - rank] : 1;
    const std::int64_t db = d + b.size() >= rank ? b[d + b.size() - rank] : 1;
    if (da != db && da != 1 && db != 1) {
      throw InvalidArgument(fmt::format("{}: shapes {} and {} do not broadcast: dimension {} is {} "
                                        "vs {}",
                                        name, to_string(a), to_string(b), d, da, db));
    }
    out[d] = da == 1 ? db : da;
  }
  return out;
}

std::vector<std::int64_t> broadcast_strides(const Shape& input, const Shape& out) {
  // A caller passing a shape that does not broadcast to `out` would get strides reading out of
  // bounds on the GPU: refuse rather than trust.
  bool ok = input.size() <= out.size();
  const std::size_t offset = ok ? out.size() - input.size() : 0;
  for (std::size_t i = 0; ok && i < input.size(); ++i)
    ok = input[i] == 1 || input[i] == out[offset + i];
  if (!ok) {
    throw InvalidArgument(fmt::format("broadcast_strides: shape {} does not broadcast to {}",
                                      to_string(input), to_string(out)));
  }
  std::vector<std::int64_t> strides(out.size(), 0);
  std::int64_t stride = 1;
  for (std::size_t i = input.size(); i-- > 0;) {
    strides[offset + i] = input[i] == 1 ? 0 : stride;
    stride *= input[i];
  }
  return strides;
}

BroadcastWalk broadcast_walk(const Shape& a, const Shape& b, const Shape& out) {
  const std::vector<std::int64_t> sa = broadcast_strides(a, out);
  const std::vector<std::int64_t> sb = broadcast_strides(b, out);
  BroadcastWalk walk;
  for (std::size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;
    // Merging into the previous (outer) dim: one step of it must equal a whole sweep of this
    // one, for both operands.
    if (!walk.dims.empty() && walk.a_strides.back() == sa[d] * out[d] && walk.b_strides.back() == sb[d] * out[d]) {
      walk.dims.back() *= out[d];
      walk.a_strides.back() = sa[d];
      walk.b_strides.back() = sb[d];
      continue;
    }
    walk.dims.push_back(out[d]);
    walk.a_strides.push_back(sa[d]);
    walk.b_strides.push_back(sb[d]);
  }
  if (walk.dims.empty()) walk = {{1}, {0}, {0}};
  return walk;
}

}  // namespace fusescope::ops

