// Kernel: a compute pipeline built from an embedded SPIR-V shader (or a user's override of it),
// with its descriptor layout (N buffers at bindings 0..N-1: storage buffers, or uniform texel
// buffers where the spec says), a push-constant block and specialization constants.
//
// Made in two steps so a network's pipelines build side by side: the constructor makes the
// shader module and layouts (cheap: descriptor sets can be written against them at once), and
// build() — run by the device's WorkerPool — makes the pipeline, the driver's slow part.
// pipeline() waits for build() and rethrows its failure.
#pragma once
#include <vulkan/vulkan.h>

#include <compare>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
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
  // Shader module and layouts; the pipeline is made by build(). Throws for a spec the device
  // cannot take (push constants over its limit) or a failing layout call.
  Kernel(Device& device, const KernelSpec& spec);
  // Waits for a build() in progress (the device's pool runs out before its kernels go).
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // Creates the pipeline; on any thread; the first call does it, later ones return at once.
  // Never throws: a failure is kept for pipeline().
  void build() const noexcept;

  const KernelSpec& spec() const { return spec_; }
  // The pipeline: built here if nobody has started to (a thread that needs it now does not
  // queue behind other builds), else waited for. Throws PipelineCreationFailed (or what the
  // driver's call threw) when building failed.
  VkPipeline pipeline() const;
  // build() has run and failed (does not wait): the device's cache makes such a kernel again.
  bool failed() const;
  // How long build() took in the driver (0 until it has run).
  double build_ms() const;
  VkPipelineLayout layout() const { return layout_; }
  VkDescriptorSetLayout set_layout() const { return set_layout_; }

 private:
  void create_pipeline() const;
  void wait_built() const;
  enum class BuildState { queued, building, built };
  void release();

  Device& device_;
  KernelSpec spec_;
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  // Made lazily (by build(), const: a pipeline is the kernel's cached result, and kernels are
  // handed out const), guarded by build_mutex_ until state_ says built.
  mutable VkPipeline pipeline_ = VK_NULL_HANDLE;
  // Decided in the constructor, in request order, so FUSESCOPE_FAULT_PIPELINE_CREATE=N picks
  // the same pipeline whichever thread builds it first.
  bool injected_fault_ = false;

  mutable std::mutex build_mutex_;
  mutable std::condition_variable built_;
  mutable BuildState state_ = BuildState::queued;
  mutable std::exception_ptr build_error_;
  mutable double build_ms_ = 0;
};

}  // namespace fusescope::gpu
