// What the window remembers between starts: the last model, input, size, shape and candidate,
// and the text size, in $XDG_CONFIG_HOME/fusescope/settings.json (ImGui keeps its window layout
// in imgui.ini beside it). Written atomically; a damaged file is ignored with a message.
#pragma once
#include <string>

namespace fusescope::app {

struct Settings {
  std::string model, input, size, shape, candidate;
  float font_zoom = 1;  // ImGui's FontGlobalScale, on top of the display's content scale
};

// $XDG_CONFIG_HOME/fusescope, else $HOME/.config/fusescope, else ./.fusescope.
std::string settings_directory();

// The settings in `dir`; defaults when there are none, and (with a line on stderr) when the
// file cannot be read or parsed.
Settings read_settings(const std::string& dir);
// Creates `dir` if needed; throws std::runtime_error naming the file when it cannot be written.
void write_settings(const std::string& dir, const Settings& settings);

}  // namespace fusescope::app
