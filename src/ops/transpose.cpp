#include "ops/transpose.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace fusescope::ops {

namespace {

std::string list(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

std::vector<std::int64_t> transpose_permutation(const TransposeParams& p, std::size_t rank,
                                                const std::string& name) {
  if (rank < 1 || rank > kMaxTransposeRank) {
    throw InvalidArgument(fmt::format("{}: input has rank {}, expected 1 to {}", name, rank, kMaxTransposeRank));
  }
  std::vector<std::int64_t> perm = p.perm;
  if (perm.empty()) {
    for (std::size_t i = rank; i-- > 0;) perm.push_back(static_cast<std::int64_t>(i));
    return perm;
  }
  if (perm.size() != rank) {
    throw InvalidArgument(fmt::format("{}: perm {} has {} entries for an input of rank {}", name, list(perm),
                                      perm.size(), rank));
  }
  std::vector<bool> seen(rank, false);
  for (std::int64_t d : perm) {
    if (d < 0 || d >= static_cast<std::int64_t>(rank) || seen[static_cast<std::size_t>(d)]) {
      throw InvalidArgument(fmt::format("{}: perm {} is not a permutation of 0..{}", name, list(perm), rank - 1));
    }
    seen[static_cast<std::size_t>(d)] = true;
  }
  return perm;
}

Shape transpose_output_shape(const TransposeParams& p, const Shape& input, const std::string& name) {
  checked_numel(input, name + ": input");
  const std::vector<std::int64_t> perm = transpose_permutation(p, input.size(), name);
  Shape out;
  for (std::int64_t d : perm) out.push_back(input[static_cast<std::size_t>(d)]);
  return out;
}

bool transpose_keeps_element_order(const Shape& input, const std::vector<std::int64_t>& perm) {
  std::int64_t last = -1;
  for (std::int64_t d : perm) {
    if (input[static_cast<std::size_t>(d)] == 1) continue;
    if (d < last) return false;
    last = d;
  }
  return true;
}

CollapsedTranspose collapse_transpose(const Shape& input, const std::vector<std::int64_t>& perm) {
  // Keep only the dims larger than 1, renumbered in input order.
  std::vector<std::int64_t> kept_index(input.size(), -1);
  Shape kept_shape;
  for (std::size_t d = 0; d < input.size(); ++d) {
    if (input[d] == 1) continue;
    kept_index[d] = static_cast<std::int64_t>(kept_shape.size());
    kept_shape.push_back(input[d]);
  }
  std::vector<std::int64_t> kept_perm;
  for (std::int64_t d : perm)
    if (kept_index[static_cast<std::size_t>(d)] >= 0) kept_perm.push_back(kept_index[static_cast<std::size_t>(d)]);
  if (kept_shape.empty()) return {{1}, {0}};
  // Runs: consecutive output positions reading consecutive input dims merge into one dim.
  std::vector<std::vector<std::int64_t>> runs;  // input dims of each run, in output order
  for (std::int64_t d : kept_perm) {
    if (!runs.empty() && runs.back().back() + 1 == d) {
      runs.back().push_back(d);
    } else {
      runs.push_back({d});
    }
  }
  // Order runs by their first input dim to get the collapsed input's dims.
  std::vector<std::size_t> by_input(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) by_input[i] = i;
  std::sort(by_input.begin(), by_input.end(),
            [&](std::size_t a, std::size_t b) { return runs[a].front() < runs[b].front(); });
  CollapsedTranspose c;
  std::vector<std::int64_t> collapsed_index(runs.size());
  for (std::size_t k = 0; k < by_input.size(); ++k) {
    std::int64_t size = 1;
    for (std::int64_t d : runs[by_input[k]]) size *= kept_shape[static_cast<std::size_t>(d)];
    c.input.push_back(size);
    collapsed_index[by_input[k]] = static_cast<std::int64_t>(k);
  }
  for (std::size_t i = 0; i < runs.size(); ++i) c.perm.push_back(collapsed_index[i]);
  return c;
}

}  // namespace fusescope::ops
