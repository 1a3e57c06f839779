#include "app/settings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"

namespace fusescope::app {

std::string settings_directory() {
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) return std::string(x) + "/fusescope";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.config/fusescope";
  return ".fusescope";
}

Settings read_settings(const std::string& dir) {
  Settings s;
  std::ifstream in(std::filesystem::path(dir) / "settings.json");
  if (!in) return s;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    s.model = j.value("model", "");
    s.input = j.value("input", "");
    s.size = j.value("size", "");
    s.shape = j.value("shape", "");
    s.candidate = j.value("candidate", "");
    s.font_zoom = std::clamp(j.value("font_zoom", 1.0f), 0.5f, 3.0f);
  } catch (const std::exception& e) {
    // A damaged settings file is not worth failing the window for: start fresh, say so.
    fmt::print(stderr, "fusescope gui: ignoring {}/settings.json: {}\n", dir, e.what());
    s = Settings{};
  }
  return s;
}

void write_settings(const std::string& dir, const Settings& s) {
  nlohmann::json j;
  j["model"] = s.model;
  j["input"] = s.input;
  j["size"] = s.size;
  j["shape"] = s.shape;
  j["candidate"] = s.candidate;
  j["font_zoom"] = s.font_zoom;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create {}: {}", dir, ec.message()));
  io::write_file_atomically((std::filesystem::path(dir) / "settings.json").string(), j.dump(2) + "\n");
}

}  // namespace fusescope::app
