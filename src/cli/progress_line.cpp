#include "cli/progress_line.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

namespace fusescope::cli {

namespace {

// A line longer than the terminal wraps, and "\r" then returns to the wrapped part only:
// the old text would stay on screen. So the line is cut to the width.
std::size_t terminal_columns() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace

ProgressLine::ProgressLine(const GlobalOptions& global)
    : enabled_(!global.quiet && isatty(STDERR_FILENO) == 1), started_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() { clear(); }

void ProgressLine::update(std::string_view stage, double fraction) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  // A new stage is drawn at once; within a stage, 10 redraws a second are plenty and keep a
  // per-node report from costing a write per node on a big network.
  if (shown_ && stage == stage_ && now - drawn_ < std::chrono::milliseconds(100)) return;
  if (stage != stage_) {
    stage_ = stage;
    started_ = now;
  }
  drawn_ = now;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  std::string line = fraction >= 0 ? fmt::format("fusescope: {} {:3.0f}% ({:.1f} s)", stage, 100 * fraction, seconds)
                                   : fmt::format("fusescope: {} ({:.1f} s)", stage, seconds);
  const std::size_t width = terminal_columns() - 1;
  if (line.size() > width) line.resize(width);
  fmt::print(stderr, "\r\033[K{}", line);
  std::fflush(stderr);
  shown_ = true;
}

graph::Progress ProgressLine::callback() {
  if (!enabled_) return {};
  return [this](std::string_view stage, double fraction) { update(stage, fraction); };
}

void ProgressLine::clear() {
  if (!shown_) return;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
  stage_.clear();
}

}  // namespace fusescope::cli
