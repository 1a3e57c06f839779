// How long work tells its caller how far it is: a stage in words and the fraction done (0..1, or
// negative when there is no measure, as for a file being parsed). The front ends decide what to
// show — the CLI one updating line on a terminal, the window its status bar — so the layers that
// do the work never print. An empty function costs one branch per call.
#pragma once
#include <functional>
#include <string_view>

namespace fusescope::graph {

using Progress = std::function<void(std::string_view stage, double fraction)>;

inline void report(const Progress& progress, std::string_view stage, double fraction) {
  if (progress) progress(stage, fraction);
}

}  // namespace fusescope::graph
