// FNV-1a over a string: the same value on every platform and standard library (std::hash is
// not), so seeded weights and statistics derived from tensor names are reproducible anywhere.
#pragma once
#include <cstdint>
#include <string_view>

namespace fusescope::models {

inline std::uint64_t stable_hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace fusescope::models
