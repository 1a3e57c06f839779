// Kernel: a compute pipeline built from an embedded SPIR-V shader (or a user's override of it), with its descriptor layout
// (N buffers at bindings 0..N-1: storage buffers, or uniform texel buffers where the spec says),
// a push-constant block and specialization constants.
#pragma once
#include <vulkan/vulkan.h>

#include <compare>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fusescope::gpu {

class Device;
class ShaderOverride;

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
  // Set: the pipeline runs this user source (the shader sandbox) in place of `shader`, which
  // still names the built-in kernel whose layout, constants and variant it takes. Compared by
  // identity: each edit is a new override, so it gets a new pipeline and the old one stays.
  std::shared_ptr<const ShaderOverride> shader_override;

  auto operator<=>(const KernelSpec&) const = default;
  // "conv2d[64,1,0,1]" — the pipeline's debug name; "conv2d[64,1,0,1] <- edit.comp" with an override
  std::string label() const;
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
