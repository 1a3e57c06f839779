// The camera panel: live frames through a detector, unfused and fused side by side on the same
// frame — both sets of boxes drawn, matched pairs listed with IoU and score difference, and any
// detection one side has and the other lacks highlighted. Freezing hands the frame to the stepper.
#include <fmt/format.h>
#include <imgui.h>

#include <algorithm>
#include <cstdio>

#include "app/panels.hpp"
#include "app/style.hpp"
#include "app/texture_registry.hpp"
#include "vision/detector_model.hpp"

namespace fusescope::app {

namespace {

constexpr const char* kFrameKey = "camera:frame";
// The unfused network's boxes and the fused one's: two colours that stay apart on any picture;
// the window's warning colour marks a detection only one of them has.
const ImVec4 kUnfused{0.30f, 0.85f, 0.40f, 1.0f};
const ImVec4 kFused{0.85f, 0.35f, 0.95f, 1.0f};

const char* const kSourcePresets[] = {
    "synthetic",
    "camera:0",
    "/usr/share/doc/opencv-doc/examples/data/Megamind.avi",
    "/usr/share/doc/opencv-doc/examples/data/vtest.avi",
    "/usr/share/doc/opencv-doc/examples/data/messi5.jpg",
    "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
};

void open_camera(CameraSession& camera, UiState& ui) {
  CameraOpenRequest r;
  r.source = ui.camera_source;
  r.model = ui.camera_model;
  camera.open(r);
  ui.camera_thresholds_known = false;
}

// Draws the frame's texture fitted into `size` and the boxes over it; returns nothing the caller
// needs: hovering a box shows its numbers.
void draw_frame(const CameraSnapshot& c, TextureRegistry& textures, ImVec2 avail, const UiState& ui) {
  Texture* tex = textures.find(kFrameKey);
  if (tex == nullptr || c.frame.width <= 0) {
    ImGui::TextDisabled(c.opening ? "opening the source and the detector..."
                        : c.open  ? "waiting for the first frame..."
                                  : "no source open: pick one above and press Open");
    return;
  }
  const float fw = static_cast<float>(c.frame.width), fh = static_cast<float>(c.frame.height);
  const float scale = std::max(0.01f, std::min(avail.x / fw, avail.y / fh));
  const ImVec2 size(fw * scale, fh * scale);
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImGui::Image(static_cast<ImTextureID>(tex), size);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(p0, ImVec2(p0.x + size.x, p0.y + size.y), true);
  auto to_screen = [&](double x, double y) {
    return ImVec2(p0.x + static_cast<float>(x) * scale, p0.y + static_cast<float>(y) * scale);
  };
  std::vector<bool> lonely_a(c.unfused.size()), lonely_b(c.fused.size());
  for (std::size_t i : c.match.only_a) lonely_a[i] = true;
  for (std::size_t j : c.match.only_b) lonely_b[j] = true;
  auto draw = [&](const vision::Detection& d, ImVec4 colour, bool lonely, float inset, bool label_below) {
    const ImVec2 a = to_screen(d.x, d.y), b = to_screen(d.x + d.w, d.y + d.h);
    const ImU32 col = style::to_u32(colour);
    if (lonely) dl->AddRect(ImVec2(a.x - 3, a.y - 3), ImVec2(b.x + 3, b.y + 3), style::to_u32(style::kWarning), 0, 0, 3.0f);
    dl->AddRect(ImVec2(a.x + inset, a.y + inset), ImVec2(b.x - inset, b.y - inset), col, 0, 0, 2.0f);
    for (const auto& k : d.keypoints) dl->AddCircleFilled(to_screen(k.x, k.y), 2.5f, col);
    const std::string text = fmt::format("{} {:.2f}{}", d.class_name, d.score, lonely ? " (one side only)" : "");
    const ImVec2 ts = ImGui::CalcTextSize(text.c_str());
    const ImVec2 at = label_below ? ImVec2(a.x, b.y + 1) : ImVec2(a.x, a.y - ts.y - 1);
    dl->AddRectFilled(at, ImVec2(at.x + ts.x + 4, at.y + ts.y), IM_COL32(0, 0, 0, 170));
    dl->AddText(ImVec2(at.x + 2, at.y), col, text.c_str());
  };
  if (ui.camera_show_unfused)
    for (std::size_t i = 0; i < c.unfused.size(); ++i) draw(c.unfused[i], kUnfused, lonely_a[i], 0.0f, false);
  if (ui.camera_show_fused)
    for (std::size_t j = 0; j < c.fused.size(); ++j) draw(c.fused[j], kFused, lonely_b[j], 2.0f, true);
  dl->PopClipRect();
}

void draw_match_table(const CameraSnapshot& c, ImFont* mono) {
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_ScrollY |
                                ImGuiTableFlags_SizingStretchProp;
  if (!ImGui::BeginTable("camera-matches", 7, flags)) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  for (const char* h : {"class", "x, y (unfused)", "w x h", "score unfused", "score fused", "score fused - unfused", "IoU"})
    ImGui::TableSetupColumn(h);
  ImGui::TableHeadersRow();
  ImGui::PushFont(mono);
  auto row = [&](const vision::Detection& d, const vision::Detection* a, const vision::Detection* b,
                 const vision::DetectionPair* p) {
    ImGui::TableNextRow();
    const bool lonely = p == nullptr;
    if (lonely) ImGui::PushStyleColor(ImGuiCol_Text, style::kWarning);
    ImGui::TableNextColumn();
    ImGui::Text("%s", d.class_name.c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%.1f, %.1f", d.x, d.y);
    ImGui::TableNextColumn();
    ImGui::Text("%.1f x %.1f", d.w, d.h);
    ImGui::TableNextColumn();
    if (a) ImGui::Text("%.4f", a->score); else ImGui::TextUnformatted("missing");
    ImGui::TableNextColumn();
    if (b) ImGui::Text("%.4f", b->score); else ImGui::TextUnformatted("missing");
    ImGui::TableNextColumn();
    if (p) ImGui::Text("%+.2e", p->score_difference); else ImGui::TextUnformatted("-");
    ImGui::TableNextColumn();
    if (p) ImGui::Text("%.6f", p->iou); else ImGui::TextUnformatted("-");
    if (lonely) ImGui::PopStyleColor();
  };
  for (const auto& p : c.match.pairs) row(c.unfused[p.a], &c.unfused[p.a], &c.fused[p.b], &p);
  for (std::size_t i : c.match.only_a) row(c.unfused[i], &c.unfused[i], nullptr, nullptr);
  for (std::size_t j : c.match.only_b) row(c.fused[j], nullptr, &c.fused[j], nullptr);
  ImGui::PopFont();
  ImGui::EndTable();
}

}  // namespace

void upload_camera_frame(const CameraSnapshot& c, UiState& ui, TextureRegistry& textures) {
  const Picture& p = c.frame;
  if (p.id == 0 || !p.rgba || ui.uploaded[kFrameKey] == p.id) return;
  Texture& tex = textures.get(kFrameKey, p.width, p.height, TextureFilter::linear);
  textures.upload_from_buffer(tex, p.rgba);
  ui.uploaded[kFrameKey] = p.id;
}

void draw_camera_panel(Session& session, CameraSession& camera, const CameraSnapshot& c, UiState& ui,
                       TextureRegistry& textures, ImFont* mono) {
  // The frozen frame goes to the stepper once: the detector, fed exactly that frame's input.
  if (c.frozen_version > ui.camera_frozen_seen && !c.frozen_input.empty()) {
    ui.camera_frozen_seen = c.frozen_version;
    // The toolbar's request (candidate, layout, precision, --algorithm / --autotune) with the
    // detector and the frame in place of the stepper's model and input.
    LoadRequest r = load_request_from_form(session.snapshot(), ui);
    r.source = {};
    r.source.model = c.model_path;
    r.source.input = c.frozen_input;
    session.post(r);
    ui.tab = Tab::tensor;
    ui.tab_changed = true;
  }
  if (!ui.camera_thresholds_known && c.open) {
    ui.camera_score = static_cast<float>(c.score_threshold);
    ui.camera_iou = static_cast<float>(c.iou_threshold);
    ui.camera_thresholds_known = true;
  }

  // Source and detector, then the controls: two rows that fit the panel at 1280 px.
  ImGui::TextUnformatted("source");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(std::max(ImGui::GetContentRegionAvail().x * 0.5f, ImGui::GetFontSize() * 8));
  ImGui::InputText("##source", ui.camera_source, sizeof ui.camera_source);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 1.6f);
  if (ImGui::BeginCombo("##source-presets", "", ImGuiComboFlags_NoPreview)) {
    for (const char* preset : kSourcePresets)
      if (ImGui::Selectable(preset)) std::snprintf(ui.camera_source, sizeof ui.camera_source, "%s", preset);
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  ImGui::TextUnformatted("detector");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(std::max(ImGui::GetContentRegionAvail().x - ImGui::GetFontSize() * 2.5f, ImGui::GetFontSize() * 6));
  ImGui::InputText("##detector", ui.camera_model, sizeof ui.camera_model);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 1.6f);
  if (ImGui::BeginCombo("##detector-presets", "", ImGuiComboFlags_NoPreview)) {
    for (const std::string& name : vision::named_detectors())
      if (ImGui::Selectable(name.c_str())) std::snprintf(ui.camera_model, sizeof ui.camera_model, "%s", name.c_str());
    ImGui::EndCombo();
  }
  if (ImGui::Button("Open")) open_camera(camera, ui);
  ImGui::SameLine();
  ImGui::BeginDisabled(!c.open);
  if (c.paused || c.frozen || c.ended) {
    if (ImGui::Button(c.ended ? "Restart" : "Resume")) camera.resume();
  } else if (ImGui::Button("Pause")) {
    camera.set_paused(true);
  }
  ImGui::SameLine();
  ImGui::BeginDisabled(c.frame_index < 0);
  if (ImGui::Button("Freeze -> stepper")) camera.freeze();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("Keep this frame and load the detector in the stepper with the frame as its input");
  ImGui::EndDisabled();
  ImGui::EndDisabled();

  // Thresholds, and what is drawn.
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 7);
  bool changed = ImGui::SliderFloat("score >=", &ui.camera_score, 0.0f, 1.0f, "%.2f");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 7);
  changed |= ImGui::SliderFloat("NMS IoU", &ui.camera_iou, 0.05f, 0.95f, "%.2f");
  if (changed) camera.set_thresholds(ui.camera_score, ui.camera_iou);
  ImGui::SameLine();
  ImGui::PushStyleColor(ImGuiCol_CheckMark, kUnfused);
  ImGui::Checkbox("unfused", &ui.camera_show_unfused);
  ImGui::PopStyleColor();
  ImGui::SameLine();
  ImGui::PushStyleColor(ImGuiCol_CheckMark, kFused);
  ImGui::Checkbox("fused", &ui.camera_show_fused);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("The same detector after fusion::fuse_all (BN folded, activations and residuals fused)");
  ImGui::PopStyleColor();

  if (!c.error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, style::kWarning);
    ImGui::TextWrapped("error: %s", c.error.c_str());
    ImGui::PopStyleColor();
  }
  if (c.open) {
    ImGui::PushFont(mono);
    ImGui::TextWrapped("%s on %s", c.model_kind.c_str(), c.source_description.c_str());
    const std::string fps = c.fps > 0 ? fmt::format("{:.1f} FPS", c.fps) : std::string("FPS -");
    ImGui::TextWrapped("frame %lld%s | %s | dropped %lld | median ms: capture %.1f, upload+preprocess %.1f, "
                       "inference unfused %.1f / fused %.1f, decode+NMS %.2f, total %.1f",
                       static_cast<long long>(c.frame_index),
                       c.frozen ? " (frozen)" : c.paused ? " (paused)" : c.ended ? " (ended)" : "", fps.c_str(),
                       static_cast<long long>(c.dropped), c.latency.capture, c.latency.preprocess,
                       c.latency.inference_unfused, c.latency.inference_fused, c.latency.decode, c.latency.total);
    const std::size_t lonely = c.match.only_a.size() + c.match.only_b.size();
    if (lonely > 0) ImGui::PushStyleColor(ImGuiCol_Text, style::kWarning);
    ImGui::Text("%zu unfused, %zu fused: %zu matched (IoU >= 0.5), %zu on one side only", c.unfused.size(),
                c.fused.size(), c.match.pairs.size(), lonely);
    if (lonely > 0) ImGui::PopStyleColor();
    ImGui::PopFont();
  }

  const float table_height = ImGui::GetTextLineHeightWithSpacing() * 6.5f;
  ImVec2 avail = ImGui::GetContentRegionAvail();
  avail.y = std::max(avail.y - table_height - ImGui::GetStyle().ItemSpacing.y, 32.0f);
  draw_frame(c, textures, avail, ui);
  draw_match_table(c, mono);
}

}  // namespace fusescope::app
