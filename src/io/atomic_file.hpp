// Files appear whole or not at all: written under a temporary name next to the target, flushed to
// disk, then renamed over it (rename is atomic within a directory), so a crash, a full disk, a
// power cut or a killed process never leaves half a report, dump, model, screenshot or settings
// file behind — the target is the old file or the complete new one.
//
// The temporary is `<target>.tmp<pid>`. What happens to it when the writer dies:
//  - an exception: the writer's destructor removes it;
//  - Ctrl-C, SIGTERM, SIGHUP: a handler (installed by the first writer where the signal still has
//    its default action, so a host program's own handler, e.g. Python's, is left alone) removes
//    every temporary being written, then lets the signal end the process as it would have;
//  - SIGKILL or a power cut: nothing can run, so the next writer of the same target removes the
//    temporaries whose process is gone (`<target>.tmp<pid>` with no such pid alive).
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace fusescope::io {

class AtomicFileWriter {
 public:
  // Creates the temporary. Throws std::runtime_error naming `path` and the reason.
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();  // not committed: the temporary is removed, the target untouched
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, std::size_t bytes);
  // Flushes to disk and renames into place; throws std::runtime_error (disk full, ...), leaving
  // the old target and no temporary.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return tmp_; }

 private:
  void abandon() noexcept;
  std::string path_, tmp_;
  int fd_ = -1;
  int slot_ = -1;  // in the signal handler's list of temporaries
};

// Throws std::runtime_error naming `path` and the reason; no temporary file is left behind.
void write_file_atomically(const std::string& path, std::span<const std::uint8_t> bytes);
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace fusescope::io
