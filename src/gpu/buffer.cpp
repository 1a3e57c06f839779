#include "gpu/buffer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "gpu/device.hpp"
#include "gpu/error.hpp"

namespace fusescope::gpu {

namespace {
// Allocation and release are thread-safe: in the window a worker allocates tensors while the UI
// thread drops the buffers a finished frame held (TextureRegistry). One lock for every arena:
// both operations are rare and short, and a lock here keeps buffer.hpp, which nearly every file
// includes, unchanged. The statistics (bytes_in_use, bytes_reserved, block_count) are not
// locked: read them on the thread that allocates.
std::mutex arena_mutex;

// Sizes in the unit a reader can compare: "9.0 KiB" for a weight, "1.5 GiB" for a heap.
std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < (1ull << 20)) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < (1ull << 30)) return fmt::format("{:.1f} MiB", bytes / 1048576.0);
  return fmt::format("{:.2f} GiB", bytes / 1073741824.0);
}
}  // namespace

BufferView BufferView::slice(std::uint64_t at, std::uint64_t bytes) const {
  if (at > size || bytes > size - at) {
    throw std::out_of_range(fmt::format("buffer view of {} bytes has no range [{}, {})", size, at,
                                        at + bytes));
  }
  return {handle, offset + at, bytes};
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& o) noexcept { *this = std::move(o); }

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    arena_ = o.arena_;
    block_ = o.block_;
    handle_ = o.handle_;
    offset_ = o.offset_;
    size_ = o.size_;
    reserved_ = o.reserved_;
    name_ = std::move(o.name_);
    o.arena_ = nullptr;
  }
  return *this;
}

void Buffer::release() {
  if (arena_ != nullptr) {
    arena_->free_range(block_, offset_, reserved_);
    arena_ = nullptr;
  }
}

MemoryArena::MemoryArena(Device& device) : device_(device) {
  alignment_ = std::max<std::uint64_t>(
      {device.info().min_storage_buffer_offset_alignment, std::uint64_t{16}, std::uint64_t{256}});
}

MemoryArena::~MemoryArena() {
  for (Block& b : blocks_) {
    vkDestroyBuffer(device_.handle(), b.buffer, nullptr);
    vkFreeMemory(device_.handle(), b.memory, nullptr);
  }
}

std::uint64_t MemoryArena::bytes_reserved() const {
  std::uint64_t total = 0;
  for (const Block& b : blocks_) total += b.size;
  return total;
}

std::uint32_t MemoryArena::add_block(std::uint64_t min_bytes, const std::string& name) {
  const std::uint64_t range = device_.info().max_storage_buffer_range;
  std::uint64_t size = std::max(min_bytes, kBlockBytes);
  size = std::min(size, std::max(range, min_bytes));
  const std::uint64_t cap = device_.memory_cap();
  if (cap != UINT64_MAX) {
    // Under an injected cap a smaller block may still fit where the usual 64 MiB would not,
    // as a driver with a little memory left would allow.
    const std::uint64_t reserved = bytes_reserved();
    const std::uint64_t left = reserved < cap ? cap - reserved : 0;
    if (min_bytes > left) {
      throw OutOfDeviceMemory(fmt::format(
          "out of device memory: '{}' needs {} ({} bytes), but only {} of the device's {} are "
          "free ({} already reserved by fusescope; the limit is FUSESCOPE_FAULT_DEVICE_MEMORY); "
          "try a smaller input (--size) or batch",
          name, human_bytes(min_bytes), min_bytes, human_bytes(left), human_bytes(cap),
          human_bytes(reserved)));
    }
    size = std::min(size, left);
  }

  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = size;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
             VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  Block block;
  block.size = size;
  check(vkCreateBuffer(device_.handle(), &bi, nullptr, &block.buffer), "vkCreateBuffer");

  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device_.handle(), block.buffer, &req);
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(device_.physical(), &mp);
  std::uint32_t type = UINT32_MAX;
  for (std::uint32_t i = 0; i < mp.memoryTypeCount && type == UINT32_MAX; ++i) {
    if ((req.memoryTypeBits & (1u << i)) &&
        (mp.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
      type = i;
  }
  for (std::uint32_t i = 0; i < mp.memoryTypeCount && type == UINT32_MAX; ++i) {
    if (req.memoryTypeBits & (1u << i)) type = i;
  }
  std::uint64_t heap = mp.memoryHeaps[mp.memoryTypes[type].heapIndex].size;
  if (req.size > heap) {
    vkDestroyBuffer(device_.handle(), block.buffer, nullptr);
    throw OutOfDeviceMemory(fmt::format(
        "out of device memory: '{}' needs a memory block of {}, more than the device's "
        "memory heap of {}; try a smaller input (--size) or batch",
        name, human_bytes(req.size), human_bytes(heap)));
  }

  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = type;
  VkResult r = vkAllocateMemory(device_.handle(), &ai, nullptr, &block.memory);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(device_.handle(), block.buffer, nullptr);
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
      throw OutOfDeviceMemory(fmt::format(
          "out of device memory: '{}' needs {}; allocating a {} block failed ({} already "
          "reserved by fusescope); try a smaller input (--size) or batch",
          name, human_bytes(min_bytes), human_bytes(req.size), human_bytes(bytes_reserved())));
    }
    check(r, "vkAllocateMemory");
  }
  check(vkBindBufferMemory(device_.handle(), block.buffer, block.memory, 0), "vkBindBufferMemory");
  const std::uint32_t index = static_cast<std::uint32_t>(blocks_.size());
  device_.set_debug_name(VK_OBJECT_TYPE_BUFFER, reinterpret_cast<std::uint64_t>(block.buffer),
                         fmt::format("arena-block-{}", index));
  block.free.emplace(0, size);
  blocks_.push_back(std::move(block));
  return index;
}

Buffer MemoryArena::allocate(std::uint64_t bytes, const std::string& name) {
  if (bytes == 0) {
    throw std::invalid_argument(fmt::format("buffer '{}': zero-byte allocation", name));
  }
  const std::uint64_t range = device_.info().max_storage_buffer_range;
  if (bytes > range) {
    throw OutOfDeviceMemory(fmt::format(
        "buffer '{}' needs {:.1f} MiB, more than this device can bind as one storage buffer "
        "(maxStorageBufferRange {:.1f} MiB); use a smaller input or batch",
        name, bytes / 1048576.0, range / 1048576.0));
  }
  const std::uint64_t reserved = (bytes + alignment_ - 1) / alignment_ * alignment_;
  std::lock_guard<std::mutex> lock(arena_mutex);
  auto take = [&](std::uint32_t b) -> std::optional<Buffer> {
    Block& block = blocks_[b];
    for (auto it = block.free.begin(); it != block.free.end(); ++it) {
      if (it->second < reserved) continue;
      std::uint64_t offset = it->first;
      std::uint64_t remaining = it->second - reserved;
      block.free.erase(it);
      if (remaining > 0) block.free.emplace(offset + reserved, remaining);
      Buffer buf;
      buf.arena_ = this;
      buf.block_ = b;
      buf.handle_ = block.buffer;
      buf.offset_ = offset;
      buf.size_ = bytes;
      buf.reserved_ = reserved;
      buf.name_ = name;
      in_use_ += reserved;
      return buf;
    }
    return std::nullopt;
  };
  for (std::uint32_t b = 0; b < blocks_.size(); ++b) {
    if (auto buf = take(b)) return std::move(*buf);
  }
  std::uint32_t b = add_block(reserved, name);
  auto buf = take(b);
  if (!buf) throw std::logic_error("arena: fresh block cannot hold the request");
  return std::move(*buf);
}

void MemoryArena::free_range(std::uint32_t b, std::uint64_t offset, std::uint64_t size) {
  std::lock_guard<std::mutex> lock(arena_mutex);
  auto& free = blocks_[b].free;
  in_use_ -= size;
  auto [it, inserted] = free.emplace(offset, size);
  (void)inserted;
  // Merge with the following range, then with the preceding one.
  auto next = std::next(it);
  if (next != free.end() && it->first + it->second == next->first) {
    it->second += next->second;
    free.erase(next);
  }
  if (it != free.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      free.erase(it);
    }
  }
}

}  // namespace fusescope::gpu
