// The tensor and compare panels: the selected tensor as a grid of channel maps (pictures made
// on the device by the colormap kernel), hover values, per-channel statistics, a histogram; and
// reference | candidate | |difference| on one scale with synchronised zoom and pan, the metrics
// against each other and against the float64 oracle, and the error-versus-depth plot.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "app/panels.hpp"
#include "app/style.hpp"
#include "app/texture_registry.hpp"

namespace fusescope::app {

namespace {

constexpr const char* kPictureKeys[3] = {"tensor.reference", "tensor.candidate", "tensor.difference"};

ImU32 stop_colour(const ops::ColorStop& c) { return IM_COL32(c.r, c.g, c.b, 255); }

std::string num(double v) {
  if (!std::isfinite(v)) return v > 0 ? "inf" : v < 0 ? "-inf" : "nan";
  return fmt::format("{:.3e}", v);
}

struct Hover {
  bool inside = false;
  std::int64_t c = 0, y = 0, x = 0;
};

// Draws `pic` into a box of `box` pixels with the shared zoom/pan; returns what the mouse is over.
Hover draw_picture(const Picture& pic, const TensorSnapshot& t, Texture* tex, ImVec2 box, UiState& ui,
                   const char* id) {
  Hover h;
  if (tex == nullptr || pic.width == 0 || box.x < 8 || box.y < 8) {
    ImGui::Dummy(box);
    return h;
  }
  // Fit the picture's aspect into the box; zoom shows 1/zoom of it around the centre.
  const float aspect = static_cast<float>(pic.width) / static_cast<float>(pic.height);
  ImVec2 size = box;
  if (size.x / size.y > aspect) size.x = size.y * aspect; else size.y = size.x / aspect;
  const float half = 0.5f / ui.zoom;
  ui.centre.x = std::clamp(ui.centre.x, half, 1.0f - half);
  ui.centre.y = std::clamp(ui.centre.y, half, 1.0f - half);
  const ImVec2 uv0(ui.centre.x - half, ui.centre.y - half), uv1(ui.centre.x + half, ui.centre.y + half);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton(id, size);
  ImGui::GetWindowDrawList()->AddImage(reinterpret_cast<ImTextureID>(tex), origin,
                                       ImVec2(origin.x + size.x, origin.y + size.y), uv0, uv1);
  if (ImGui::IsItemHovered()) {
    const ImGuiIO& io = ImGui::GetIO();
    if (io.MouseWheel != 0) ui.zoom = std::clamp(ui.zoom * std::pow(1.25f, io.MouseWheel), 1.0f, 64.0f);
    const float u = uv0.x + (io.MousePos.x - origin.x) / size.x * (uv1.x - uv0.x);
    const float v = uv0.y + (io.MousePos.y - origin.y) / size.y * (uv1.y - uv0.y);
    const auto px = static_cast<std::int64_t>(u * static_cast<float>(pic.width));
    const auto py = static_cast<std::int64_t>(v * static_cast<float>(pic.height));
    const std::int64_t cell_w = t.tile_width + t.gap, cell_h = t.tile_height + t.gap;
    const std::int64_t col = px / cell_w, row = py / cell_h;
    const std::int64_t x = px % cell_w, y = py % cell_h;
    const std::int64_t k = row * t.grid_columns + col;
    if (x < t.tile_width && y < t.tile_height && col < t.grid_columns && k < t.channel_count && px >= 0 && py >= 0) {
      h.inside = true;
      h.c = t.channel_begin + k, h.y = y, h.x = x;
    }
  }
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left)) {
    const ImVec2 d = ImGui::GetIO().MouseDelta;
    ui.centre.x -= d.x / size.x / ui.zoom;
    ui.centre.y -= d.y / size.y / ui.zoom;
  }
  return h;
}

float value_at(const std::vector<float>& v, const TensorSnapshot& t, const Hover& h) {
  const std::size_t i = static_cast<std::size_t>((h.c * t.tile_height + h.y) * t.tile_width + h.x);
  return i < v.size() ? v[i] : NAN;
}

void hover_tooltip(const TensorSnapshot& t, const Hover& h, ImFont* mono) {
  if (!h.inside) return;
  ImGui::BeginTooltip();
  ImGui::PushFont(mono);
  if (t.shape.size() == 4) {
    ImGui::Text("%s  (n 0, c %lld, y %lld, x %lld)", t.layer.c_str(), static_cast<long long>(h.c),
                static_cast<long long>(h.y), static_cast<long long>(h.x));
  } else {
    ImGui::Text("%s  (n 0, index %lld)", t.layer.c_str(), static_cast<long long>(h.y * t.tile_width + h.x));
  }
  const float u = value_at(t.reference_values, t, h);
  ImGui::Text("reference  % .9g", static_cast<double>(u));
  if (t.candidate_ready) {
    const float f = value_at(t.candidate_values, t, h);
    ImGui::Text("candidate  % .9g", static_cast<double>(f));
    ImGui::Text("|diff|     % .3e", std::fabs(static_cast<double>(f) - static_cast<double>(u)));
  }
  ImGui::PopFont();
  ImGui::EndTooltip();
}

void channel_navigation(Session& session, const TensorSnapshot& t, std::int64_t channels) {
  if (channels <= 1) {
    ImGui::TextDisabled(t.shape.size() == 4 ? "one channel" : "its values as a %lld x %lld map, row by row",
                        static_cast<long long>(t.tile_height), static_cast<long long>(t.tile_width));
    return;
  }
  if (t.channel >= 0) {
    ImGui::Text("channel %lld enlarged", static_cast<long long>(t.channel));
    ImGui::SameLine();
    if (ImGui::SmallButton("back to the grid")) session.post(SelectRequest{t.layer, -1, t.channel_begin});
  } else {
    ImGui::Text("channels %lld..%lld of %lld (click one to enlarge)", static_cast<long long>(t.channel_begin),
                static_cast<long long>(t.channel_begin + t.channel_count - 1), static_cast<long long>(channels));
    if (channels > t.channel_count) {
      ImGui::SameLine();
      if (ImGui::SmallButton("<") && t.channel_begin > 0) {
        session.post(SelectRequest{t.layer, -1, std::max<std::int64_t>(0, t.channel_begin - Session::kMaxGridChannels)});
      }
      ImGui::SameLine();
      if (ImGui::SmallButton(">") && t.channel_begin + t.channel_count < channels) {
        session.post(SelectRequest{t.layer, -1, t.channel_begin + Session::kMaxGridChannels});
      }
    }
  }
}

}  // namespace

void draw_depth_plot(Session& session, const Snapshot& s, UiState& ui, float height) {
  const auto& rows = s.report->layers;
  if (rows.empty()) return;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  const float w = ImGui::GetContentRegionAvail().x - ImGui::GetFontSize() * 3.0f;
  const ImVec2 p1(p0.x + ImGui::GetFontSize() * 3.0f + w, p0.y + height);
  const float left = p0.x + ImGui::GetFontSize() * 3.0f;
  dl->AddRectFilled(ImVec2(left, p0.y), p1, IM_COL32(24, 24, 28, 255));
  const double lo = -12, hi = 0;  // log10 rel-L2: from fp32 rounding noise to 100 %
  auto y_of = [&](double rel) {
    const double l = rel > 0 ? std::clamp(std::log10(rel), lo, hi) : lo;
    return p0.y + static_cast<float>((hi - l) / (hi - lo)) * height;
  };
  auto x_of = [&](std::size_t i) {
    return left + (static_cast<float>(i) + 0.5f) / static_cast<float>(rows.size()) * w;
  };
  for (int d = static_cast<int>(lo); d <= static_cast<int>(hi); d += 3) {
    const float y = y_of(std::pow(10.0, d));
    dl->AddLine(ImVec2(left, y), ImVec2(p1.x, y), IM_COL32(60, 60, 66, 255));
    dl->AddText(ImVec2(p0.x, y - ImGui::GetFontSize() * 0.5f), IM_COL32(160, 160, 160, 255), fmt::format("1e{}", d).c_str());
  }
  const float thr_y = y_of(std::pow(10.0, ui.threshold_log10));
  dl->AddLine(ImVec2(left, thr_y), ImVec2(p1.x, thr_y), style::to_u32(style::kWarning), 1.0f);
  struct Series {
    ImU32 colour;
    const char* name;
    double (*get)(const workbench::LayerRow&);
    bool needs_candidate, needs_oracle;
  };
  const Series series[] = {
      {IM_COL32(240, 240, 240, 255), "end to end", [](const workbench::LayerRow& r) { return r.fused_vs_unfused.rel_l2; }, true, false},
      {IM_COL32(120, 200, 120, 255), "local", [](const workbench::LayerRow& r) { return r.local.rel_l2; }, true, false},
      {IM_COL32(110, 150, 230, 255), "reference vs oracle", [](const workbench::LayerRow& r) { return r.unfused_vs_oracle.rel_l2; }, false, true},
      {IM_COL32(230, 120, 200, 255), "candidate vs oracle", [](const workbench::LayerRow& r) { return r.fused_vs_oracle.rel_l2; }, true, true},
  };
  std::size_t selected_row = rows.size();
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i].layer == s.selected) selected_row = i;
  if (selected_row < rows.size()) {
    const float x = x_of(selected_row);
    dl->AddLine(ImVec2(x, p0.y), ImVec2(x, p1.y), style::to_u32(style::kAccent), 2.0f);
  }
  float legend_x = left + 4;
  for (const Series& se : series) {
    if (se.needs_oracle && !s.report->has_oracle) continue;
    ImVec2 prev{-1, -1};
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (se.needs_candidate && !rows[i].fused_present) continue;
      const ImVec2 pt(x_of(i), y_of(se.get(rows[i])));
      if (prev.x >= 0) dl->AddLine(prev, pt, se.colour, 1.5f);
      prev = pt;
    }
    dl->AddText(ImVec2(legend_x, p0.y + 2), se.colour, se.name);
    legend_x += ImGui::CalcTextSize(se.name).x + ImGui::GetFontSize();
  }
  ImGui::SetCursorScreenPos(ImVec2(left, p0.y));
  ImGui::InvisibleButton("depth", ImVec2(w, height));
  if (ImGui::IsItemHovered()) {
    const float mx = ImGui::GetIO().MousePos.x;
    const auto i = static_cast<std::size_t>(std::clamp((mx - left) / w * static_cast<float>(rows.size()), 0.0f,
                                                       static_cast<float>(rows.size() - 1)));
    const auto& r = rows[i];
    ImGui::SetTooltip("%s (%s)\nend to end %s\nlocal      %s\nref/oracle %s\ncand/oracle %s", r.layer.c_str(),
                      r.op.c_str(), r.fused_present ? num(r.fused_vs_unfused.rel_l2).c_str() : "-",
                      r.fused_present ? num(r.local.rel_l2).c_str() : "-", num(r.unfused_vs_oracle.rel_l2).c_str(),
                      r.fused_present ? num(r.fused_vs_oracle.rel_l2).c_str() : "-");
    if (ImGui::IsItemClicked()) {
      select_value(session, ui, r.layer);
    }
  }
}

std::string repvgg_picture_key(std::size_t i) { return "repvgg." + std::to_string(i); }

void upload_pictures(const Snapshot& s, UiState& ui, TextureRegistry& textures) {
  auto upload = [&](const std::string& key, const Picture& p) {
    if (p.id == 0 || !p.rgba || ui.uploaded[key] == p.id) return;
    Texture& tex = textures.get(key, p.width, p.height);
    textures.upload_from_buffer(tex, p.rgba);
    ui.uploaded[key] = p.id;
  };
  if (s.tensor) {
    upload(kPictureKeys[0], s.tensor->reference);
    upload(kPictureKeys[1], s.tensor->candidate);
    upload(kPictureKeys[2], s.tensor->difference);
  }
  if (s.repvgg)
    for (std::size_t i = 0; i < s.repvgg->pictures.size(); ++i) upload(repvgg_picture_key(i), s.repvgg->pictures[i]);
}

void draw_bars(const std::vector<double>& values, float height, bool log_scale, const std::set<std::size_t>& flagged,
               const char* label) {
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float w = std::max(ImGui::GetContentRegionAvail().x, 32.0f);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(p, ImVec2(p.x + w, p.y + height), IM_COL32(24, 24, 28, 255));
  auto h_of = [&](double v) { return log_scale ? std::log10(1.0 + std::max(0.0, v)) : std::max(0.0, v); };
  double top = 0;
  for (double v : values)
    if (std::isfinite(v)) top = std::max(top, h_of(v));
  const float bw = values.empty() ? w : w / static_cast<float>(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    const float frac = top > 0 && std::isfinite(v) ? static_cast<float>(h_of(v) / top) : (std::isfinite(v) ? 0.0f : 1.0f);
    const ImU32 colour = flagged.count(i) || !std::isfinite(v) ? style::to_u32(style::kWarning) : style::to_u32(style::kAccent);
    const float x0 = p.x + bw * static_cast<float>(i);
    dl->AddRectFilled(ImVec2(x0, p.y + height * (1.0f - frac)), ImVec2(x0 + std::max(1.0f, bw - (bw > 3 ? 1.0f : 0.0f)), p.y + height),
                      colour);
  }
  ImGui::InvisibleButton(label, ImVec2(w, height));
  if (ImGui::IsItemHovered() && !values.empty()) {
    const auto i = static_cast<std::size_t>(
        std::clamp((ImGui::GetIO().MousePos.x - p.x) / bw, 0.0f, static_cast<float>(values.size() - 1)));
    ImGui::SetTooltip("%s[%zu] = %.4g%s", label + (label[0] == '#' && label[1] == '#' ? 2 : 0), i, values[i],
                      flagged.count(i) ? " (flagged)" : "");
  }
}

void draw_legend(ops::ColorMap map, double lo, double hi, float height) {
  const auto stops = ops::color_stops(map);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float w = ImGui::GetFontSize() * 0.9f;
  const float seg = height / static_cast<float>(stops.size() - 1);
  for (std::size_t i = 0; i + 1 < stops.size(); ++i) {
    // Top is hi: stop n-1 at the top.
    const ImU32 top = stop_colour(stops[stops.size() - 1 - i]), bottom = stop_colour(stops[stops.size() - 2 - i]);
    const float y0 = p.y + seg * static_cast<float>(i);
    dl->AddRectFilledMultiColor(ImVec2(p.x, y0), ImVec2(p.x + w, y0 + seg), top, top, bottom, bottom);
  }
  const ImU32 text = IM_COL32(220, 220, 220, 255);
  const float fh = ImGui::GetFontSize();
  dl->AddText(ImVec2(p.x + w + 4, p.y), text, num(hi).c_str());
  dl->AddText(ImVec2(p.x + w + 4, p.y + height - fh), text, num(lo).c_str());
  if (map == ops::ColorMap::diverging) dl->AddText(ImVec2(p.x + w + 4, p.y + height * 0.5f - fh * 0.5f), text, "0");
  ImGui::Dummy(ImVec2(w + ImGui::CalcTextSize("-0.000e+00").x + 8, height));
}

void draw_tensor_panel(Session& session, const Snapshot& s, UiState& ui, TextureRegistry& textures, ImFont* mono) {
  if (!s.tensor) {
    ImGui::TextUnformatted("Select a node in the model tree to see its output.");
    return;
  }
  const TensorSnapshot& t = *s.tensor;
  ImGui::Text("%s   %s", t.layer.c_str(), ops::to_string(t.shape).c_str());
  if (!t.note.empty()) ImGui::TextColored(style::kWarning, "%s", t.note.c_str());
  if (!t.reference_ready) return;
  const std::int64_t channels = static_cast<std::int64_t>(t.stats.size());
  channel_navigation(session, t, channels);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  ImGui::SliderFloat("zoom", &ui.zoom, 1.0f, 64.0f, "%.1fx", ImGuiSliderFlags_Logarithmic);

  const float stats_width = ImGui::GetFontSize() * 25;
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float legend_width = ImGui::GetFontSize() * 6;
  const ImVec2 box(avail.x - stats_width - legend_width - 16, avail.y - 4);
  ImGui::BeginGroup();
  const Hover h = draw_picture(t.reference, t, textures.find(kPictureKeys[0]), box, ui, "##reference");
  if (h.inside && ImGui::IsItemClicked() && t.channel < 0) session.post(SelectRequest{t.layer, h.c, t.channel_begin});
  hover_tooltip(t, h, mono);
  ImGui::EndGroup();
  ImGui::SameLine();
  draw_legend(t.map, t.lo, t.hi, std::min(box.y, ImGui::GetFontSize() * 16));
  ImGui::SameLine();
  ImGui::BeginChild("stats", ImVec2(0, 0));
  ImGui::TextUnformatted("histogram (reference)");
  const std::vector<double> hist(t.histogram.begin(), t.histogram.end());
  draw_bars(hist, ImGui::GetFontSize() * 4, true, {}, "##count");
  ImGui::Text("%s .. %s", num(t.lo).c_str(), num(t.hi).c_str());
  ImGui::PushFont(mono);
  if (ImGui::BeginTable("chstats", 5, ImGuiTableFlags_ScrollY | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit)) {
    ImGui::TableSetupScrollFreeze(0, 1);
    for (const char* c : {"c", "min", "max", "mean", "std"}) ImGui::TableSetupColumn(c);
    ImGui::TableHeadersRow();
    for (std::size_t c = 0; c < t.stats.size(); ++c) {
      const ChannelStats& st = t.stats[c];
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      const bool hovered = h.inside && h.c == static_cast<std::int64_t>(c);
      if (hovered || static_cast<std::int64_t>(c) == t.channel) ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg0, style::to_u32(style::kAccent));
      ImGui::Text("%4zu", c);
      for (double v : {st.min, st.max, st.mean, st.std}) {
        ImGui::TableNextColumn();
        ImGui::Text("% .1e", v);
      }
    }
    ImGui::EndTable();
  }
  ImGui::PopFont();
  ImGui::EndChild();
}

void draw_compare_panel(Session& session, const Snapshot& s, UiState& ui, TextureRegistry& textures, ImFont* mono) {
  if (!s.model || !s.report) {
    ImGui::TextUnformatted("Load a model: the compare view runs it unfused and as the candidate.");
    return;
  }
  const workbench::StudyReport& r = *s.report;
  ImGui::Text("reference: unfused, %s   |   candidate: %s", ops::to_string(r.reference_precision),
              s.model->candidate_name.c_str());
  ImGui::SameLine();
  ImGui::TextDisabled("(%s)", r.candidate.describe().c_str());
  if (!s.tensor) return;
  const TensorSnapshot& t = *s.tensor;
  ImGui::Text("%s   %s", t.layer.c_str(), ops::to_string(t.shape).c_str());
  if (!t.note.empty()) {
    ImGui::SameLine();
    ImGui::TextColored(style::kWarning, "%s", t.note.c_str());
  }
  if (t.reference_ready) {
    channel_navigation(session, t, static_cast<std::int64_t>(t.stats.size()));
    ImGui::SameLine();
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
    ImGui::SliderFloat("zoom##c", &ui.zoom, 1.0f, 64.0f, "%.1fx", ImGuiSliderFlags_Logarithmic);

    // Three pictures, one scale (the difference on its own, from 0), one zoom and pan.
    const float legend_width = ImGui::GetFontSize() * 7.5f;
    const float each = (ImGui::GetContentRegionAvail().x - 2 * legend_width - 24) / 3.0f;
    const float pic_h = std::min(each, ImGui::GetContentRegionAvail().y * 0.42f);
    const char* titles[3] = {"reference (unfused)", "candidate", "|difference|"};
    const Picture* pics[3] = {&t.reference, &t.candidate, &t.difference};
    Hover hover;
    for (int i = 0; i < 3; ++i) {
      if (i > 0) ImGui::SameLine();
      ImGui::BeginGroup();
      ImGui::TextUnformatted(titles[i]);
      const Hover h = draw_picture(*pics[i], t, textures.find(kPictureKeys[i]), ImVec2(each, pic_h), ui,
                                   fmt::format("##cmp{}", i).c_str());
      if (h.inside) hover = h;
      ImGui::EndGroup();
      if (i == 1 || i == 2) {
        ImGui::SameLine();
        ImGui::BeginGroup();
        ImGui::Dummy(ImVec2(1, ImGui::GetTextLineHeightWithSpacing()));
        if (i == 1) draw_legend(t.map, t.lo, t.hi, pic_h * 0.8f);
        else draw_legend(ops::ColorMap::sequential, 0, t.diff_max > 0 ? t.diff_max : 1.0, pic_h * 0.8f);
        ImGui::EndGroup();
      }
    }
    hover_tooltip(t, hover, mono);

    // The metrics, each against the other network and against the float64 oracle.
    ImGui::PushFont(mono);
    if (t.detail && ImGui::BeginTable("metrics", 4, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_NoHostExtendX)) {
      ImGui::TableSetupColumn("metric");
      ImGui::TableSetupColumn("cand vs ref");
      ImGui::TableSetupColumn("ref vs oracle");
      ImGui::TableSetupColumn("cand vs oracle");
      ImGui::TableHeadersRow();
      const std::optional<numerics::TensorComparison>* cols[3] = {&t.detail->fused_vs_unfused, &t.detail->unfused_vs_oracle,
                                                                  &t.detail->fused_vs_oracle};
      const char* names[5] = {"rel-L2", "max-abs", "max ULP", "SNR dB", "cosine"};
      for (int m = 0; m < 5; ++m) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(names[m]);
        for (const auto* c : cols) {
          ImGui::TableNextColumn();
          if (!c->has_value()) {
            ImGui::TextDisabled("%12s", "-");
            continue;
          }
          const numerics::TensorComparison& v = **c;
          std::string text;
          switch (m) {
            case 0: text = num(v.rel_l2); break;
            case 1: text = num(v.max_abs); break;
            case 2: text = v.max_ulp == numerics::kMaxUlpInfinite ? "inf" : fmt::format("{}", v.max_ulp); break;
            case 3: text = std::isfinite(v.snr_db) ? fmt::format("{:.1f}", v.snr_db) : (v.snr_db > 0 ? "exact" : "-inf"); break;
            case 4: text = fmt::format("{:.9f}", v.cosine); break;
          }
          const bool over = m == 0 && v.rel_l2 > std::pow(10.0, ui.threshold_log10);
          if (over) ImGui::TextColored(style::kWarning, "%12s", text.c_str());
          else ImGui::Text("%12s", text.c_str());
        }
      }
      ImGui::EndTable();
    }
    ImGui::PopFont();
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::TextUnformatted("per-channel rel-L2, candidate vs reference");
    if (t.channel_rel_l2.size() > 1) {
      std::set<std::size_t> over;
      for (std::size_t c = 0; c < t.channel_rel_l2.size(); ++c)
        if (t.channel_rel_l2[c] > std::pow(10.0, ui.threshold_log10)) over.insert(c);
      draw_bars(t.channel_rel_l2, ImGui::GetFontSize() * 5, false, over, "##channel rel-L2");
    } else {
      ImGui::TextDisabled(t.channel_rel_l2.empty() ? "(no candidate tensor here)" : "(one channel)");
    }
    ImGui::EndGroup();
  }

  // Error versus depth over the whole network.
  ImGui::Separator();
  ImGui::TextUnformatted("rel-L2 versus depth (click a layer to select it)");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  ImGui::SliderFloat("threshold (log10)", &ui.threshold_log10, -12.0f, 0.0f, "1e%.1f");
  ImGui::SameLine();
  if (ImGui::Button("Jump to the first layer over it")) {
    for (const auto& row : r.layers) {
      if (row.fused_present && row.fused_vs_unfused.rel_l2 > std::pow(10.0, ui.threshold_log10)) {
        select_value(session, ui, row.layer);
        break;
      }
    }
  }
  draw_depth_plot(session, s, ui, std::max(ImGui::GetContentRegionAvail().y - 4, ImGui::GetFontSize() * 6));
}

}  // namespace fusescope::app
