// Buffer: a range of device memory for one tensor, sub-allocated from a few large blocks
// (MemoryArena) so that a network with hundreds of tensors makes a handful of allocations.
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fusescope::gpu {

class Device;
class MemoryArena;

// A byte range of a device buffer: what a kernel binds. Owned buffers, planned regions inside
// a shared activation buffer and the placeholder for unused slots all reduce to this.
struct BufferView {
  VkBuffer handle = VK_NULL_HANDLE;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;

  bool valid() const { return handle != VK_NULL_HANDLE && size > 0; }
  // A sub-range; throws std::out_of_range when it does not fit.
  BufferView slice(std::uint64_t at, std::uint64_t bytes) const;
};

// Move-only handle to [offset, offset+size) of one arena block; returns it on destruction.
class Buffer {
 public:
  Buffer() = default;
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  VkBuffer handle() const { return handle_; }
  std::uint64_t offset() const { return offset_; }
  std::uint64_t size() const { return size_; }
  const std::string& name() const { return name_; }
  bool valid() const { return arena_ != nullptr; }
  BufferView view() const { return {handle_, offset_, size_}; }

 private:
  friend class MemoryArena;
  void release();

  MemoryArena* arena_ = nullptr;
  std::uint32_t block_ = 0;
  VkBuffer handle_ = VK_NULL_HANDLE;
  std::uint64_t offset_ = 0;
  std::uint64_t size_ = 0;
  std::uint64_t reserved_ = 0;  // size rounded up to the alignment
  std::string name_;
};

// First-fit allocator over device-local blocks of at least kBlockBytes. Each block is one
// VkBuffer usable as storage and as transfer source/destination.
class MemoryArena {
 public:
  static constexpr std::uint64_t kBlockBytes = 64ull << 20;

  explicit MemoryArena(Device& device);
  ~MemoryArena();
  MemoryArena(const MemoryArena&) = delete;
  MemoryArena& operator=(const MemoryArena&) = delete;

  Buffer allocate(std::uint64_t bytes, const std::string& name);
  std::uint64_t bytes_in_use() const { return in_use_; }
  std::uint64_t bytes_reserved() const;
  std::size_t block_count() const { return blocks_.size(); }

 private:
  friend class Buffer;
  struct Block {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    std::uint64_t size = 0;
    std::map<std::uint64_t, std::uint64_t> free;  // offset -> size, non-adjacent
  };
  void free_range(std::uint32_t block, std::uint64_t offset, std::uint64_t size);
  // `name`: the buffer that needs the block, for the error when none can be had.
  std::uint32_t add_block(std::uint64_t min_bytes, const std::string& name);

  Device& device_;
  std::vector<Block> blocks_;
  std::uint64_t alignment_ = 256;
  std::uint64_t in_use_ = 0;
  std::uint32_t memory_type_ = 0;
};

}  // namespace fusescope::gpu
