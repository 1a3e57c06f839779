#include "workbench/node_label.hpp"

#include <algorithm>

namespace fusescope::workbench {

std::string keep_name_end(std::string_view name, std::size_t max_chars) {
  max_chars = std::max<std::size_t>(max_chars, 4);
  if (name.size() <= max_chars) return std::string(name);
  std::size_t cut = name.size() - (max_chars - 3);
  while (cut < name.size() && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) ++cut;  // UTF-8 continuation
  return "..." + std::string(name.substr(cut));
}

}  // namespace fusescope::workbench
