// ImGui's vertices: position in ImGui's display coordinates (pixels), mapped to clip space by
// the push constants (scale = 2 / display size, translate = -1 - display pos * scale); uv and an
// 8-bit-per-channel colour passed through. No colour-space conversion: the swapchain is UNORM
// and ImGui's colours are used as written, so a texture drawn 1:1 shows its bytes exactly.
#version 450
layout(location = 0) in vec2 in_pos;
layout(location = 1) in vec2 in_uv;
layout(location = 2) in vec4 in_color;  // R8G8B8A8_UNORM

layout(push_constant) uniform Transform {
  vec2 scale;
  vec2 translate;
} pc;

layout(location = 0) out vec4 out_color;
layout(location = 1) out vec2 out_uv;

void main() {
  out_color = in_color;
  out_uv = in_uv;
  gl_Position = vec4(in_pos * pc.scale + pc.translate, 0.0, 1.0);
}
