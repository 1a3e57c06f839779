#include "ops/concat.hpp"

#include <fmt/format.h>

namespace fusescope::ops {

std::int64_t normalize_axis(std::int64_t axis, std::size_t rank, const std::string& name) {
  const auto r = static_cast<std::int64_t>(rank);
  const std::int64_t a = axis < 0 ? axis + r : axis;
  if (r == 0 || a < 0 || a >= r) {
    throw InvalidArgument(fmt::format("{}: axis {} is out of range for rank {}, expected {}", name,
                                      axis, r,
                                      r == 0 ? std::string("a tensor of rank >= 1")
                                             : fmt::format("[{}, {}]", -r, r - 1)));
  }
  return a;
}

AxisView axis_view(const Shape& shape, std::int64_t axis) {
  const auto a = static_cast<std::size_t>(normalize_axis(axis, shape.size(), "axis_view"));
  AxisView v;
  for (std::size_t d = 0; d < a; ++d) v.outer *= shape[d];
  v.axis = shape[a];
  for (std::size_t d = a + 1; d < shape.size(); ++d) v.inner *= shape[d];
  return v;
}

Shape concat_output_shape(const std::vector<Shape>& inputs, std::int64_t axis,
                          const std::string& name) {
  if (inputs.empty()) throw InvalidArgument(name + ": no inputs, expected at least one");
  for (std::size_t i = 0; i < inputs.size(); ++i)
    checked_numel(inputs[i], fmt::format("{}: input {}", name, i));
  const std::size_t rank = inputs[0].size();
  const auto a = static_cast<std::size_t>(normalize_axis(axis, rank, name));
  Shape out = inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) {
    const Shape& s = inputs[i];
    if (s.size() != rank) {
      throw InvalidArgument(fmt::format("{}: input {} has shape {} of rank {}, expected rank {} "
                                        "like input 0 ({})",
                                        name, i, to_string(s), s.size(), rank,
                                        to_string(inputs[0])));
    }
    for (std::size_t d = 0; d < rank; ++d) {
      if (d != a && s[d] != inputs[0][d]) {
        throw InvalidArgument(fmt::format("{}: input {} has shape {}, which differs from input 0 "
                                          "({}) in dimension {} ({} vs {}); only axis {} may "
                                          "differ",
                                          name, i, to_string(s), to_string(inputs[0]), d, s[d],
                                          inputs[0][d], a));
      }
    }
    out[a] += s[a];
  }
  checked_numel(out, name + ": output");
  return out;
}

Shape slice_output_shape(const SliceParams& p, const Shape& input, const std::string& name) {
  checked_numel(input, name + ": input");
  const auto a = static_cast<std::size_t>(normalize_axis(p.axis, input.size(), name));
  const std::int64_t dim = input[a];
  if (p.length <= 0)
    throw InvalidArgument(fmt::format("{}: length = {}, expected >= 1", name, p.length));
  if (p.start < 0 || p.start >= dim || p.length > dim - p.start) {
    throw InvalidArgument(fmt::format("{}: range [{}, {}) along axis {} is outside the input's "
                                      "[0, {}) (shape {})",
                                      name, p.start, p.start + p.length, a, dim, to_string(input)));
  }
  Shape out = input;
  out[a] = p.length;
  return out;
}

}  // namespace fusescope::ops
