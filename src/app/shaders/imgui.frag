// ImGui's fragments: the bound texture (the font atlas or a tensor texture) times the vertex
// colour; blending (src alpha, one minus src alpha) is pipeline state.
#version 450
layout(set = 0, binding = 0) uniform sampler2D tex;

layout(location = 0) in vec4 in_color;
layout(location = 1) in vec2 in_uv;

layout(location = 0) out vec4 out_color;

void main() {
  out_color = in_color * texture(tex, in_uv);
}
