// The kernel panel (the shader sandbox in the window): the GLSL behind the selected tensor's
// candidate node — the very variant that runs — with its dispatches' specialization constants,
// push constants and grids; an editor whose text replaces the kernel on that node (Apply, or
// saving the watched file in an external editor); and the verdict: the edit against the float64
// oracle on the node's real inputs, its GPU time beside the built-in kernel's, the effect on the
// network's output and, in the error-versus-depth plot, on every later layer. Compile errors are
// listed with their line and the source around it; the kernel that ran before keeps running.
#include <fmt/format.h>
#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/panels.hpp"
#include "app/style.hpp"
#include "gpu/shader_override.hpp"
#include "io/atomic_file.hpp"

namespace fusescope::app {

namespace {

// The verdict's colours: a solid badge (tests find it by its exact pixels) and the word.
const ImVec4 kGood{0.40f, 0.80f, 0.40f, 1.0f};

void badge(const ImVec4& colour) {
  const float size = ImGui::GetTextLineHeight();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  ImGui::GetWindowDrawList()->AddRectFilled(p, ImVec2(p.x + size, p.y + size), style::to_u32(colour));
  ImGui::Dummy(ImVec2(size, size));
  ImGui::SameLine();
}

std::string num(double v) {
  if (!std::isfinite(v)) return v > 0 ? "inf" : v < 0 ? "-inf" : "nan";
  return fmt::format("{:.3e}", v);
}

std::string words(const std::vector<std::uint32_t>& w) {
  std::string s;
  for (std::size_t i = 0; i < w.size(); ++i) s += fmt::format("{}{}", i ? " " : "", w[i]);
  return s.empty() ? "-" : s;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::int64_t write_stamp(const std::string& path) {
  std::error_code ec;
  const auto t = std::filesystem::last_write_time(path, ec);
  return ec ? 0 : static_cast<std::int64_t>(t.time_since_epoch().count());
}

void post_edit(Session& session, const KernelSnapshot& k, const std::string& source, const std::string& file) {
  session.post(KernelEditRequest{k.node, source, file});
}

// The file row: where "save as variant" writes, what "load" reads, what "watch" follows.
void draw_file_row(Session& session, const KernelSnapshot& k, UiState& ui) {
  if (ui.kernel_file[0] == '\0') std::snprintf(ui.kernel_file, sizeof ui.kernel_file, "%s.comp", k.node.c_str());
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 16);
  ImGui::InputText("##kernel file", ui.kernel_file, sizeof ui.kernel_file);
  ImGui::SameLine();
  if (ImGui::Button("Save as variant")) {
    try {
      io::write_file_atomically(ui.kernel_file, ui.kernel_text);
      ui.kernel_watch_stamp = write_stamp(ui.kernel_file);
      session.note(LogLine::Level::info,
                   fmt::format("wrote {}: run it again with --kernel-override {}={} (run, compare, bench)",
                               ui.kernel_file, k.node, ui.kernel_file));
    } catch (const std::exception& e) {
      session.note(LogLine::Level::bad_input, fmt::format("save as variant: {}", e.what()));
    }
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Writes the editor's text to this file (whole, or not at all)");
  ImGui::SameLine();
  const bool load = ImGui::Button("Load");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Reads this file into the editor and runs it on %s", k.node.c_str());
  ImGui::SameLine();
  ImGui::Checkbox("watch", &ui.kernel_watch);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Runs the file again each time it is saved (edit it in your own editor)");
  // A watched file is looked at twice a second; a new write time is a save.
  bool reload = load;
  const double now = ImGui::GetTime();
  if (ui.kernel_watch && now - ui.kernel_watch_checked > 0.5) {
    ui.kernel_watch_checked = now;
    const std::int64_t stamp = write_stamp(ui.kernel_file);
    if (stamp != 0 && stamp != ui.kernel_watch_stamp) reload = true;
  }
  if (!reload) return;
  ui.kernel_watch_stamp = write_stamp(ui.kernel_file);
  std::ifstream in(ui.kernel_file, std::ios::binary);
  if (!in) {
    ui.kernel_watch = false;
    session.note(LogLine::Level::bad_input, fmt::format("{}: no such file (or it cannot be read)", ui.kernel_file));
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  ui.kernel_text = text.str();
  ui.kernel_dirty = true;
  post_edit(session, k, ui.kernel_text, ui.kernel_file);
}

// Each compiler message with its line and the lines around it, numbered as the editor counts.
void draw_failure(const KernelSnapshot& k, const UiState& ui, ImFont* mono) {
  ImGui::PushStyleColor(ImGuiCol_Text, style::kWarning);
  ImGui::TextWrapped("The last edit failed; %s is still running:",
                     k.edit_source.empty() ? "the built-in kernel"
                                           : std::filesystem::path(k.edit_file).filename().c_str());
  ImGui::PopStyleColor();
  if (k.errors.empty()) {
    ImGui::PushTextWrapPos(0);
    ImGui::TextUnformatted(k.failure.c_str());
    ImGui::PopTextWrapPos();
    return;
  }
  const std::vector<std::string> lines = split_lines(ui.kernel_text);
  ImGui::PushFont(mono);
  for (const gpu::GlslDiagnostic& d : k.errors) {
    ImGui::PushStyleColor(ImGuiCol_Text, style::kWarning);
    ImGui::TextWrapped("line %d: %s: %s", d.line, d.severity.c_str(), d.message.c_str());
    ImGui::PopStyleColor();
    if (d.line <= 0) continue;
    for (int l = std::max(1, d.line - 1); l <= d.line + 1 && l <= static_cast<int>(lines.size()); ++l) {
      const std::string& text = lines[static_cast<std::size_t>(l - 1)];
      if (l == d.line)
        ImGui::TextColored(style::kWarning, "%5d > %s", l, text.c_str());
      else
        ImGui::TextDisabled("%5d   %s", l, text.c_str());
    }
  }
  ImGui::PopFont();
}

void draw_verdict(const KernelSnapshot& k, ImFont* mono) {
  if (!k.verdict) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    ImGui::TextWrapped("%s", k.edit_source.empty() ? "The built-in kernel runs. Edit it and press Apply to judge the edit."
                                                   : "no verdict yet");
    ImGui::PopStyleColor();
    return;
  }
  const workbench::KernelOverrideCheck& c = *k.verdict;
  badge(c.within_tolerance ? kGood : style::kWarning);
  ImGui::TextColored(c.within_tolerance ? kGood : style::kWarning, "%s",
                     c.within_tolerance ? "PASS" : "OVER TOLERANCE");
  ImGui::SameLine();
  ImGui::TextWrapped("%s against the float64 oracle on this node's real inputs from this run",
                     std::filesystem::path(c.file).filename().c_str());
  ImGui::PushFont(mono);
  if (ImGui::BeginTable("verdict", 2, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg)) {
    auto row = [](const char* name, const std::string& value, bool warn = false) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(name);
      ImGui::TableNextColumn();
      if (warn) ImGui::PushStyleColor(ImGuiCol_Text, style::kWarning);
      ImGui::TextUnformatted(value.c_str());
      if (warn) ImGui::PopStyleColor();
    };
    row("rel-L2", num(c.vs_oracle.rel_l2), !c.within_tolerance);
    row("tolerance", num(c.tolerance_rel_l2));
    row("max-abs", num(c.vs_oracle.max_abs));
    row("max ULP", c.vs_oracle.max_ulp == numerics::kMaxUlpInfinite ? std::string("inf")
                                                                      : std::to_string(c.vs_oracle.max_ulp));
    row("non-finite", std::to_string(c.vs_oracle.non_finite), c.vs_oracle.non_finite > 0);
    row("GPU ms", fmt::format("{:.3f} (built-in {:.3f})", c.gpu_ms, c.builtin_gpu_ms));
    row("output", fmt::format("{} vs the built-in run", c.network_output));
    row("", fmt::format("rel-L2 {}, max-abs {}", num(c.network_output_vs_builtin.rel_l2),
                        num(c.network_output_vs_builtin.max_abs)));
    ImGui::EndTable();
  }
  ImGui::PopFont();
}

// The largest differences from the oracle, with their NCHW indices (where an indexing bug hits).
void draw_worst(const KernelSnapshot& k, ImFont* mono) {
  if (!k.verdict) return;
  const workbench::KernelOverrideCheck& c = *k.verdict;
  ImGui::PushFont(mono);
  if (!c.worst.empty()) {
    ImGui::TextUnformatted("worst elements (NCHW)");
    if (ImGui::BeginTable("worst", 4, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg)) {
      ImGui::TableSetupColumn("index");
      ImGui::TableSetupColumn("got");
      ImGui::TableSetupColumn("oracle");
      ImGui::TableSetupColumn("|diff|");
      ImGui::TableHeadersRow();
      for (const workbench::WorstElement& w : c.worst) {
        std::string index;
        for (std::size_t i = 0; i < w.index.size(); ++i) index += fmt::format("{}{}", i ? "," : "", w.index[i]);
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(index.c_str());
        ImGui::TableNextColumn();
        ImGui::Text("% .6g", static_cast<double>(w.got));
        ImGui::TableNextColumn();
        ImGui::Text("% .6g", w.expected);
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(num(std::abs(static_cast<double>(w.got) - w.expected)).c_str());
      }
      ImGui::EndTable();
    }
  }
  ImGui::PopFont();
}

// One block per dispatch: kernel and grid, then its specialization constants and push-constant
// words (wrapped: a conv's push block is 21 words).
void draw_dispatches(const KernelSnapshot& k, ImFont* mono) {
  ImGui::Text("%zu dispatch%s", k.dispatches.size(), k.dispatches.size() == 1 ? "" : "es");
  ImGui::PushFont(mono);
  for (std::size_t i = 0; i < k.dispatches.size(); ++i) {
    const gpu::DispatchRecord& d = k.dispatches[i];
    std::string kernel = d.spec.shader;
    if (d.spec.shader_override)
      kernel += " <- " + std::filesystem::path(d.spec.shader_override->file_name()).filename().string();
    ImGui::TextWrapped("#%zu %s  groups %u x %u x %u", i, kernel.c_str(), d.groups.x, d.groups.y, d.groups.z);
    ImGui::TextWrapped("   specialization %s", words(d.spec.specialization).c_str());
    ImGui::TextWrapped("   push (u32)     %s", words(d.push_constants).c_str());
  }
  ImGui::PopFont();
}

}  // namespace

void draw_kernel_panel(Session& session, const Snapshot& s, UiState& ui, ImFont* mono) {
  if (!s.model || !s.kernel) {
    ImGui::TextDisabled("Load a model and select a tensor: its node's kernel shows here.");
    return;
  }
  const KernelSnapshot& k = *s.kernel;
  if (k.node.empty() || k.dispatches.empty()) {
    ImGui::Text("%s", k.value.c_str());
    ImGui::TextDisabled("%s", k.note.c_str());
    return;
  }
  // The editor follows the selection, and shows what runs after each applied edit or revert;
  // a failed edit changes nothing that runs, so the user's text stays to be fixed.
  if (ui.kernel_node != k.node || ui.kernel_generation != k.generation) {
    if (ui.kernel_node != k.node) ui.kernel_file[0] = '\0', ui.kernel_watch = false;
    ui.kernel_node = k.node;
    ui.kernel_generation = k.generation;
    ui.kernel_text = k.edit_source.empty() ? k.builtin_source : k.edit_source;
    ui.kernel_dirty = false;
  }

  const bool edited = !k.edit_source.empty();
  ImGui::Text("node %s", k.node.c_str());
  ImGui::SameLine();
  ImGui::TextDisabled("(computes %s) · kernel %s ·", k.value.c_str(), k.shader.c_str());
  ImGui::SameLine();
  if (edited)
    ImGui::TextColored(style::kAccent, "running the edit %s", k.edit_file.c_str());
  else
    ImGui::TextUnformatted("running the built-in kernel");
  if (k.edits > (edited ? 1u : 0u))
    ImGui::TextDisabled("%zu other node(s) run edits too", k.edits - (edited ? 1 : 0));

  ImGui::BeginDisabled(s.busy || s.pending > 0);
  const bool apply = ImGui::Button("Apply") ||
                     (ImGui::GetIO().KeyCtrl && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Enter)));
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Compile the text (Ctrl+Enter), run it on %s, judge it against the float64 oracle", k.node.c_str());
  ImGui::SameLine();
  ImGui::BeginDisabled(!edited);
  if (ImGui::Button("Revert")) session.post(KernelRevertRequest{k.node});
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("Back to the built-in kernel");
  ImGui::EndDisabled();
  ImGui::SameLine();
  if (ImGui::Button("Built-in text")) {
    ui.kernel_text = k.builtin_source;
    ui.kernel_dirty = true;
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Put the built-in kernel's source in the editor (nothing runs until Apply)");
  ImGui::SameLine();
  draw_file_row(session, k, ui);
  if (apply) post_edit(session, k, ui.kernel_text, fmt::format("{}.comp", k.node));

  const float right_width = ImGui::GetContentRegionAvail().x * 0.5f;
  const float body = ImGui::GetContentRegionAvail().y;
  ImGui::BeginChild("kernel source", ImVec2(-right_width - ImGui::GetStyle().ItemSpacing.x, body), false);
  const bool failed = !k.failure.empty();
  const float failure_height = failed ? std::min(body * 0.4f, ImGui::GetTextLineHeightWithSpacing() *
                                                                   (2.0f + 7.0f * static_cast<float>(std::max<std::size_t>(1, k.errors.size()))))
                                      : 0.0f;
  ImGui::PushFont(mono);
  if (ImGui::InputTextMultiline("##source", &ui.kernel_text,
                                ImVec2(-1, ImGui::GetContentRegionAvail().y - failure_height),
                                ImGuiInputTextFlags_AllowTabInput))
    ui.kernel_dirty = true;
  ImGui::PopFont();
  if (failed) {
    ImGui::BeginChild("kernel errors", ImVec2(0, 0), true);
    draw_failure(k, ui, mono);
    ImGui::EndChild();
  }
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("kernel verdict", ImVec2(0, body), false);
  draw_verdict(k, mono);
  if (s.report && !s.report->layers.empty()) {
    ImGui::TextUnformatted(edited ? "rel-L2 versus depth, the candidate running the edit"
                                  : "rel-L2 versus depth (click a layer to select it)");
    draw_depth_plot(session, s, ui, ImGui::GetFontSize() * 8);
  }
  draw_worst(k, mono);
  ImGui::Separator();
  draw_dispatches(k, mono);
  ImGui::EndChild();
}

}  // namespace fusescope::app
