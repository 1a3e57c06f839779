#include "app/style.hpp"

namespace fusescope::app::style {

void apply_dark_style(float scale) {
  ImGuiStyle& s = ImGui::GetStyle();
  s = ImGuiStyle();
  ImGui::StyleColorsDark(&s);
  s.WindowRounding = 4.0f;
  s.FrameRounding = 3.0f;
  s.GrabRounding = 3.0f;
  s.ScrollbarRounding = 3.0f;
  s.WindowBorderSize = 1.0f;
  ImVec4* c = s.Colors;
  c[ImGuiCol_WindowBg] = kBackground;
  c[ImGuiCol_Header] = ImVec4(kAccent.x, kAccent.y, kAccent.z, 0.45f);
  c[ImGuiCol_HeaderHovered] = ImVec4(kAccent.x, kAccent.y, kAccent.z, 0.65f);
  c[ImGuiCol_HeaderActive] = kAccent;
  c[ImGuiCol_CheckMark] = kAccent;
  c[ImGuiCol_SliderGrab] = kAccent;
  c[ImGuiCol_SliderGrabActive] = kAccent;
  c[ImGuiCol_ButtonActive] = kAccent;
  c[ImGuiCol_TabActive] = ImVec4(kAccent.x * 0.7f, kAccent.y * 0.7f, kAccent.z * 0.7f, 1.0f);
  c[ImGuiCol_PlotHistogram] = kAccent;
  c[ImGuiCol_TextSelectedBg] = ImVec4(kAccent.x, kAccent.y, kAccent.z, 0.35f);
  c[ImGuiCol_NavHighlight] = kAccent;
  if (scale > 0 && scale != 1.0f) s.ScaleAllSizes(scale);
}

}  // namespace fusescope::app::style
