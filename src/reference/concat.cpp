#include "reference/concat.hpp"

#include <fmt/format.h>

#include "reference/checks.hpp"

namespace fusescope::reference {

// numpy.concatenate / torch.cat / ONNX Concat: viewing every tensor as [outer, axis, inner], the
// output's row `o` is input 0's row `o`, then input 1's, and so on.
HostTensor concat(const std::vector<const HostTensor*>& inputs, std::int64_t axis) {
  const std::string op = "concat";
  if (inputs.empty()) throw ops::InvalidArgument("concat: no inputs given, expected at least one");
  std::vector<ops::Shape> shapes;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = fmt::format("input {}", i);
    if (inputs[i] == nullptr) {
      throw ops::InvalidArgument(fmt::format("concat: {} is null, expected a tensor", name));
    }
    detail::expect_consistent(op, name, *inputs[i]);
    shapes.push_back(inputs[i]->shape);
  }
  const ops::Shape out_shape = ops::concat_output_shape(shapes, axis);
  const std::size_t rank = shapes[0].size();
  const std::int64_t ax = detail::normalize_axis(op, axis, rank);

  // Repeated from the shape rule because the copy below indexes by it: same rank, and every dim
  // but `axis` equal to input 0's.
  for (std::size_t i = 1; i < shapes.size(); ++i) {
    bool ok = shapes[i].size() == rank;
    for (std::size_t d = 0; ok && d < rank; ++d) {
      ok = static_cast<std::int64_t>(d) == ax || shapes[i][d] == shapes[0][d];
    }
    if (!ok) {
      throw ops::InvalidArgument(fmt::format(
          "concat: input {} has shape {}, expected input 0's shape {} except on axis {}", i,
          ops::to_string(shapes[i]), ops::to_string(shapes[0]), ax));
    }
  }

  const std::int64_t outer = detail::product(shapes[0], 0, ax);
  const std::int64_t inner = detail::product(shapes[0], ax + 1, static_cast<std::int64_t>(rank));
  std::int64_t total_rows = 0;
  for (const ops::Shape& s : shapes) total_rows += s[ax];
  detail::expect_output_size(op, out_shape, outer * total_rows * inner);
  HostTensor out(out_shape);
  std::int64_t at = 0;  // the output is written strictly in order
  for (std::int64_t o = 0; o < outer; ++o) {
    for (const HostTensor* t : inputs) {
      const std::int64_t rows = t->shape[ax];
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t i = 0; i < inner; ++i) {
          out.data[at++] = t->data[(o * rows + r) * inner + i];
        }
      }
    }
  }
  return out;
}

// x[..., start : start + length, ...] on `axis` (ONNX Slice with one axis and step 1).
HostTensor slice(const ops::SliceParams& p, const HostTensor& input) {
  const std::string op = "slice";
  detail::expect_consistent(op, "input", input);
  const ops::Shape out_shape = ops::slice_output_shape(p, input.shape);
  const std::int64_t ax = detail::normalize_axis(op, p.axis, input.shape.size());
  const std::int64_t dim = input.shape[ax];
  // Repeated from the shape rule because the copy below indexes by it.
  if (p.start < 0 || p.length < 1 || p.start + p.length > dim) {
    throw ops::InvalidArgument(fmt::format(
        "slice: start {} and length {} do not fit axis {} of size {}, expected 0 <= start and "
        "1 <= length <= {} - start",
        p.start, p.length, ax, dim, dim));
  }

  const std::int64_t outer = detail::product(input.shape, 0, ax);
  const std::int64_t inner = detail::product(input.shape, ax + 1, std::ssize(input.shape));
  detail::expect_output_size(op, out_shape, outer * p.length * inner);
  HostTensor out(out_shape);
  std::int64_t at = 0;
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t r = p.start; r < p.start + p.length; ++r) {
      for (std::int64_t i = 0; i < inner; ++i) {
        out.data[at++] = input.data[(o * dim + r) * inner + i];
      }
    }
  }
  return out;
}

}  // namespace fusescope::reference
