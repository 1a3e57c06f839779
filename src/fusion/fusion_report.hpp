// What a fusion pass changed, node by node, for users to read ("conv2_block1_1_conv ← conv,
// bn, relu") and for tests to check.
#pragma once
#include <string>
#include <vector>

namespace fusescope::fusion {

struct FusionChange {
  std::string pass;                   // "fold_batchnorm", "fuse_activation", ...
  std::string node;                   // the node that remains (rewritten)
  std::vector<std::string> replaced;  // original nodes it now also computes
  std::string detail;                 // e.g. "BN folded (float64), relu in epilogue"
};

struct FusionReport {
  std::vector<FusionChange> changes;
  std::size_t nodes_before = 0, nodes_after = 0;

  std::size_t count(const std::string& pass) const {
    std::size_t n = 0;
    for (const auto& c : changes) n += c.pass == pass ? 1 : 0;
    return n;
  }
  void append(const FusionReport& other) {
    changes.insert(changes.end(), other.changes.begin(), other.changes.end());
  }
};

}  // namespace fusescope::fusion
