// The window's look: a dark ImGui style with exactly one accent colour (for "selected") and one
// warning colour (for "over threshold"), so panels agree on what each colour means.
#pragma once
#include <imgui.h>

namespace fusescope::app::style {

// "Selected": the current layer, the chosen candidate, the hovered activation.
inline const ImVec4 kAccent{0.26f, 0.59f, 0.98f, 1.00f};
// "Over threshold": a layer drifting past --fail-above, an at-risk fp16 channel.
inline const ImVec4 kWarning{0.98f, 0.62f, 0.16f, 1.00f};
// The window's background (the swapchain's clear colour too).
inline const ImVec4 kBackground{0.09f, 0.09f, 0.10f, 1.00f};

// ImGui's dark style, sizes scaled for HiDPI, with the accent colour on selection widgets.
void apply_dark_style(float scale);

inline ImU32 to_u32(const ImVec4& c) { return ImGui::ColorConvertFloat4ToU32(c); }

}  // namespace fusescope::app::style
