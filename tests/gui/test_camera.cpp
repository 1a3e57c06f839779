// The camera panel (issue 10, "in the window"): frames through the detector unfused and fused on
// the window's device while the study's worker uses it too; the frame's picture is the source's
// pixels exactly; both sets of boxes equal what vision::FrameDetector gives on its own; freezing
// hands the frame's input to the stepper, which then runs the detector on that very tensor; a
// source that cannot be opened is an error in the panel, not a crash. Needs the fetched
// BlazeFace front file and skimage's astronaut.png (FUSESCOPE_REQUIRE_FILES: SKIPPED when absent).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>

#include "app/camera_session.hpp"
#include "app/panels.hpp"
#include "app/texture_registry.hpp"
#include "fusion/passes.hpp"
#include "gui_support.hpp"
#include "io/image.hpp"
#include "io/safetensors.hpp"
#include "vision/detector.hpp"
#include "vision/frame_source.hpp"
#include "vision/detector_model.hpp"

using namespace fusescope;
using namespace fusescope::testing_gui;

namespace {

const char* const kAstronaut = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";

// Frames (panels and all) until both workers are idle and the camera's frame is on a texture.
void settle(Gui& gui, app::Session& session, app::CameraSession& camera, app::UiState& ui) {
  for (int i = 0; i < 20000; ++i) {
    REQUIRE(gui.renderer->begin_frame());
    const app::Snapshot s = session.snapshot();
    const app::CameraSnapshot c = camera.snapshot();
    app::upload_pictures(s, ui, gui.renderer->textures());
    app::upload_camera_frame(c, ui, gui.renderer->textures());
    app::draw_window(session, s, ui, gui.renderer->textures(), gui.renderer->mono_font(), &camera, &c);
    gui.renderer->end_frame();
    const bool camera_idle = !c.opening && !c.running && camera.snapshot().version == c.version;
    if (!s.busy && s.pending == 0 && session.snapshot().version == s.version && camera_idle && i > 3) return;
  }
  FAIL("the window never became idle");
}

vision::Frame astronaut_frame() { return vision::frame_of(io::load_image(kAstronaut)); }

void require_same(const std::vector<vision::Detection>& a, const std::vector<vision::Detection>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].x == b[i].x);
    CHECK(a[i].y == b[i].y);
    CHECK(a[i].w == b[i].w);
    CHECK(a[i].h == b[i].h);
    CHECK(a[i].score == b[i].score);
  }
}

}  // namespace

TEST_CASE("gui: the camera panel runs the detector unfused and fused, shows the frame exactly, and a frozen frame "
          "feeds the stepper", "[gui][camera]") {
  REQUIRE(std::filesystem::exists(kAstronaut));
  app::WindowOptions wo;
  wo.width = 1280;
  wo.height = 800;
  Gui gui(wo);
  app::UiState ui;
  ui.tab = app::Tab::camera;
  {
    app::Session session(gui.device);
    app::CameraSession camera(gui.device);
    // The study loads on its worker while the camera opens on its own: both record at once.
    app::LoadRequest load;
    load.source.model = "resnet50-keras";
    load.source.size = "64";
    load.oracle = false;
    // The window's --algorithm: the frozen frame's load below keeps it.
    load.conv_algorithm = ops::ConvAlgorithm::direct;
    session.post(load);
    app::CameraOpenRequest open;
    open.source = kAstronaut;
    open.model = "blazeface-front";
    camera.open(open);
    REQUIRE(camera.wait_frames(1));
    settle(gui, session, camera, ui);
    const app::CameraSnapshot c = camera.snapshot();
    INFO(c.error);
    REQUIRE(c.error.empty());
    REQUIRE(c.frames_done == 1);
    CHECK(c.ended);  // one image: one frame

    // The detections are FrameDetector's, unfused and fuse_all, computed here on their own.
    const vision::Frame frame = astronaut_frame();
    vision::DetectorModel dm = vision::load_detector("blazeface-front");
    graph::Graph fused = dm.graph;
    fusion::fuse_all(fused);
    vision::FrameDetector plain(gui.device, dm.graph, dm.spec), folded(gui.device, fused, dm.spec);
    const auto expect_unfused = plain.detect(frame).detections;
    const auto expect_fused = folded.detect(frame).detections;
    REQUIRE(!expect_unfused.empty());  // the astronaut's face (tests/golden/blazeface/front_astronaut.json)
    require_same(c.unfused, expect_unfused);
    require_same(c.fused, expect_fused);
    REQUIRE(c.match.pairs.size() == expect_unfused.size());
    CHECK(c.match.only_a.empty());
    CHECK(c.match.only_b.empty());

    // The frame's texture holds the picture's pixels exactly (RGB, opaque).
    app::Texture* tex = gui.renderer->textures().find("camera:frame");
    REQUIRE(tex != nullptr);
    REQUIRE(tex->width == frame.width);
    REQUIRE(tex->height == frame.height);
    const std::vector<std::uint8_t> rgba = gui.renderer->textures().read_back(*tex);
    std::size_t wrong = 0;
    for (std::int64_t p = 0; p < frame.width * frame.height; ++p) {
      for (int ch = 0; ch < 3; ++ch) wrong += rgba[p * 4 + ch] != frame.pixels[p * 3 + ch];
      wrong += rgba[p * 4 + 3] != 255;
    }
    CHECK(wrong == 0);
    gui.renderer->save_screenshot(out_path("camera.png"));

    // The sliders act on the shown frame while nothing flows: above the face's score
    // (0.92, tests/golden/blazeface/front_astronaut.json) it is gone, below it back.
    auto thresholds_applied = [&](double score) {
      for (int i = 0; i < 2000; ++i) {
        settle(gui, session, camera, ui);
        if (camera.snapshot().score_threshold == score) return true;
      }
      return false;
    };
    camera.set_thresholds(0.99, 0.3);
    REQUIRE(thresholds_applied(0.99));
    CHECK(camera.snapshot().unfused.empty());
    CHECK(camera.snapshot().fused.empty());
    camera.set_thresholds(0.75, 0.3);
    REQUIRE(thresholds_applied(0.75));
    require_same(camera.snapshot().unfused, expect_unfused);

    // Freeze: the input tensor the preprocess kernel made of this frame goes to the stepper.
    camera.freeze();
    for (int i = 0; i < 2000 && camera.snapshot().frozen_version == 0; ++i) settle(gui, session, camera, ui);
    const app::CameraSnapshot frozen = camera.snapshot();
    REQUIRE(frozen.frozen);
    REQUIRE(std::filesystem::exists(frozen.frozen_input));
    settle(gui, session, camera, ui);  // the panel posts the stepper's load
    REQUIRE(session.wait_idle());
    settle(gui, session, camera, ui);
    const app::Snapshot s = session.snapshot();
    INFO(joined([&] {
      std::vector<std::string> lines;
      for (const auto& l : s.log) lines.push_back(l.text);
      return lines;
    }()));
    REQUIRE(s.requests_failed == 0);
    REQUIRE(s.model);
    CHECK(s.model->source.input == frozen.frozen_input);
    CHECK(s.model->source.model == frozen.model_path);  // the detector, not the study loaded before
    REQUIRE(s.report);
    CHECK(s.report->reference_algorithm == ops::ConvAlgorithm::direct);  // it used to fall back to auto
    CHECK_FALSE(s.report->has_oracle);
    CHECK(ui.tab == app::Tab::tensor);  // the window switched to the stepper's view
    const io::SafetensorsFile file = io::read_safetensors(frozen.frozen_input);
    REQUIRE(file.tensors.size() == 1);
    CHECK(file.tensors[0].values == plain.executor().read(file.tensors[0].name));
    std::filesystem::remove(frozen.frozen_input);

    // A source that is not there: an error in the panel, the window goes on.
    open.source = "/nonexistent/video.mp4";
    camera.open(open);
    REQUIRE(camera.wait_frames(1));
    settle(gui, session, camera, ui);
    const app::CameraSnapshot bad = camera.snapshot();
    CHECK_FALSE(bad.open);
    CHECK_THAT(bad.error, Catch::Contains("/nonexistent/video.mp4"));
  }
  const std::vector<std::string> messages = gui.finish();
  INFO(joined(messages));
  REQUIRE(messages.empty());
}
