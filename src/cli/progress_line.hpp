// The command line's progress: one line on stderr, rewritten in place ("\r" + erase), saying
// what runs and how far it is, for steps that take seconds (import, calibration, pipeline
// creation, the float64 oracle, bench iterations). Only on a terminal: when stderr is a pipe or a
// file — a script, CI, `2> log` — nothing of it is written at all, so logs hold messages only.
// `--quiet` turns it off on a terminal too.
#pragma once
#include <chrono>
#include <string>
#include <string_view>

#include "cli/commands.hpp"
#include "graph/progress.hpp"

namespace fusescope::cli {

class ProgressLine {
 public:
  // On when !global.quiet and stderr is a terminal.
  explicit ProgressLine(const GlobalOptions& global);
  ~ProgressLine();  // erases the line
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // fraction in 0..1, or negative when the step has no measure.
  void update(std::string_view stage, double fraction);
  // For the layers below (load_model, ExecutorOptions, StudyOptions); valid while this lives.
  graph::Progress callback();
  // Erases the line; call before printing results so they do not land after it.
  void clear();

 private:
  bool enabled_ = false;
  bool shown_ = false;
  std::string stage_;
  std::chrono::steady_clock::time_point started_, drawn_;
};

}  // namespace fusescope::cli
