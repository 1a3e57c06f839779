#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>

namespace fusescope::io {

namespace {

// Temporaries being written, for the signal handler: fixed storage (a handler may not allocate
// or take locks), a slot owned by one writer while `used` is set.
constexpr int kSlots = 32;
struct Slot {
  std::atomic<bool> used{false};
  char path[PATH_MAX] = {};
};
std::array<Slot, kSlots> g_slots;
std::mutex g_slots_mutex;  // claims and releases, never taken by the handler

extern "C" void remove_temporaries_and_die(int sig) {
  for (Slot& s : g_slots)
    if (s.used.load()) ::unlink(s.path);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old {};
      if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) continue;
      struct sigaction sa {};
      sa.sa_handler = remove_temporaries_and_die;
      sigemptyset(&sa.sa_mask);
      sigaction(sig, &sa, nullptr);
    }
  });
}

int claim_slot(const std::string& tmp) {
  if (tmp.size() >= PATH_MAX) return -1;  // too long to register: only the destructor cleans it
  std::lock_guard<std::mutex> lock(g_slots_mutex);
  for (int i = 0; i < kSlots; ++i) {
    if (g_slots[i].used.load()) continue;
    std::memcpy(g_slots[i].path, tmp.c_str(), tmp.size() + 1);
    g_slots[i].used.store(true);
    return i;
  }
  return -1;
}

void release_slot(int slot) {
  if (slot < 0) return;
  std::lock_guard<std::mutex> lock(g_slots_mutex);
  g_slots[slot].used.store(false);
}

// `<target>.tmp<pid>` siblings left by a writer that was SIGKILLed (no such process now).
void remove_stale_temporaries(const std::filesystem::path& target) {
  std::error_code ec;
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  const std::string prefix = target.filename().string() + ".tmp";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno == EPERM) continue;  // a live writer (ours or another user's)
    std::filesystem::remove(entry.path(), ec);
  }
}

// Fault injection for the kill test (tests/cli/kill_writers.sh): FUSESCOPE_FAULT_WRITE_PAUSE_MS
// makes every write() go out in 16 pieces with that pause after each, so a SIGKILL at a random
// moment lands mid-write often instead of almost never.
int write_pause_ms() {
  static const int ms = [] {
    const char* v = std::getenv("FUSESCOPE_FAULT_WRITE_PAUSE_MS");
    return v ? std::max(0, std::atoi(v)) : 0;
  }();
  return ms;
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  tmp_ = fmt::format("{}.tmp{}", path_, static_cast<long>(::getpid()));
  remove_stale_temporaries(path_);
  install_handlers_once();
  slot_ = claim_slot(tmp_);  // before the file exists: a signal between the two finds nothing
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    const int err = errno;
    release_slot(slot_);
    throw std::runtime_error(fmt::format("cannot create {} (to write {}): {}", tmp_, path_, std::strerror(err)));
  }
}

AtomicFileWriter::~AtomicFileWriter() { abandon(); }

void AtomicFileWriter::abandon() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(tmp_.c_str());
  }
  release_slot(slot_);
  slot_ = -1;
}

void AtomicFileWriter::write(const void* data, std::size_t bytes) {
  if (fd_ < 0) throw std::logic_error(fmt::format("{}: write after commit", path_));
  const char* p = static_cast<const char*>(data);
  const int pause = write_pause_ms();
  const std::size_t piece = pause > 0 ? std::max<std::size_t>(1, bytes / 16) : bytes;
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, std::min(bytes, piece));
    if (pause > 0) ::usleep(static_cast<useconds_t>(pause) * 1000);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      abandon();
      throw std::runtime_error(fmt::format("writing {} failed: {}", path_, std::strerror(err)));
    }
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) throw std::logic_error(fmt::format("{}: committed twice", path_));
  // On disk before the rename: else a power cut can leave the new name on an empty file.
  if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
    const int err = errno;
    fd_ = -1;
    ::unlink(tmp_.c_str());
    abandon();
    throw std::runtime_error(fmt::format("writing {} failed: {}", path_, std::strerror(err)));
  }
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    abandon();
    throw std::runtime_error(fmt::format("cannot write {}: {}", path_, std::strerror(err)));
  }
  release_slot(slot_);
  slot_ = -1;
}

void write_file_atomically(const std::string& path, std::span<const std::uint8_t> bytes) {
  AtomicFileWriter out(path);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

void write_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),
                                                            text.size()));
}

}  // namespace fusescope::io
