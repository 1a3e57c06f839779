// Files appear whole or not at all: written under a temporary name next to the target, then
// renamed over it (rename is atomic within a directory), so a crash, a full disk or a killed
// process never leaves half a report, screenshot or settings file behind.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace fusescope::io {

// Throws std::runtime_error naming `path` and the reason; no temporary file is left behind.
void write_file_atomically(const std::string& path, std::span<const std::uint8_t> bytes);
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace fusescope::io
