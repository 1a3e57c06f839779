// The kernel panel (issue 14's window half): the selected node's kernel and dispatches, an edit
// applied as the panel's Apply posts it, judged against the float64 oracle; a broken edit
// flagged; a syntax error reported at its line with the previous kernel still running; an edit
// that does not fit the kernel's interface refused; Revert. The edits are tests/sandbox/'s, the
// ones the headless sandbox tests use. Under Xvfb with the validation layer on, every frame drawn.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/gui.hpp"
#include "gui_support.hpp"

using namespace fusescope;
using namespace fusescope::testing_gui;

namespace {

std::string sandbox_file(const std::string& name) {
  return std::string(FUSESCOPE_SOURCE_DIR) + "/tests/sandbox/" + name;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

app::KernelEditRequest edit_of(const std::string& node, const std::string& file) {
  return {node, read_text(sandbox_file(file)), sandbox_file(file)};
}

double report_output_rel_l2(const app::Snapshot& s) {
  REQUIRE(s.report);
  return s.report->output.rel_l2;
}

// The unfused network with every conv on the direct kernel (the sandbox's edits are of
// conv2d.comp), the Kernel tab open on conv1, the conv before the BatchNorm.
void open_kernel_panel_on_conv1(Gui& gui, app::Session& session, app::UiState& ui) {
  ui.tab = app::Tab::kernel;
  session.post(zoo("conv_bn_layer", "", "algorithm-direct"));
  settle(gui, session, ui);
  select_value(session, ui, "conv1");
  settle(gui, session, ui);
}

}  // namespace

TEST_CASE("gui: the kernel panel runs an edit on its node and judges it against the float64 oracle",
          "[gui][kernel_editor]") {
  Gui gui({1280, 800, "fusescope test", true});
  app::Session session(gui.device);
  app::UiState ui;
  open_kernel_panel_on_conv1(gui, session, ui);

  const double builtin_output_rel_l2 = report_output_rel_l2(session.snapshot());
  {
    const app::Snapshot s = session.snapshot();
    REQUIRE(s.kernel);
    const app::KernelSnapshot& k = *s.kernel;
    CHECK(k.node == "conv1");
    CHECK(k.shader == "conv2d");
    REQUIRE(k.dispatches.size() == 1);
    CHECK(k.dispatches[0].spec.shader == "conv2d");
    CHECK(!k.dispatches[0].spec.specialization.empty());
    CHECK(!k.dispatches[0].push_constants.empty());
    CHECK(k.dispatches[0].groups.x * k.dispatches[0].groups.y * k.dispatches[0].groups.z > 0);
    CHECK_THAT(k.builtin_source, Catch::Contains("void main"));
    CHECK(k.edit_source.empty());
    CHECK(!k.verdict);
    // The editor holds the kernel that runs.
    CHECK(ui.kernel_node == "conv1");
    CHECK(ui.kernel_text == k.builtin_source);
  }

  SECTION("a correct rewrite passes with the built-in kernel's tolerance, and Revert restores the built-in") {
    session.post(edit_of("conv1", "conv2d_loop_order.comp"));
    settle(gui, session, ui);
    const app::Snapshot s = session.snapshot();
    CHECK(s.requests_failed == 0);
    REQUIRE(s.kernel);
    REQUIRE(s.kernel->verdict);
    const workbench::KernelOverrideCheck& v = *s.kernel->verdict;
    CHECK(v.within_tolerance);
    CHECK(v.vs_oracle.rel_l2 <= 1e-5);  // the fp32 node tolerance, as for the built-in kernel
    CHECK(v.network_output_vs_builtin.rel_l2 < 1e-5);
    CHECK(v.gpu_ms > 0);
    CHECK(v.builtin_gpu_ms > 0);
    CHECK_THAT(s.kernel->edit_file, Catch::EndsWith("conv2d_loop_order.comp"));
    REQUIRE(s.kernel->dispatches.at(0).spec.shader_override);
    CHECK_THAT(s.kernel->dispatches.at(0).spec.label(), Catch::Contains("conv2d_loop_order.comp"));
    CHECK(ui.kernel_text == s.kernel->edit_source);  // the editor shows what runs now

    session.post(app::KernelRevertRequest{"conv1"});
    settle(gui, session, ui);
    const app::Snapshot r = session.snapshot();
    REQUIRE(r.kernel);
    CHECK(r.kernel->edit_source.empty());
    CHECK(!r.kernel->verdict);
    CHECK(!r.kernel->dispatches.at(0).spec.shader_override);
    CHECK(ui.kernel_text == r.kernel->builtin_source);
    CHECK(report_output_rel_l2(r) == builtin_output_rel_l2);
  }

  SECTION("a broken edit is flagged: past tolerance on its node, and every later layer drifts") {
    // (The dropped bias is the headless tests' case: this unfused conv has no bias to drop.)
    for (const char* broken : {"conv2d_wrong_index.comp"}) {
      INFO(broken);
      session.post(edit_of("conv1", broken));
      settle(gui, session, ui);
      const app::Snapshot s = session.snapshot();
      REQUIRE(s.kernel);
      REQUIRE(s.kernel->verdict);
      CHECK_FALSE(s.kernel->verdict->within_tolerance);
      CHECK(s.kernel->verdict->vs_oracle.rel_l2 > 1e-3);
      CHECK(!s.kernel->verdict->worst.empty());
      // The study ran again with the edit: the compare report (the error-versus-depth plot) sees it.
      CHECK(report_output_rel_l2(s) > 1e-3);
      REQUIRE(!s.log.empty());
      CHECK(s.log.back().level == app::LogLine::Level::error);
      CHECK_THAT(s.log.back().text, Catch::Contains("OVER"));
    }
  }

  SECTION("a syntax error is reported at its line and the previous kernel keeps running") {
    session.post(edit_of("conv1", "conv2d_loop_order.comp"));
    settle(gui, session, ui);
    const double edited_rel_l2 = report_output_rel_l2(session.snapshot());
    const std::uint64_t failed_before = session.snapshot().requests_failed;
    // As a user's Apply: the editor's text is what is posted and what stays for fixing.
    ui.kernel_text = read_text(sandbox_file("conv2d_syntax_error.comp"));
    session.post(app::KernelEditRequest{"conv1", ui.kernel_text, "conv1.comp"});
    settle(gui, session, ui);
    const app::Snapshot s = session.snapshot();
    CHECK(s.requests_failed == failed_before + 1);
    REQUIRE(s.kernel);
    CHECK_THAT(s.kernel->failure, Catch::Contains("conv1.comp:63"));
    REQUIRE(!s.kernel->errors.empty());
    CHECK(s.kernel->errors[0].line == 63);
    // Still running, and still judged: the loop-order rewrite.
    CHECK_THAT(s.kernel->edit_file, Catch::EndsWith("conv2d_loop_order.comp"));
    REQUIRE(s.kernel->verdict);
    CHECK(s.kernel->verdict->within_tolerance);
    CHECK(report_output_rel_l2(s) == edited_rel_l2);
    CHECK_THAT(s.log.back().text, Catch::Contains("previous kernel stays in use"));
    CHECK(ui.kernel_text != s.kernel->edit_source);  // the broken text stays in the editor to fix
    gui.renderer->save_screenshot(out_path("gui-kernel-syntax-error.png"));
    // And it still runs: a step goes through.
    session.post(app::ResetRequest{});
    session.post(app::StepRequest{1});
    settle(gui, session, ui);
    CHECK(session.snapshot().position == 1);
    CHECK(session.snapshot().requests_failed == failed_before + 1);
  }

  SECTION("an edit whose bindings do not fit the kernel is refused, naming the binding") {
    session.post(edit_of("conv1", "conv2d_bias_texel.comp"));
    settle(gui, session, ui);
    const app::Snapshot s = session.snapshot();
    CHECK(s.requests_bad_input == 1);
    REQUIRE(s.kernel);
    CHECK_THAT(s.kernel->failure, Catch::Contains("binding 2"));
    CHECK(s.kernel->edit_source.empty());
    CHECK(report_output_rel_l2(s) == builtin_output_rel_l2);
  }
  require_no_validation_messages(gui);
}

// An external editor's save is picked up: with "watch" on, the panel runs each new version of its
// file on the node and the editor shows it.
TEST_CASE("gui: the kernel panel runs a watched file again each time it is saved", "[gui][kernel_editor]") {
  Gui gui({1280, 800, "fusescope test", true});
  app::Session session(gui.device);
  app::UiState ui;
  open_kernel_panel_on_conv1(gui, session, ui);
  REQUIRE(ui.kernel_node == "conv1");

  const std::string path = out_path("watched_conv1.comp");
  std::filesystem::remove(path);
  std::snprintf(ui.kernel_file, sizeof ui.kernel_file, "%s", path.c_str());
  ui.kernel_watch = true;
  // Frames until the session has run what the panel posted for `want` (the watch looks twice a
  // second, so this takes real time).
  auto frames_until = [&](auto want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      settle(gui, session, ui, 0);
      const app::Snapshot s = session.snapshot();
      if (s.kernel && want(*s.kernel)) return;
    }
    FAIL("the watched file was not run");
  };
  auto save = [&](const std::string& sandbox, int seconds) {
    std::ofstream(path, std::ios::binary) << read_text(sandbox_file(sandbox));
    // A distinct write time even where the file system's clock is coarse.
    std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now() + std::chrono::seconds(seconds));
  };
  save("conv2d_loop_order.comp", 1);
  frames_until([&](const app::KernelSnapshot& k) { return k.edit_file == path && k.verdict; });
  CHECK(session.snapshot().kernel->verdict->within_tolerance);
  CHECK(ui.kernel_text == read_text(sandbox_file("conv2d_loop_order.comp")));

  save("conv2d_wrong_index.comp", 2);
  frames_until([&](const app::KernelSnapshot& k) { return k.verdict && !k.verdict->within_tolerance; });
  CHECK(session.snapshot().kernel->edit_source == read_text(sandbox_file("conv2d_wrong_index.comp")));
  require_no_validation_messages(gui);
}

// Scripted, as a user starts it: `gui MODEL --kernel-override NODE=FILE --panel kernel` opens the
// panel on the edit with its verdict. An edit over tolerance is the panel's news (drawn, logged),
// not a failure of the window: exit 0. An edit that does not fit the kernel is bad input: exit 2.
TEST_CASE("gui: --kernel-override opens the kernel panel on the edit", "[gui][kernel_editor]") {
  const std::string png_path = out_path("gui-kernel-panel.png");
  std::filesystem::remove(png_path);
  app::GuiOptions o;
  app::LoadRequest r;
  r.source.model = "conv_bn_layer";
  r.candidate = "algorithm-direct";
  o.load = r;
  o.kernel_edits.push_back(edit_of("conv1", "conv2d_wrong_index.comp"));
  o.select = "conv1";
  o.panel = "kernel";
  o.screenshot = png_path;
  o.validation = true;
  o.font_scale = 1.0f;
  // The verdict's badge is drawn in solid colour: the passing green (0.4, 0.8, 0.4) for an edit
  // within tolerance, never for one past it.
  auto green_pixels = [](const Png& png) {
    std::size_t n = 0;
    for (int y = 0; y < png.height; ++y)
      for (int x = 0; x < png.width; ++x) {
        const std::uint8_t* p = png.at(x, y);
        n += p[0] == 102 && p[1] == 204 && p[2] == 102;
      }
    return n;
  };
  const int line = 16;  // the badge: a square one text line high, 16 px at font scale 1
  REQUIRE(app::run_gui(o) == 0);
  Png png = read_png(png_path);
  CHECK(distinct_colours(png) > 50);
  CHECK(green_pixels(png) == 0);

  o.kernel_edits = {edit_of("conv1", "conv2d_loop_order.comp")};
  REQUIRE(app::run_gui(o) == 0);
  png = read_png(png_path);
  CHECK(green_pixels(png) >= static_cast<std::size_t>(line * line / 2));

  o.kernel_edits = {edit_of("conv1", "conv2d_short_push.comp")};
  CHECK(app::run_gui(o) == 2);
}
