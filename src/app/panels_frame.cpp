// The window's frame: toolbar (open, candidate, stepper), the model tree on the left, the
// tabbed main area, the log at the bottom; keys and play; the small file browser.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include <GLFW/glfw3.h>

#include "app/panels.hpp"
#include "app/style.hpp"
#include "workbench/node_label.hpp"

namespace fusescope::app {

namespace {

// A node's name past its scope, for a row under the scope's header: ONNX's
// "StatefulPartitionedCall/functional_1/conv2d/BiasAdd" under ".../conv2d" is "BiasAdd", PyTorch's
// "/layer1/layer1.0/conv1/Conv" under "layer1/layer1.0/conv1" is "Conv", the zoo's "layer1.0.conv2"
// under "layer1/0" is "conv2" and Keras' "conv2_block1_2_conv" under "conv2/block1" is "2_conv" (a
// '/' of the scope matches a '.' or '_' of the name). A name that does not start with its scope is
// shown whole.
std::string_view name_within_scope(std::string_view name, std::string_view scope) {
  auto separator = [](char c) { return c == '/' || c == '.' || c == '_'; };
  std::string_view rest = name;
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (rest.size() <= scope.size() + 1) return name;
  for (std::size_t i = 0; i < scope.size(); ++i) {
    if (rest[i] != scope[i] && !(scope[i] == '/' && separator(rest[i]))) return name;
  }
  if (!separator(rest[scope.size()])) return name;
  return rest.substr(scope.size() + 1);
}

bool is_image_path(const std::string& p) {
  std::string ext = std::filesystem::path(p).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".safetensors";
}

std::string human_count(double v) {
  if (v >= 1e9) return fmt::format("{:.2f} G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f} M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f} k", v / 1e3);
  return fmt::format("{:.0f}", v);
}


void draw_browser(Session& session, const Snapshot& s, UiState& ui) {
  if (!ui.browser_open) return;
  ImGui::SetNextWindowSize(ImVec2(560, 420), ImGuiCond_FirstUseEver);
  if (!ImGui::Begin("Open file", &ui.browser_open)) {
    ImGui::End();
    return;
  }
  namespace fs = std::filesystem;
  if (ui.browser_dir.empty()) ui.browser_dir = fs::current_path().string();
  ImGui::TextUnformatted(ui.browser_dir.c_str());
  if (ImGui::Button("..")) ui.browser_dir = fs::path(ui.browser_dir).parent_path().string();
  ImGui::BeginChild("files");
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (const auto& e : fs::directory_iterator(ui.browser_dir, fs::directory_options::skip_permission_denied, ec))
    entries.push_back(e);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::make_pair(!a.is_directory(), a.path().filename()) < std::make_pair(!b.is_directory(), b.path().filename());
  });
  for (const auto& e : entries) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (e.is_directory(ec)) {
      if (ImGui::Selectable((name + "/").c_str())) ui.browser_dir = e.path().string();
      continue;
    }
    const bool wanted = ui.browser_target == "model" ? e.path().extension() == ".onnx" : is_image_path(name);
    if (!wanted) continue;
    if (ImGui::Selectable(name.c_str())) {
      char* dst = ui.browser_target == "model" ? ui.model_path : ui.input_path;
      std::snprintf(dst, 512, "%s", e.path().string().c_str());
      ui.browser_open = false;
      session.post(load_request_from_form(s, ui));
    }
  }
  if (ec) ImGui::TextColored(style::kWarning, "%s", ec.message().c_str());
  ImGui::EndChild();
  ImGui::End();
}

}  // namespace

LoadRequest load_request_from_form(const Snapshot& s, const UiState& ui) {
  LoadRequest r;
  if (s.model) r.source = s.model->source;
  r.source.model = ui.model_path;
  r.source.input = ui.input_path;
  const bool onnx = r.source.model.size() > 5 && r.source.model.substr(r.source.model.size() - 5) == ".onnx";
  r.source.size = onnx ? "" : ui.size_text;
  if (onnx) r.source.batch = 0;
  const auto all = workbench::standard_candidates();
  r.candidate = all.at(static_cast<std::size_t>(std::clamp(ui.candidate, 0, static_cast<int>(all.size()) - 1))).name;
  r.layout = ui.nhwc ? graph::Layout::nhwc : graph::Layout::nchw;
  if (s.report) {
    r.reference_precision = s.report->reference_precision;
    r.conv_algorithm = s.report->reference_algorithm;
    r.autotune = s.report->reference_autotune;
    r.oracle = s.report->has_oracle;
  }
  return r;
}

const char* to_string(Tab t) {
  switch (t) {
    case Tab::tensor: return "tensor";
    case Tab::compare: return "compare";
    case Tab::fusion: return "fusion";
    case Tab::timing: return "timing";
    case Tab::camera: return "camera";
    case Tab::kernel: return "kernel";
  }
  return "?";
}

Tab parse_tab(const std::string& name) {
  for (Tab t : {Tab::tensor, Tab::compare, Tab::fusion, Tab::timing, Tab::camera, Tab::kernel})
    if (name == to_string(t)) return t;
  throw ops::InvalidArgument(fmt::format("--panel {}: expected tensor, compare, fusion, timing, camera or kernel", name));
}

void select_value(Session& session, UiState& ui, const std::string& value) {
  session.post(SelectRequest{value, -1, 0});
  ui.scroll_to = value;
}

void handle_keys_and_play(Session& session, const Snapshot& s, UiState& ui) {
  if (!s.model) return;
  const ImGuiIO& io = ImGui::GetIO();
  if (!io.WantTextInput) {
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_RightArrow))) session.post(StepRequest{1});
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_DownArrow))) session.post(BlockRequest{});
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Home))) {
      ui.playing = false;
      session.post(ResetRequest{});
    }
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Space))) ui.playing = !ui.playing;
  }
  if (!ui.playing) return;
  const auto& nodes = s.model->reference;
  if (s.position >= nodes.size()) {
    ui.playing = false;
    return;
  }
  // A breakpoint stops play once its node has run.
  if (s.position > 0 && ui.breakpoints.count(nodes[s.position - 1].name) && ImGui::GetTime() - ui.last_play_step > 0.05 &&
      ui.last_play_step > 0) {
    ui.playing = false;
    ui.last_play_step = 0;
    return;
  }
  const double now = ImGui::GetTime();
  if (!s.busy && s.pending == 0 && now - ui.last_play_step >= 1.0 / ui.play_nodes_per_second) {
    ui.last_play_step = now;
    session.post(StepRequest{1});
  }
}

void draw_toolbar(Session& session, const Snapshot& s, UiState& ui) {
  // A reload that failed (a pipeline the driver could not create, too little device memory)
  // left the previous model loaded: once the worker is idle, the candidate and layout controls
  // show what is on screen again, not the choice that failed (the log says why it failed).
  if (s.requests_failed != ui.failures_seen && !s.busy && s.pending == 0) {
    ui.failures_seen = s.requests_failed;
    if (s.model) {
      const auto all = workbench::standard_candidates();
      for (std::size_t i = 0; i < all.size(); ++i)
        if (all[i].name == s.model->candidate_name) ui.candidate = static_cast<int>(i);
      ui.nhwc = s.model->candidate_choice.layout == graph::Layout::nhwc;
    }
  }
  if (ImGui::Button("Open model…")) {
    ui.browser_open = true;
    ui.browser_target = "model";
  }
  ImGui::SameLine();
  if (ImGui::Button("Open input…")) {
    ui.browser_open = true;
    ui.browser_target = "input";
  }
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 11);
  ImGui::InputTextWithHint("##model", "zoo model or .onnx", ui.model_path, sizeof ui.model_path);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 10);
  ImGui::InputTextWithHint("##input", "input image (empty: seeded)", ui.input_path, sizeof ui.input_path);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 5);
  ImGui::InputTextWithHint("##size", "HxW", ui.size_text, sizeof ui.size_text);
  ImGui::SameLine();
  if (ImGui::Button("Load")) session.post(load_request_from_form(s, ui));
  ImGui::SameLine();
  const auto candidates = workbench::standard_candidates();
  const std::string current = candidates.at(static_cast<std::size_t>(ui.candidate)).label;
  // Wide enough for the chosen label: "unfused, every conv on depthwise" clipped at 12 em hid
  // which algorithm is loaded.
  const ImGuiStyle& style = ImGui::GetStyle();
  ImGui::SetNextItemWidth(std::max(ImGui::GetFontSize() * 12, ImGui::CalcTextSize(current.c_str()).x +
                                                                   ImGui::GetFrameHeight() + 2 * style.FramePadding.x));
  if (ImGui::BeginCombo("candidate", current.c_str())) {
    for (int i = 0; i < static_cast<int>(candidates.size()); ++i) {
      if (ImGui::Selectable(candidates[static_cast<std::size_t>(i)].label.c_str(), i == ui.candidate)) {
        ui.candidate = i;
        if (s.model) session.post(CandidateRequest{candidates[static_cast<std::size_t>(i)].name});
      }
    }
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  // The Vulkan device: picking another rebuilds the renderer and the session on it.
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  const std::string current_device = ui.device < static_cast<int>(ui.devices.size())
                                         ? ui.devices[static_cast<std::size_t>(ui.device)]
                                         : "device";
  if (ImGui::BeginCombo("##device", current_device.c_str())) {
    for (int i = 0; i < static_cast<int>(ui.devices.size()); ++i) {
      if (ImGui::Selectable(fmt::format("{}: {}", i, ui.devices[static_cast<std::size_t>(i)]).c_str(), i == ui.device) &&
          i != ui.device) {
        ui.switch_device = i;
      }
    }
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  // How activations lie on the device (both networks); changing it reloads.
  if (ImGui::Checkbox("nhwc", &ui.nhwc) && s.model) session.post(load_request_from_form(s, ui));
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("device layout of activations: NHWC (checked) or NCHW");

  // The stepper.
  const bool loaded = s.model != nullptr;
  ImGui::BeginDisabled(!loaded);
  if (ImGui::Button("Reset")) {
    ui.playing = false;
    session.post(ResetRequest{});
  }
  ImGui::SameLine();
  if (ImGui::Button("Step →")) session.post(StepRequest{1});
  ImGui::SameLine();
  if (ImGui::Button("Block ↓")) session.post(BlockRequest{});
  ImGui::SameLine();
  const bool has_selection = loaded && !s.selected.empty();
  if (ImGui::Button("Run to selected") && has_selection) {
    // The selected value's producer.
    for (const NodeRow& n : s.model->reference)
      if (n.output == s.selected) session.post(RunToRequest{n.name});
  }
  ImGui::SameLine();
  if (ImGui::Button("Run all")) session.post(RunAllRequest{});
  ImGui::SameLine();
  if (ImGui::Button(ui.playing ? "Pause" : "Play")) ui.playing = !ui.playing;
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  ImGui::SliderFloat("nodes/s", &ui.play_nodes_per_second, 0.5f, 60.0f, "%.1f", ImGuiSliderFlags_Logarithmic);
  ImGui::EndDisabled();
  ImGui::SameLine();
  if (loaded) {
    const std::size_t total = s.model->reference.size();
    const std::string where = s.position == 0 ? "at the start"
                              : s.position >= total
                                  ? "all nodes run"
                                  : fmt::format("after {}", s.model->reference[s.position - 1].name);
    ImGui::Text("node %zu / %zu (%s)", s.position, total, where.c_str());
  }
  // Text size, remembered with the settings (on top of the display's own scale).
  ImGui::SameLine();
  ImGuiIO& io = ImGui::GetIO();
  if (ImGui::SmallButton("A-")) io.FontGlobalScale = std::max(0.5f, io.FontGlobalScale / 1.1f);
  ImGui::SameLine();
  if (ImGui::SmallButton("A+")) io.FontGlobalScale = std::min(3.0f, io.FontGlobalScale * 1.1f);
  // Progress: anything running longer than ~100 ms shows what and how far.
  if (s.busy && s.busy_seconds > 0.1) {
    ImGui::SameLine();
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 10);
    ImGui::ProgressBar(static_cast<float>(s.progress), ImVec2(ImGui::GetFontSize() * 10, 0),
                       fmt::format("{:.0f}%", 100 * s.progress).c_str());
    ImGui::SameLine();
    ImGui::Text("%s (%.1f s)", s.stage.c_str(), s.busy_seconds);
  }
}

void draw_model_panel(Session& session, const Snapshot& s, UiState& ui, ImFont* mono) {
  if (!s.model) {
    ImGui::TextWrapped("No model loaded. Type a zoo name (resnet50-keras, resnet45, repvgg-a0, dpn92 …) or an "
                       ".onnx path above and press Load, drop a file on the window, or use Open model.");
    return;
  }
  const ModelSnapshot& m = *s.model;
  ImGui::TextWrapped("%s", m.description.c_str());
  ImGui::Text("%s parameters, %sFLOPs", human_count(static_cast<double>(m.parameters)).c_str(),
              human_count(static_cast<double>(m.flops)).c_str());
  ImGui::SetNextItemWidth(-1);
  ImGui::InputTextWithHint("##search", "search nodes", ui.search, sizeof ui.search);
  const std::string query = ui.search;
  const std::vector<double>* ms = s.timing ? &s.timing->reference_ms : nullptr;

  // A start every scope shares (a TensorFlow export's "StatefulPartitionedCall/functional_1/") is
  // said once here; the scope rows show what follows it.
  std::vector<std::string_view> scopes;
  scopes.reserve(m.reference.size());
  for (const NodeRow& n : m.reference) scopes.push_back(n.scope);
  const std::string scope_prefix = workbench::common_scope_prefix(scopes);
  if (!scope_prefix.empty()) ImGui::TextDisabled("scopes below are in %s", scope_prefix.c_str());

  ImGui::PushFont(mono);
  const ImGuiTableFlags flags = ImGuiTableFlags_ScrollY | ImGuiTableFlags_RowBg | ImGuiTableFlags_Resizable |
                                ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit;
  // The selected node in full below the table (what the table has no room for), wrapped: the
  // parameters and the candidate's node often run past the panel's edge. Its height is measured
  // first, so the table leaves exactly that room.
  const NodeRow* selected_row = nullptr;
  for (const NodeRow& n : m.reference)
    if (n.output == s.selected) selected_row = &n;
  std::string detail_op, detail_size;
  if (selected_row) {
    const NodeRow& n = *selected_row;
    detail_op = fmt::format("{} {}  {}", n.op, n.shape, n.params);
    detail_size = fmt::format("{:.2f} MFLOPs, weights {:.1f} KiB{}{}", static_cast<double>(n.flops) / 1e6,
                              static_cast<double>(n.weight_bytes) / 1024.0, n.fused_as.empty() ? "" : ", candidate: ",
                              n.fused_as);
  }
  const float width = ImGui::GetContentRegionAvail().x;
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  const float name_width = selected_row ? ImGui::CalcTextSize(selected_row->name.c_str()).x + spacing : 0.0f;
  // The op and parameters follow the name on its line, or (a long name) start a line of their own.
  const bool op_beside_name = name_width < 0.6f * width;
  const float line_gap = ImGui::GetStyle().ItemSpacing.y;
  const float detail_height =
      selected_row
          ? (op_beside_name ? 0.0f : ImGui::CalcTextSize(selected_row->name.c_str(), nullptr, false, width).y + line_gap) +
                ImGui::CalcTextSize(detail_op.c_str(), nullptr, false, op_beside_name ? width - name_width : width).y +
                ImGui::CalcTextSize(detail_size.c_str(), nullptr, false, width).y + 3 * line_gap
          : 0.0f;
  if (ImGui::BeginTable("nodes", 4, flags, ImVec2(0, ImGui::GetContentRegionAvail().y - detail_height))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    // Fixed columns start as wide as their widest cell: the rows under closed scopes are not drawn,
    // so ImGui's fit to drawn content would cut the shapes of the rows opened later.
    std::size_t shape_chars = 5, flops_chars = 6;  // at least the headers' width
    for (const NodeRow& n : m.reference) {
      shape_chars = std::max(shape_chars, n.shape.size());
      flops_chars = std::max(flops_chars, fmt::format("{:.2f}", static_cast<double>(n.flops) / 1e6).size());
    }
    const float char_width = std::max(ImGui::CalcTextSize("0").x, 1.0f);  // the font is monospaced
    const float cell_padding = 2 * ImGui::GetStyle().CellPadding.x;
    ImGui::TableSetupColumn("node", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("shape", ImGuiTableColumnFlags_WidthFixed, shape_chars * char_width + cell_padding);
    ImGui::TableSetupColumn("MFLOPs", ImGuiTableColumnFlags_WidthFixed, flops_chars * char_width + cell_padding);
    ImGui::TableSetupColumn("GPU ms", ImGuiTableColumnFlags_WidthFixed, 7 * char_width + cell_padding);
    ImGui::TableHeadersRow();
    std::string open_scope;  // the scope whose rows are being listed ("" top level)
    bool scope_open = true;
    for (std::size_t i = 0; i < m.reference.size(); ++i) {
      const NodeRow& n = m.reference[i];
      if (!query.empty() && n.name.find(query) == std::string::npos && n.op.find(query) == std::string::npos) continue;
      // Scopes (stage/block) as collapsible header rows; a search lists matches flat.
      if (query.empty() && n.scope != open_scope) {
        open_scope = n.scope;
        if (!n.scope.empty()) {
          ImGui::TableNextRow();
          ImGui::TableSetColumnIndex(0);
          const bool here = s.position > 0 && s.position <= m.reference.size() &&
                            m.reference[s.position - 1].scope == n.scope;
          if (here) ImGui::PushStyleColor(ImGuiCol_Text, style::kAccent);
          if (!ui.scroll_to.empty()) {
            for (std::size_t k = i; k < m.reference.size() && m.reference[k].scope == n.scope; ++k)
              if (m.reference[k].output == ui.scroll_to) ImGui::SetNextItemOpen(true);
          }
          const std::size_t scope_chars = static_cast<std::size_t>(
              std::max(ImGui::GetContentRegionAvail().x - ImGui::GetTreeNodeToLabelSpacing(), 0.0f) / char_width);
          const std::string_view shown_scope = std::string_view(n.scope).substr(scope_prefix.size());
          scope_open = ImGui::TreeNodeEx(fmt::format("{}##scope{}", workbench::keep_name_end(shown_scope, scope_chars), i).c_str(),
                                         ImGuiTreeNodeFlags_SpanFullWidth | ImGuiTreeNodeFlags_NoTreePushOnOpen |
                                             (here ? ImGuiTreeNodeFlags_DefaultOpen : 0));
          if (here) ImGui::PopStyleColor();
        } else {
          scope_open = true;
        }
      }
      if (query.empty() && !scope_open) continue;
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      const bool executed = i < s.position;
      const bool current = s.position > 0 && i == s.position - 1;
      const bool selected = n.output == s.selected;
      const bool bp = ui.breakpoints.count(n.name) > 0;
      // The row is "[indent]marker name op". Under its scope's header a node shows its name past
      // the scope; a search lists full names. A name too long for the column keeps its end (the
      // start of exported names is the same on every row).
      const bool under_header = !n.scope.empty() && query.empty();
      const char* indent = under_header ? "  " : "";
      std::string_view shown_name = n.name;
      if (under_header) shown_name = name_within_scope(shown_name, n.scope);
      // The op follows when both fit; else the name has the room (the op is in the tooltip and
      // the detail line below the table).
      const std::size_t column_chars = static_cast<std::size_t>(ImGui::GetContentRegionAvail().x / char_width);
      const std::size_t marker_chars = std::char_traits<char>::length(indent) + 1;
      const bool with_op = marker_chars + shown_name.size() + 1 + n.op.size() <= column_chars;
      const std::string name = workbench::keep_name_end(
          shown_name, column_chars > marker_chars ? column_chars - marker_chars : 0);
      const std::string label = fmt::format("{}{}{}{}{}##{}", indent, current ? "▶" : bp ? "●" : " ", name,
                                            with_op ? " " : "", with_op ? n.op : "", i);
      if (!executed) ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
      if (current) ImGui::PushStyleColor(ImGuiCol_Text, style::kAccent);
      if (ImGui::Selectable(label.c_str(), selected, ImGuiSelectableFlags_SpanAllColumns)) {
        session.post(SelectRequest{n.output, -1, 0});
      }
      if (current) ImGui::PopStyleColor();
      if (!executed) ImGui::PopStyleColor();
      if (selected && n.output == ui.scroll_to) {
        ImGui::SetScrollHereY(0.3f);
        ui.scroll_to.clear();
      }
      if (ImGui::BeginPopupContextItem()) {
        if (ImGui::MenuItem(bp ? "Remove breakpoint" : "Breakpoint here")) {
          if (bp) ui.breakpoints.erase(n.name); else ui.breakpoints.insert(n.name);
        }
        if (ImGui::MenuItem("Run to here")) session.post(RunToRequest{n.name});
        ImGui::EndPopup();
      }
      if (ImGui::IsItemHovered()) {
        ImGui::SetTooltip("%s (%s)\n%s\nweights %.1f KiB%s%s", n.name.c_str(), n.op.c_str(), n.params.c_str(),
                          static_cast<double>(n.weight_bytes) / 1024.0, n.fused_as.empty() ? "" : "\ncandidate: ",
                          n.fused_as.c_str());
      }
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(n.shape.c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%*.2f", static_cast<int>(flops_chars), static_cast<double>(n.flops) / 1e6);
      ImGui::TableNextColumn();
      if (ms && i < ms->size() && executed) ImGui::Text("%7.3f", (*ms)[i]);
    }
    ImGui::EndTable();
  }
  if (selected_row) {
    ImGui::PushStyleColor(ImGuiCol_Text, style::kAccent);
    if (op_beside_name) {
      ImGui::TextUnformatted(selected_row->name.c_str());
      ImGui::SameLine();
    } else {
      ImGui::TextWrapped("%s", selected_row->name.c_str());  // a long exported name, whole
    }
    ImGui::PopStyleColor();
    ImGui::TextWrapped("%s", detail_op.c_str());
    ImGui::TextWrapped("%s", detail_size.c_str());
  }
  ImGui::PopFont();
}

void draw_log_panel(const Snapshot& s, ImFont* mono) {
  ImGui::PushFont(mono);
  for (const LogLine& l : s.log) {
    const bool err = l.level != LogLine::Level::info;
    if (err) ImGui::PushStyleColor(ImGuiCol_Text, style::kWarning);
    ImGui::TextWrapped("%7.1f s  %s%s", l.seconds, err ? "error: " : "", l.text.c_str());
    if (err) ImGui::PopStyleColor();
  }
  if (ImGui::GetScrollY() >= ImGui::GetScrollMaxY() - 4) ImGui::SetScrollHereY(1.0f);
  ImGui::PopFont();
}

void draw_smaller_loads(Session& session, const Snapshot& s) {
  if (s.smaller_loads.empty()) return;
  ImGui::AlignTextToFramePadding();
  ImGui::TextColored(style::kWarning, "%s did not fit in device memory (the log says what did not). Try:",
                     s.out_of_memory.c_str());
  for (std::size_t i = 0; i < s.smaller_loads.size(); ++i) {
    ImGui::SameLine();
    ImGui::PushID(static_cast<int>(i));
    if (ImGui::Button(s.smaller_loads[i].label.c_str())) session.post(s.smaller_loads[i].request);
    ImGui::PopID();
  }
}

void draw_window(Session& session, const Snapshot& s, UiState& ui, TextureRegistry& textures, ImFont* mono,
                 CameraSession* camera, const CameraSnapshot* camera_snapshot) {
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(vp->WorkPos);
  ImGui::SetNextWindowSize(vp->WorkSize);
  const ImGuiWindowFlags host = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoSavedSettings;
  ImGui::Begin("fusescope", nullptr, host);
  draw_toolbar(session, s, ui);
  ImGui::Separator();

  const float log_height = ImGui::GetTextLineHeightWithSpacing() * 4.5f;
  const float offers_height = s.smaller_loads.empty() ? 0.0f : ImGui::GetFrameHeightWithSpacing();
  const float body_height =
      ImGui::GetContentRegionAvail().y - log_height - offers_height - ImGui::GetStyle().ItemSpacing.y;
  // A third for the node list: wider, and the tensor panel's picture (beside a fixed-width legend
  // and statistics) falls below its own size at 1280 pixels and aliases its 1-pixel tile gaps.
  const float left_width = ImGui::GetContentRegionAvail().x * 0.34f;
  ImGui::BeginChild("model", ImVec2(left_width, body_height), true);
  draw_model_panel(session, s, ui, mono);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("main", ImVec2(0, body_height), true);
  if (ImGui::BeginTabBar("tabs")) {
    // A panel may switch tabs itself (the camera's freeze opens the stepper): that request is
    // for the next frame, so only the one pending now is consumed here.
    const bool switching = ui.tab_changed;
    for (Tab t : {Tab::tensor, Tab::compare, Tab::fusion, Tab::timing, Tab::kernel, Tab::camera}) {
      const char* names[] = {"Tensor", "Compare", "Fusion", "Timing", "Camera", "Kernel"};
      ImGuiTabItemFlags f = ui.tab_changed && ui.tab == t ? ImGuiTabItemFlags_SetSelected : 0;
      if (ImGui::BeginTabItem(names[static_cast<int>(t)], nullptr, f)) {
        if (!ui.tab_changed) ui.tab = t;
        switch (t) {
          case Tab::tensor: draw_tensor_panel(session, s, ui, textures, mono); break;
          case Tab::compare: draw_compare_panel(session, s, ui, textures, mono); break;
          case Tab::fusion: draw_fusion_panel(session, s, ui, textures, mono); break;
          case Tab::timing: draw_timing_panel(s, ui, mono); break;
          case Tab::kernel: draw_kernel_panel(session, s, ui, mono); break;
          case Tab::camera:
            if (camera != nullptr && camera_snapshot != nullptr)
              draw_camera_panel(session, *camera, *camera_snapshot, ui, textures, mono);
            else
              ImGui::TextDisabled("no camera session in this window");
            break;
        }
        ImGui::EndTabItem();
      }
    }
    if (switching) ui.tab_changed = false;
    ImGui::EndTabBar();
  }
  ImGui::EndChild();
  draw_smaller_loads(session, s);
  ImGui::BeginChild("log", ImVec2(0, 0), true);
  draw_log_panel(s, mono);
  ImGui::EndChild();
  ImGui::End();
  draw_browser(session, s, ui);
}

}  // namespace fusescope::app
