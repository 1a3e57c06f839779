// Kernel: a compute pipeline built from an embedded SPIR-V shader, with its descriptor layout
// (N buffers at bindings 0..N-1: storage buffers, or uniform texel buffers where the spec says),
// a push-constant block and specialization constants.
#pragma once
#include <vulkan/vulkan.h>

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

namespace fusescope::gpu {

class Device;

struct KernelSpec {
  std::string shader;                       // file stem under shaders/
  std::uint32_t buffer_count = 0;           // storage buffers at bindings 0..buffer_count-1
  std::uint32_t push_constant_bytes = 0;    // size of the shader's push-constant block
  std::vector<std::uint32_t> specialization; // constant_id i gets specialization[i] (4 bytes)
  // Bindings (bit i: binding i) read as uniform texel buffers (GLSL samplerBuffer, texelFetch)
  // of `texel_format` instead of storage buffers. Why: lavapipe gathers a texel fetch in a few
  // vector instructions, where it loads a storage buffer lane by lane.
  std::uint32_t texel_buffers = 0;
  VkFormat texel_format = VK_FORMAT_UNDEFINED;

  auto operator<=>(const KernelSpec&) const = default;
  std::string label() const;  // "conv2d[64,1,0,1]" — used as the pipeline's debug name
};

class Kernel {
 public:
  Kernel(Device& device, const KernelSpec& spec);
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  const KernelSpec& spec() const { return spec_; }
  VkPipeline pipeline() const { return pipeline_; }
  VkPipelineLayout layout() const { return layout_; }
  VkDescriptorSetLayout set_layout() const { return set_layout_; }

 private:
  void release();

  Device& device_;
  KernelSpec spec_;
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
};

}  // namespace fusescope::gpu
