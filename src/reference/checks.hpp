// Checks the oracle's ops share, internal to reference/. HostTensor is a plain struct, so nothing
// stops its shape and data from drifting apart, and the oracle indexes raw vectors: every op runs
// these before it reads, so a bad tensor is an InvalidArgument naming the op, never a read past
// the end. They deliberately repeat a few checks the ops/ shape rules also make, so that the oracle
// stays memory-safe even if a shape rule it trusts is too lenient.
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "ops/shape.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference::detail {

// Every dimension > 0 and data.size() equal to the product of the shape.
inline void expect_consistent(const std::string& op, const std::string& name, const HostTensor& t) {
  const std::int64_t n = ops::checked_numel(t.shape, op + ": " + name, sizeof(double));
  if (static_cast<std::int64_t>(t.data.size()) != n) {
    throw ops::InvalidArgument(fmt::format("{}: {} has shape {} ({} elements) but holds {} values",
                                           op, name, ops::to_string(t.shape), n, t.data.size()));
  }
}

inline void expect_rank(const std::string& op, const std::string& name, const HostTensor& t,
                        std::size_t rank) {
  if (t.shape.size() != rank) {
    throw ops::InvalidArgument(fmt::format("{}: {} has shape {}, expected rank {}", op, name,
                                           ops::to_string(t.shape), rank));
  }
}

// An optional tensor (bias, residual, BN statistics) must be present exactly when its flag says
// so: a silently ignored bias would make the oracle agree with a kernel that also forgot it.
inline void expect_present_iff(const std::string& op, const std::string& name, const HostTensor* t,
                               bool wanted, const std::string& flag) {
  if (wanted && t == nullptr) {
    throw ops::InvalidArgument(
        fmt::format("{}: {} is set but no {} tensor was given", op, flag, name));
  }
  if (!wanted && t != nullptr) {
    throw ops::InvalidArgument(
        fmt::format("{}: a {} tensor was given but {} is not set", op, name, flag));
  }
}

// Negative axes count from the end, as in NumPy.
inline std::int64_t normalize_axis(const std::string& op, std::int64_t axis, std::size_t rank) {
  const auto r = static_cast<std::int64_t>(rank);
  const std::int64_t a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) {
    throw ops::InvalidArgument(
        fmt::format("{}: axis {} is out of range for rank {}, expected [{}, {}]", op, axis, r, -r,
                    r - 1));
  }
  return a;
}

// The oracle fills an output shaped by a shape rule from ops/ with loops of its own; if the two
// ever disagree on the element count, that is a bug in one of them, not bad input.
inline void expect_output_size(const std::string& op, const ops::Shape& out, std::int64_t count) {
  if (ops::numel(out) != count) {
    throw std::logic_error(fmt::format("{}: the shape rule gave output shape {}, but the reference "
                                       "computes {} values",
                                       op, ops::to_string(out), count));
  }
}

// The same for an NCHW output whose loops take N and C from the input or the parameters.
inline void expect_nchw_output(const std::string& op, const ops::Shape& out, std::int64_t n,
                               std::int64_t c) {
  if (out.size() != 4 || out[0] != n || out[1] != c) {
    throw std::logic_error(fmt::format("{}: the shape rule gave output shape {}, expected "
                                       "{}x{}xHxW",
                                       op, ops::to_string(out), n, c));
  }
}

// Product of the dims in [begin, end): the outer/inner extents around an axis.
inline std::int64_t product(const ops::Shape& s, std::int64_t begin, std::int64_t end) {
  std::int64_t n = 1;
  for (std::int64_t d = begin; d < end; ++d) n *= s[d];
  return n;
}

}  // namespace fusescope::reference::detail
