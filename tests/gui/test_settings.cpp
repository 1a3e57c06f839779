// The window's settings file: what is written comes back, and a damaged file is ignored.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "app/settings.hpp"
#include "gui_support.hpp"

using namespace fusescope;

TEST_CASE("gui settings: written atomically, read back, a damaged file ignored", "[gui][settings]") {
  const std::filesystem::path dir = std::filesystem::path(testing_gui::out_path("settings-test")).string() + "/fusescope";
  std::filesystem::remove_all(dir);
  CHECK(app::read_settings(dir.string()).model.empty());  // none yet: defaults
  app::Settings s;
  s.model = "resnet50-keras";
  s.input = "/usr/share/doc/opencv-doc/examples/data/butterfly.jpg";
  s.size = "128";
  s.candidate = "fp16s";
  s.font_zoom = 1.25f;
  app::write_settings(dir.string(), s);
  const app::Settings back = app::read_settings(dir.string());
  CHECK(back.model == s.model);
  CHECK(back.input == s.input);
  CHECK(back.size == s.size);
  CHECK(back.candidate == s.candidate);
  CHECK(back.font_zoom == 1.25f);
  for (const auto& e : std::filesystem::directory_iterator(dir)) CHECK(e.path().filename() == "settings.json");
  {
    std::ofstream damaged(dir / "settings.json");
    damaged << "{ \"model\": ";
  }
  CHECK(app::read_settings(dir.string()).model.empty());
  CHECK_THROWS_WITH(app::write_settings("/proc/fusescope-settings", s), Catch::Contains("/proc/fusescope-settings"));
}
