// A node name shortened to fit a column, the same way in `bench --top` and the window's node list.
// ONNX exporters write paths ("StatefulPartitionedCall/functional_1/depthwise_conv2d_1/depthwise"),
// whose start every node shares and whose end tells them apart, so a long name keeps its end.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace fusescope::workbench {

// `name` itself when it has at most `max_chars` characters (bytes: node names are ASCII in
// practice; a multi-byte character at the cut is kept whole), else "..." and its last
// max_chars - 3. max_chars below 4 is taken as 4.
std::string keep_name_end(std::string_view name, std::size_t max_chars);

}  // namespace fusescope::workbench
