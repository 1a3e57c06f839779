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

std::string common_scope_prefix(const std::vector<std::string_view>& scopes) {
  std::string_view prefix;
  bool first = true, distinct = false;
  for (std::string_view s : scopes) {
    if (s.empty()) continue;
    if (first) {
      prefix = s;
      first = false;
      continue;
    }
    if (s != prefix) distinct = true;
    std::size_t n = 0;
    while (n < prefix.size() && n < s.size() && prefix[n] == s[n]) ++n;
    prefix = prefix.substr(0, n);
  }
  if (!distinct) return "";
  // Whole components only: cut after the last '/' of the shared start. Every scope starts with
  // that; one equal to it (a scope ending in '/') would show empty, so then there is none.
  const std::size_t slash = prefix.rfind('/');
  if (slash == std::string_view::npos) return "";
  const std::string_view out = prefix.substr(0, slash + 1);
  for (std::string_view s : scopes)
    if (s == out) return "";
  return std::string(out);
}

}  // namespace fusescope::workbench
