// The fusion panel (what became what; a folded conv's BatchNorm and its per-channel scale with
// the at-risk channels flagged) and the timing panel (per-layer GPU time, totals, dispatches,
// activation memory).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "app/panels.hpp"
#include "app/style.hpp"
#include "app/texture_registry.hpp"

namespace fusescope::app {

namespace {

// The BatchNorm folded into the selected layer's node, if any.
const BatchNormInfo* batchnorm_of_selection(const Snapshot& s) {
  if (!s.model || s.selected.empty()) return nullptr;
  const NodeRow* row = nullptr;
  for (const NodeRow& n : s.model->reference)
    if (n.output == s.selected) row = &n;
  if (row == nullptr) return nullptr;
  for (const BatchNormInfo& b : s.model->batchnorms)
    if (b.name == row->name || b.conv == row->name) return &b;
  // A fused node's output keeps the BN's value name: find the BN among its provenance.
  if (row->candidate_node >= 0) {
    for (const std::string& p : s.model->candidate[static_cast<std::size_t>(row->candidate_node)].provenance)
      for (const BatchNormInfo& b : s.model->batchnorms)
        if (b.name == p) return &b;
  }
  return nullptr;
}

}  // namespace

void draw_fusion_panel(Session& session, const Snapshot& s, UiState& ui, TextureRegistry& textures, ImFont* mono) {
  if (!s.report) {
    ImGui::TextUnformatted("Load a model to see its fusions.");
    return;
  }
  const workbench::StudyReport& r = *s.report;
  ImGui::Text("%zu nodes -> %zu nodes (%s)", r.fusion.nodes_before, r.fusion.nodes_after,
              r.candidate.describe().c_str());
  const float half = ImGui::GetContentRegionAvail().y * 0.45f;
  ImGui::PushFont(mono);
  if (ImGui::BeginTable("changes", 4, ImGuiTableFlags_ScrollY | ImGuiTableFlags_RowBg | ImGuiTableFlags_Resizable |
                                          ImGuiTableFlags_SizingFixedFit,
                        ImVec2(0, half))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("pass");
    ImGui::TableSetupColumn("node");
    ImGui::TableSetupColumn("now also computes");
    ImGui::TableSetupColumn("detail", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableHeadersRow();
    for (std::size_t i = 0; i < r.fusion.changes.size(); ++i) {
      const auto& c = r.fusion.changes[i];
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(c.pass.c_str());
      ImGui::TableNextColumn();
      if (ImGui::Selectable(fmt::format("{}##f{}", c.node, i).c_str(), false, ImGuiSelectableFlags_SpanAllColumns)) {
        // Select what the fused node outputs: the last value it stands for.
        if (s.model) {
          for (const NodeRow& n : s.model->candidate)
            if (n.name == c.node) select_value(session, ui, n.output);
        }
      }
      ImGui::TableNextColumn();
      std::string replaced;
      for (const auto& n : c.replaced) replaced += (replaced.empty() ? "" : ", ") + n;
      ImGui::TextUnformatted(replaced.c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(c.detail.c_str());
    }
    ImGui::EndTable();
  }
  ImGui::PopFont();

  ImGui::Separator();
  if (s.repvgg) {
    // RepVGG: the branches as the pass sees them (BN folded, 1x1 at the centre, identity as 1 at
    // the centre of its own channel, alpha applied) and the one 3x3 kernel they become.
    const RepvggSnapshot& r = *s.repvgg;
    ImGui::Text("%s: %zu branches -> one 3x3 conv (first %lld of %lld outputs as rows x %lld of %lld inputs as columns)",
                r.node.c_str(), r.labels.size() - 1, static_cast<long long>(r.shown_out),
                static_cast<long long>(r.out_channels), static_cast<long long>(r.shown_in),
                static_cast<long long>(r.in_channels_per_group));
    const float side = std::min(ImGui::GetFontSize() * 11,
                                (ImGui::GetContentRegionAvail().x - ImGui::GetFontSize() * 8) / static_cast<float>(r.pictures.size()) - 8);
    for (std::size_t i = 0; i < r.pictures.size(); ++i) {
      if (i > 0) ImGui::SameLine();
      ImGui::BeginGroup();
      ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + side);
      ImGui::TextUnformatted(r.labels[i].c_str());
      ImGui::PopTextWrapPos();
      Texture* tex = textures.find(repvgg_picture_key(i));
      const float aspect = r.pictures[i].height > 0 ? static_cast<float>(r.pictures[i].height) / static_cast<float>(r.pictures[i].width) : 1.0f;
      if (tex) ImGui::Image(reinterpret_cast<ImTextureID>(tex), ImVec2(side, side * aspect));
      else ImGui::Dummy(ImVec2(side, side * aspect));
      ImGui::EndGroup();
    }
    ImGui::SameLine();
    draw_legend(ops::ColorMap::diverging, -r.scale, r.scale, side);
    ImGui::Separator();
  }
  const BatchNormInfo* bn = batchnorm_of_selection(s);
  if (bn == nullptr) {
    ImGui::TextDisabled("Select a conv or BatchNorm layer to see its BatchNorm's per-channel scale.");
    return;
  }
  ImGui::Text("%s%s%s: scale = gamma / sqrt(var + eps), eps %.3g, %zu channels", bn->name.c_str(),
              bn->conv.empty() ? "" : " after ", bn->conv.c_str(), bn->epsilon, bn->scale.size());
  std::set<std::size_t> at_risk;
  for (const fusion::AtRiskChannel& a : r.at_risk)
    if (a.batchnorm == bn->name) at_risk.insert(static_cast<std::size_t>(a.channel));
  draw_bars(bn->scale, ImGui::GetFontSize() * 5, false, at_risk, "##scale");
  // The at-risk channels of this BN, with why.
  int shown = 0;
  ImGui::PushFont(mono);
  for (const fusion::AtRiskChannel& a : r.at_risk) {
    if (a.batchnorm != bn->name) continue;
    ImGui::TextColored(style::kWarning, "channel %4lld  scale %10.3g  var %9.2e  max|W'| %9.3g  %s",
                       static_cast<long long>(a.channel), a.scale, a.running_var, a.max_folded_weight,
                       a.reasons.c_str());
    ++shown;
  }
  if (shown == 0) ImGui::TextDisabled("no channel of this BatchNorm is at risk in fp16");
  ImGui::PopFont();
}

void draw_timing_panel(const Snapshot& s, UiState& ui, ImFont* mono) {
  (void)ui;
  if (!s.timing || !s.model) {
    ImGui::TextUnformatted("Run the model to see per-layer GPU times.");
    return;
  }
  const TimingSnapshot& t = *s.timing;
  ImGui::PushFont(mono);
  ImGui::Text("%-10s %10s %10s %14s", "", "GPU ms", "dispatches", "activations");
  ImGui::Text("%-10s %10.2f %10zu %11.1f MiB", "reference", t.reference_total_ms, t.reference_dispatches,
              static_cast<double>(s.model->activation_bytes_reference) / (1 << 20));
  ImGui::Text("%-10s %10.2f %10zu %11.1f MiB", "candidate", t.candidate_total_ms, t.candidate_dispatches,
              static_cast<double>(s.model->activation_bytes_candidate) / (1 << 20));
  if (t.candidate_total_ms > 0) ImGui::Text("speed-up %.2fx", t.reference_total_ms / t.candidate_total_ms);
  ImGui::PopFont();
  ImGui::TextDisabled("(activation memory with every tensor kept for inspection; timestamps of the last run)");
  ImGui::Separator();
  // Per-layer bars: the candidate's nodes (what actually runs), slowest first is in the CLI's
  // bench; here in network order, so a block's cost reads where the block is.
  const auto& rows = s.model->candidate;
  const double max_ms = t.candidate_ms.empty() ? 1.0 : *std::max_element(t.candidate_ms.begin(), t.candidate_ms.end());
  ImGui::PushFont(mono);
  if (ImGui::BeginTable("timing", 3, ImGuiTableFlags_ScrollY | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit)) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("candidate node");
    ImGui::TableSetupColumn("ms");
    ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableHeadersRow();
    for (std::size_t i = 0; i < rows.size() && i < t.candidate_ms.size(); ++i) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(rows[i].name.c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%8.3f", t.candidate_ms[i]);
      ImGui::TableNextColumn();
      const float frac = max_ms > 0 ? static_cast<float>(t.candidate_ms[i] / max_ms) : 0.0f;
      const ImVec2 p = ImGui::GetCursorScreenPos();
      const float w = ImGui::GetContentRegionAvail().x * frac;
      ImGui::GetWindowDrawList()->AddRectFilled(p, ImVec2(p.x + w, p.y + ImGui::GetTextLineHeight()),
                                                style::to_u32(style::kAccent));
      ImGui::Dummy(ImVec2(1, ImGui::GetTextLineHeight()));
    }
    ImGui::EndTable();
  }
  ImGui::PopFont();
}

}  // namespace fusescope::app
