#include "app/imgui_renderer.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "app/texture_registry.hpp"
#include "gpu/error.hpp"

namespace fusescope::app {

namespace embedded {
extern const std::uint32_t imgui_vert[];
extern const std::size_t imgui_vert_words;
extern const std::uint32_t imgui_frag[];
extern const std::size_t imgui_frag_words;
}  // namespace embedded

using gpu::check;

namespace {

VkShaderModule make_module(VkDevice dev, const std::uint32_t* words, std::size_t count) {
  VkShaderModuleCreateInfo ci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  ci.codeSize = count * sizeof(std::uint32_t);
  ci.pCode = words;
  VkShaderModule m = VK_NULL_HANDLE;
  check(vkCreateShaderModule(dev, &ci, nullptr, &m), "vkCreateShaderModule (imgui)");
  return m;
}

}  // namespace

ImGuiRenderer::ImGuiRenderer(gpu::Device& device, VkRenderPass render_pass,
                             VkDescriptorSetLayout texture_layout, int frames_in_flight)
    : device_(device), frames_(static_cast<std::size_t>(frames_in_flight)) {
  VkDevice dev = device_.handle();
  VkShaderModule vert = VK_NULL_HANDLE, frag = VK_NULL_HANDLE;
  try {
    VkPushConstantRange push{VK_SHADER_STAGE_VERTEX_BIT, 0, 4 * sizeof(float)};
    VkPipelineLayoutCreateInfo li{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    li.setLayoutCount = 1;
    li.pSetLayouts = &texture_layout;
    li.pushConstantRangeCount = 1;
    li.pPushConstantRanges = &push;
    check(vkCreatePipelineLayout(dev, &li, nullptr, &layout_), "vkCreatePipelineLayout (imgui)");

    vert = make_module(dev, embedded::imgui_vert, embedded::imgui_vert_words);
    frag = make_module(dev, embedded::imgui_frag, embedded::imgui_frag_words);
    VkPipelineShaderStageCreateInfo stages[2] = {
        {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO},
        {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO}};
    stages[0].stage = VK_SHADER_STAGE_VERTEX_BIT;
    stages[0].module = vert;
    stages[0].pName = "main";
    stages[1].stage = VK_SHADER_STAGE_FRAGMENT_BIT;
    stages[1].module = frag;
    stages[1].pName = "main";

    VkVertexInputBindingDescription binding{0, sizeof(ImDrawVert), VK_VERTEX_INPUT_RATE_VERTEX};
    VkVertexInputAttributeDescription attributes[3] = {
        {0, 0, VK_FORMAT_R32G32_SFLOAT, static_cast<std::uint32_t>(offsetof(ImDrawVert, pos))},
        {1, 0, VK_FORMAT_R32G32_SFLOAT, static_cast<std::uint32_t>(offsetof(ImDrawVert, uv))},
        {2, 0, VK_FORMAT_R8G8B8A8_UNORM, static_cast<std::uint32_t>(offsetof(ImDrawVert, col))}};
    VkPipelineVertexInputStateCreateInfo vi{VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
    vi.vertexBindingDescriptionCount = 1;
    vi.pVertexBindingDescriptions = &binding;
    vi.vertexAttributeDescriptionCount = 3;
    vi.pVertexAttributeDescriptions = attributes;

    VkPipelineInputAssemblyStateCreateInfo ia{VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO};
    ia.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST;
    VkPipelineViewportStateCreateInfo vp{VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO};
    vp.viewportCount = 1;
    vp.scissorCount = 1;
    VkPipelineRasterizationStateCreateInfo rs{VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO};
    rs.polygonMode = VK_POLYGON_MODE_FILL;
    rs.cullMode = VK_CULL_MODE_NONE;
    rs.frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE;
    rs.lineWidth = 1.0f;
    VkPipelineMultisampleStateCreateInfo ms{VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO};
    ms.rasterizationSamples = VK_SAMPLE_COUNT_1_BIT;
    VkPipelineColorBlendAttachmentState blend{};
    blend.blendEnable = VK_TRUE;
    blend.srcColorBlendFactor = VK_BLEND_FACTOR_SRC_ALPHA;
    blend.dstColorBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
    blend.colorBlendOp = VK_BLEND_OP_ADD;
    blend.srcAlphaBlendFactor = VK_BLEND_FACTOR_ONE;
    blend.dstAlphaBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA;
    blend.alphaBlendOp = VK_BLEND_OP_ADD;
    blend.colorWriteMask = VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT |
                           VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT;
    VkPipelineColorBlendStateCreateInfo cb{VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO};
    cb.attachmentCount = 1;
    cb.pAttachments = &blend;
    VkPipelineDepthStencilStateCreateInfo ds{VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO};
    VkDynamicState dynamic[2] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
    VkPipelineDynamicStateCreateInfo dy{VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO};
    dy.dynamicStateCount = 2;
    dy.pDynamicStates = dynamic;

    VkGraphicsPipelineCreateInfo pi{VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO};
    pi.stageCount = 2;
    pi.pStages = stages;
    pi.pVertexInputState = &vi;
    pi.pInputAssemblyState = &ia;
    pi.pViewportState = &vp;
    pi.pRasterizationState = &rs;
    pi.pMultisampleState = &ms;
    pi.pDepthStencilState = &ds;
    pi.pColorBlendState = &cb;
    pi.pDynamicState = &dy;
    pi.layout = layout_;
    pi.renderPass = render_pass;
    pi.subpass = 0;
    check(vkCreateGraphicsPipelines(dev, device_.pipeline_cache(), 1, &pi, nullptr, &pipeline_),
          "vkCreateGraphicsPipelines (imgui)");
    device_.set_debug_name(VK_OBJECT_TYPE_PIPELINE, reinterpret_cast<std::uint64_t>(pipeline_),
                           "imgui");
  } catch (...) {
    if (vert) vkDestroyShaderModule(dev, vert, nullptr);
    if (frag) vkDestroyShaderModule(dev, frag, nullptr);
    if (pipeline_) vkDestroyPipeline(dev, pipeline_, nullptr);
    if (layout_) vkDestroyPipelineLayout(dev, layout_, nullptr);
    throw;
  }
  vkDestroyShaderModule(dev, vert, nullptr);
  vkDestroyShaderModule(dev, frag, nullptr);
}

ImGuiRenderer::~ImGuiRenderer() {
  for (FrameBuffers& f : frames_) {
    destroy_host_buffer(device_, f.vertices);
    destroy_host_buffer(device_, f.indices);
  }
  vkDestroyPipeline(device_.handle(), pipeline_, nullptr);
  vkDestroyPipelineLayout(device_.handle(), layout_, nullptr);
}

void ImGuiRenderer::ensure_capacity(HostBuffer& buffer, VkDeviceSize bytes,
                                    VkBufferUsageFlags usage, const char* name) {
  if (buffer.size >= bytes) return;
  // Grow geometrically so a slowly growing UI does not reallocate every frame. The slot's
  // previous use has finished (its fence was waited on), so the old buffer can go now.
  VkDeviceSize size = std::max<VkDeviceSize>(bytes, std::max<VkDeviceSize>(64 * 1024, buffer.size * 2));
  destroy_host_buffer(device_, buffer);
  buffer = create_host_buffer(device_, size, usage, name);
}

void ImGuiRenderer::draw(VkCommandBuffer cmd, ImDrawData* data, int frame, VkExtent2D fb) {
  if (data == nullptr || data->CmdListsCount == 0 || fb.width == 0 || fb.height == 0) return;
  FrameBuffers& f = frames_.at(static_cast<std::size_t>(frame));
  const VkDeviceSize vtx_bytes = VkDeviceSize(data->TotalVtxCount) * sizeof(ImDrawVert);
  const VkDeviceSize idx_bytes = VkDeviceSize(data->TotalIdxCount) * sizeof(ImDrawIdx);
  if (vtx_bytes == 0 || idx_bytes == 0) return;
  ensure_capacity(f.vertices, vtx_bytes, VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, "imgui vertices");
  ensure_capacity(f.indices, idx_bytes, VK_BUFFER_USAGE_INDEX_BUFFER_BIT, "imgui indices");
  auto* vtx = static_cast<ImDrawVert*>(f.vertices.mapped);
  auto* idx = static_cast<ImDrawIdx*>(f.indices.mapped);
  for (int n = 0; n < data->CmdListsCount; ++n) {
    const ImDrawList* list = data->CmdLists[n];
    std::memcpy(vtx, list->VtxBuffer.Data, list->VtxBuffer.Size * sizeof(ImDrawVert));
    std::memcpy(idx, list->IdxBuffer.Data, list->IdxBuffer.Size * sizeof(ImDrawIdx));
    vtx += list->VtxBuffer.Size;
    idx += list->IdxBuffer.Size;
  }
  // Coherent memory: the writes are visible to the queue submit that follows.

  auto setup = [&] {
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline_);
    VkDeviceSize offset = 0;
    vkCmdBindVertexBuffers(cmd, 0, 1, &f.vertices.buffer, &offset);
    vkCmdBindIndexBuffer(cmd, f.indices.buffer, 0,
                         sizeof(ImDrawIdx) == 2 ? VK_INDEX_TYPE_UINT16 : VK_INDEX_TYPE_UINT32);
    VkViewport viewport{0, 0, static_cast<float>(fb.width), static_cast<float>(fb.height), 0, 1};
    vkCmdSetViewport(cmd, 0, 1, &viewport);
    float transform[4];
    transform[0] = 2.0f / data->DisplaySize.x;
    transform[1] = 2.0f / data->DisplaySize.y;
    transform[2] = -1.0f - data->DisplayPos.x * transform[0];
    transform[3] = -1.0f - data->DisplayPos.y * transform[1];
    vkCmdPushConstants(cmd, layout_, VK_SHADER_STAGE_VERTEX_BIT, 0, sizeof(transform), transform);
  };
  setup();

  const ImVec2 clip_off = data->DisplayPos;
  const ImVec2 clip_scale = data->FramebufferScale;
  VkDescriptorSet bound = VK_NULL_HANDLE;
  std::uint32_t vtx_base = 0, idx_base = 0;
  for (int n = 0; n < data->CmdListsCount; ++n) {
    const ImDrawList* list = data->CmdLists[n];
    for (int c = 0; c < list->CmdBuffer.Size; ++c) {
      const ImDrawCmd& dc = list->CmdBuffer[c];
      if (dc.UserCallback != nullptr) {
        if (dc.UserCallback == ImDrawCallback_ResetRenderState) {
          setup();
          bound = VK_NULL_HANDLE;
        } else {
          dc.UserCallback(list, &dc);
        }
        continue;
      }
      float x0 = (dc.ClipRect.x - clip_off.x) * clip_scale.x;
      float y0 = (dc.ClipRect.y - clip_off.y) * clip_scale.y;
      float x1 = (dc.ClipRect.z - clip_off.x) * clip_scale.x;
      float y1 = (dc.ClipRect.w - clip_off.y) * clip_scale.y;
      x0 = std::max(x0, 0.0f);
      y0 = std::max(y0, 0.0f);
      x1 = std::min(x1, static_cast<float>(fb.width));
      y1 = std::min(y1, static_cast<float>(fb.height));
      if (x1 <= x0 || y1 <= y0) continue;
      VkRect2D scissor{{static_cast<std::int32_t>(x0), static_cast<std::int32_t>(y0)},
                       {static_cast<std::uint32_t>(x1 - x0), static_cast<std::uint32_t>(y1 - y0)}};
      vkCmdSetScissor(cmd, 0, 1, &scissor);
      const auto* texture = static_cast<const Texture*>(dc.GetTexID());
      if (texture == nullptr || texture->layout != VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL)
        continue;  // not uploaded yet: skip rather than sample an undefined image
      if (texture->descriptor_set != bound) {
        bound = texture->descriptor_set;
        vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, layout_, 0, 1, &bound, 0,
                                nullptr);
      }
      vkCmdDrawIndexed(cmd, dc.ElemCount, 1, idx_base + dc.IdxOffset,
                       static_cast<std::int32_t>(vtx_base + dc.VtxOffset), 0);
    }
    vtx_base += static_cast<std::uint32_t>(list->VtxBuffer.Size);
    idx_base += static_cast<std::uint32_t>(list->IdxBuffer.Size);
  }
}

}  // namespace fusescope::app
