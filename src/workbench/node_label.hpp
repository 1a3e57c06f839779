// A node name shortened to fit a column, the same way in `bench --top` and the window's node list.
// ONNX exporters write paths ("StatefulPartitionedCall/functional_1/depthwise_conv2d_1/depthwise"),
// whose start every node shares and whose end tells them apart, so a long name keeps its end.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fusescope::workbench {

// `name` itself when it has at most `max_chars` characters (bytes: node names are ASCII in
// practice; a multi-byte character at the cut is kept whole), else "..." and its last
// max_chars - 3. max_chars below 4 is taken as 4.
std::string keep_name_end(std::string_view name, std::size_t max_chars);

// The leading '/'-separated components every scope starts with, with their trailing '/'
// ("StatefulPartitionedCall/functional_1/" for a TensorFlow export), so a list of scopes can say
// it once and show each scope past it. "" when the scopes share no component, when there are
// fewer than two distinct ones, or when one of them is the prefix itself (it would show empty).
// Empty scopes (top-level nodes) are skipped.
std::string common_scope_prefix(const std::vector<std::string_view>& scopes);

}  // namespace fusescope::workbench
