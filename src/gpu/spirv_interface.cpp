#include "gpu/spirv_interface.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <map>
#include <stdexcept>

namespace fusescope::gpu {

namespace {

// The few SPIR-V opcodes, decorations and storage classes this reads (SPIR-V 1.6 spec, 3.x).
constexpr std::uint32_t kMagic = 0x07230203;
enum Op : std::uint32_t {
  OpName = 5,
  OpTypeInt = 21,
  OpTypeFloat = 22,
  OpTypeVector = 23,
  OpTypeMatrix = 24,
  OpTypeImage = 25,
  OpTypeSampledImage = 27,
  OpTypeArray = 28,
  OpTypeRuntimeArray = 29,
  OpTypeStruct = 30,
  OpTypePointer = 32,
  OpConstant = 43,
  OpVariable = 59,
  OpDecorate = 71,
  OpMemberDecorate = 72,
};
enum Decoration : std::uint32_t {
  SpecId = 1,
  Block = 2,
  BufferBlock = 3,
  ArrayStride = 6,
  MatrixStride = 7,
  Binding = 33,
  DescriptorSet = 34,
  Offset = 35,
};
enum StorageClass : std::uint32_t { UniformConstant = 0, Uniform = 2, PushConstant = 9, StorageBuffer = 12 };
constexpr std::uint32_t kDimBuffer = 5;

struct Module {
  std::map<std::uint32_t, std::vector<std::uint32_t>> types;  // result id -> [opcode, operands after the id]
  std::map<std::uint32_t, std::uint32_t> constants;           // OpConstant result id -> first word
  std::map<std::uint32_t, std::string> names;
  std::map<std::uint32_t, std::map<std::uint32_t, std::uint32_t>> decorations;  // id -> decoration -> value
  std::map<std::uint32_t, std::map<std::uint32_t, std::uint32_t>> member_offsets;  // struct -> member -> offset
  struct Variable {
    std::uint32_t type, id, storage;
  };
  std::vector<Variable> variables;

  const std::vector<std::uint32_t>& type(std::uint32_t id) const {
    const auto it = types.find(id);
    if (it == types.end()) throw std::invalid_argument(fmt::format("SPIR-V: type %{} is not declared", id));
    return it->second;
  }
  bool decorated(std::uint32_t id, std::uint32_t d) const {
    const auto it = decorations.find(id);
    return it != decorations.end() && it->second.contains(d);
  }
  std::uint32_t decoration(std::uint32_t id, std::uint32_t d) const {
    const auto it = decorations.find(id);
    return it == decorations.end() || !it->second.contains(d) ? 0 : it->second.at(d);
  }

  // Bytes a value of `id` spans inside a push-constant block (explicit layout: offsets, strides).
  std::uint32_t size_of(std::uint32_t id) const {
    const std::vector<std::uint32_t>& t = type(id);
    switch (t[0]) {
      case OpTypeInt:
      case OpTypeFloat: return t[1] / 8;
      case OpTypeVector: return t[2] * size_of(t[1]);
      case OpTypeMatrix: return t[2] * std::max(decoration(id, MatrixStride), size_of(t[1]));
      case OpTypeArray: {
        const auto n = constants.find(t[2]);
        const std::uint32_t stride = decoration(id, ArrayStride);
        return (n == constants.end() ? 0 : n->second) * (stride != 0 ? stride : size_of(t[1]));
      }
      case OpTypeStruct: {
        std::uint32_t end = 0;
        const auto offsets = member_offsets.find(id);
        for (std::size_t m = 1; m < t.size(); ++m) {
          std::uint32_t offset = 0;
          if (offsets != member_offsets.end() && offsets->second.contains(static_cast<std::uint32_t>(m - 1)))
            offset = offsets->second.at(static_cast<std::uint32_t>(m - 1));
          end = std::max(end, offset + size_of(t[m]));
        }
        return end;
      }
      default: return 0;  // runtime arrays and opaque types have no size in a block
    }
  }

  DescriptorKind kind_of(std::uint32_t pointee, std::uint32_t storage) const {
    std::uint32_t id = pointee;
    // Arrays of descriptors: the element's kind.
    while (type(id)[0] == OpTypeArray || type(id)[0] == OpTypeRuntimeArray) id = type(id)[1];
    const std::vector<std::uint32_t>& t = type(id);
    if (storage == StorageBuffer) return DescriptorKind::storage_buffer;
    if (storage == Uniform) {
      return decorated(id, BufferBlock) ? DescriptorKind::storage_buffer : DescriptorKind::uniform_buffer;
    }
    if (storage == UniformConstant) {
      const std::vector<std::uint32_t>* image = &t;
      if (t[0] == OpTypeSampledImage) image = &type(t[1]);
      // OpTypeImage: [op, sampled type, dim, depth, arrayed, ms, sampled, format]
      if ((*image)[0] == OpTypeImage && (*image)[2] == kDimBuffer) {
        return (*image)[6] == 2 ? DescriptorKind::storage_texel_buffer : DescriptorKind::uniform_texel_buffer;
      }
    }
    return DescriptorKind::other;
  }
};

}  // namespace

const char* to_string(DescriptorKind kind) {
  switch (kind) {
    case DescriptorKind::storage_buffer: return "storage buffer";
    case DescriptorKind::uniform_buffer: return "uniform buffer";
    case DescriptorKind::uniform_texel_buffer: return "uniform texel buffer";
    case DescriptorKind::storage_texel_buffer: return "storage texel buffer";
    case DescriptorKind::other: break;
  }
  return "other descriptor";
}

SpirvInterface reflect_spirv_interface(std::span<const std::uint32_t> words) {
  if (words.size() < 5 || words[0] != kMagic) throw std::invalid_argument("not a SPIR-V module (no magic number)");
  Module m;
  std::vector<std::uint32_t> spec_ids;
  for (std::size_t i = 5; i < words.size();) {
    const std::uint32_t count = words[i] >> 16, op = words[i] & 0xffffu;
    if (count == 0 || i + count > words.size())
      throw std::invalid_argument(fmt::format("SPIR-V: instruction at word {} runs past the module's end", i));
    const std::span<const std::uint32_t> w = words.subspan(i, count);
    switch (op) {
      case OpName: {
        const char* text = reinterpret_cast<const char*>(w.data() + 2);
        m.names[w[1]] = std::string(text, strnlen(text, (count - 2) * 4));
        break;
      }
      case OpTypeInt: case OpTypeFloat: case OpTypeVector: case OpTypeMatrix: case OpTypeImage:
      case OpTypeSampledImage: case OpTypeArray: case OpTypeRuntimeArray: case OpTypeStruct: case OpTypePointer: {
        std::vector<std::uint32_t> t{op};
        t.insert(t.end(), w.begin() + 2, w.end());
        m.types[w[1]] = std::move(t);
        break;
      }
      case OpConstant:
        if (count >= 4) m.constants[w[2]] = w[3];
        break;
      case OpVariable: m.variables.push_back({w[1], w[2], w[3]}); break;
      case OpDecorate:
        m.decorations[w[1]][w[2]] = count > 3 ? w[3] : 1;
        if (w[2] == SpecId && count > 3) spec_ids.push_back(w[3]);
        break;
      case OpMemberDecorate:
        if (w[3] == Offset && count > 4) m.member_offsets[w[1]][w[2]] = w[4];
        break;
      default: break;
    }
    i += count;
  }

  SpirvInterface out;
  std::sort(spec_ids.begin(), spec_ids.end());
  spec_ids.erase(std::unique(spec_ids.begin(), spec_ids.end()), spec_ids.end());
  out.specialization_constants = std::move(spec_ids);
  for (const Module::Variable& v : m.variables) {
    const std::vector<std::uint32_t>& pointer = m.type(v.type);  // [OpTypePointer, storage, pointee]
    if (pointer[0] != OpTypePointer) continue;
    const std::uint32_t pointee = pointer[2];
    if (v.storage == PushConstant) {
      out.has_push_constants = true;
      out.push_constant_bytes = std::max(out.push_constant_bytes, m.size_of(pointee));
      continue;
    }
    if (v.storage != StorageBuffer && v.storage != Uniform && v.storage != UniformConstant) continue;
    if (!m.decorated(v.id, Binding)) continue;
    SpirvDescriptor d;
    d.set = m.decoration(v.id, DescriptorSet);
    d.binding = m.decoration(v.id, Binding);
    d.kind = m.kind_of(pointee, v.storage);
    const auto name = m.names.find(pointee);
    d.name = name != m.names.end() && !name->second.empty() ? name->second
             : m.names.contains(v.id)                        ? m.names.at(v.id)
                                                             : "";
    out.descriptors.push_back(d);
  }
  std::sort(out.descriptors.begin(), out.descriptors.end(),
            [](const SpirvDescriptor& a, const SpirvDescriptor& b) { return std::tie(a.set, a.binding) < std::tie(b.set, b.binding); });
  return out;
}

std::vector<std::string> interface_mismatches(const SpirvInterface& builtin, const SpirvInterface& edited,
                                              const std::vector<std::uint32_t>& omittable,
                                              const std::map<std::uint32_t, std::string>& constant_names) {
  std::vector<std::string> out;
  auto named = [](const SpirvDescriptor& d) { return d.name.empty() ? std::string() : fmt::format(" ('{}')", d.name); };
  for (const SpirvDescriptor& e : edited.descriptors) {
    if (e.set != 0) {
      out.push_back(fmt::format("set {} binding {}{}: the kernel's pipeline layout has descriptor set 0 only", e.set,
                                e.binding, named(e)));
      continue;
    }
    const auto it = std::find_if(builtin.descriptors.begin(), builtin.descriptors.end(),
                                 [&](const SpirvDescriptor& b) { return b.set == e.set && b.binding == e.binding; });
    if (it == builtin.descriptors.end()) {
      out.push_back(fmt::format("binding {}{}: expected no binding there (the kernel binds 0..{}), found a {}",
                                e.binding, named(e),
                                builtin.descriptors.empty() ? 0 : builtin.descriptors.back().binding, to_string(e.kind)));
    } else if (it->kind != e.kind) {
      out.push_back(fmt::format("binding {}{}: expected a {}{}, found a {}", e.binding, named(e), to_string(it->kind),
                                named(*it), to_string(e.kind)));
    }
  }
  std::vector<std::string> missing;
  for (const std::uint32_t id : builtin.specialization_constants) {
    const auto& present = edited.specialization_constants;
    if (std::binary_search(present.begin(), present.end(), id) ||
        std::find(omittable.begin(), omittable.end(), id) != omittable.end())
      continue;
    const auto name = constant_names.find(id);
    missing.push_back(fmt::format("{}(id {})", name == constant_names.end() ? "" : name->second + " ", id));
  }
  if (!missing.empty()) {
    const bool one = missing.size() == 1;
    out.push_back(fmt::format("specialization constant{} {}: the kernel uses {} and the edit does not (the encoder "
                              "sets {} to pick what the kernel computes; an edit that never reads {}, or one from an "
                              "older source, computes something else)",
                              one ? "" : "s", fmt::join(missing, ", "), one ? "it" : "them", one ? "it" : "them",
                              one ? "it" : "them"));
  }
  if (edited.has_push_constants && edited.push_constant_bytes != builtin.push_constant_bytes) {
    out.push_back(builtin.has_push_constants
                      ? fmt::format("push-constant block: expected {} bytes, found {}", builtin.push_constant_bytes,
                                    edited.push_constant_bytes)
                      : fmt::format("push-constant block: expected none, found {} bytes", edited.push_constant_bytes));
  }
  return out;
}

}  // namespace fusescope::gpu
