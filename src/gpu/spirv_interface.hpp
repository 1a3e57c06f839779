// What a compute shader's SPIR-V expects from its pipeline layout: the descriptors it declares
// (set, binding, kind) and the size of its push-constant block. Read from the words directly
// (OpDecorate DescriptorSet/Binding, OpVariable storage classes, struct Offset decorations):
// a few dozen lines, where SPIRV-Reflect or SPIRV-Cross would be another dependency.
//
// Why: a sandbox edit runs under the built-in kernel's pipeline layout (the encoder binds the
// op's buffers and pushes its constants). An edit that declares another binding, reads a
// storage buffer as a texel buffer or reshapes the push constants would read garbage, or fail
// validation, silently; it is refused up front by comparing its interface with the built-in's.
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace fusescope::gpu {

enum class DescriptorKind { storage_buffer, uniform_buffer, uniform_texel_buffer, storage_texel_buffer, other };
const char* to_string(DescriptorKind kind);  // "storage buffer", "uniform texel buffer", ...

struct SpirvDescriptor {
  std::uint32_t set = 0, binding = 0;
  DescriptorKind kind = DescriptorKind::other;
  std::string name;  // the block's or variable's name, when the module keeps names (-O strips them)
  auto operator<=>(const SpirvDescriptor&) const = default;
};

struct SpirvInterface {
  std::vector<SpirvDescriptor> descriptors;  // sorted by (set, binding)
  bool has_push_constants = false;
  std::uint32_t push_constant_bytes = 0;  // end of the block's last member (its declared size)
  std::vector<std::uint32_t> specialization_constants;  // the constant_ids in the module, sorted
};

// Throws std::invalid_argument when the words are not a SPIR-V module this can read.
SpirvInterface reflect_spirv_interface(std::span<const std::uint32_t> words);

// Each way `edited` does not fit a pipeline layout made for `builtin`, as a sentence ("binding 2
// is a uniform texel buffer; the kernel binds a storage buffer there"); empty when it fits. An
// edit may leave out bindings it does not read (Vulkan allows a shader to use a subset of the
// layout) but may not add any, change a kind, use a set other than 0, declare a push-constant
// block of another size, or leave out a specialization constant the built-in uses (other
// than the `omittable` ids): encoders pick forms of a kernel by them (conv_transpose's TILE and
// global_average_pool's SERIAL change which outputs an invocation computes, conv2d's OCB how many),
// and Vulkan ignores a constant a shader does not declare, so an edit from an older source would
// run a new form's dispatch grid with the old form's code. "Uses": the compiler drops a constant
// nothing reads, so an edit that declares HAS_BIAS and never reads it lacks it too (and would
// drop every bias).
// `constant_names` (id -> name, from the built-in's source) names the constants in the sentences.
std::vector<std::string> interface_mismatches(const SpirvInterface& builtin, const SpirvInterface& edited,
                                              const std::vector<std::uint32_t>& omittable = {},
                                              const std::map<std::uint32_t, std::string>& constant_names = {});

}  // namespace fusescope::gpu
