#include "gpu/pipeline_cache_file.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "gpu/device.hpp"

namespace fusescope::gpu {

namespace {

std::filesystem::path cache_file(const DeviceInfo& info) {
  return cache_directory() /
         fmt::format("pipelines-{:04x}-{:04x}-{}.bin", info.vendor_id, info.device_id, info.index);
}

// Vulkan's pipeline-cache header (version one): length, version, vendor, device, UUID.
bool header_matches(std::span<const std::byte> data, VkPhysicalDevice physical) {
  if (data.size() < 32) return false;
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(physical, &props);
  std::uint32_t words[4];
  std::memcpy(words, data.data(), sizeof(words));
  return words[0] >= 32 && words[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
         words[2] == props.vendorID && words[3] == props.deviceID &&
         std::memcmp(data.data() + 16, props.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

// `<file>.tmp<pid>` left by a process killed while it wrote the cache (SIGKILL: nothing could
// clean up). The same rule as io/atomic_file.hpp, which gpu/ may not use.
void remove_stale_temporaries(const std::filesystem::path& file) {
  std::error_code ec;
  const std::string prefix = file.filename().string() + ".tmp";
  for (const auto& entry : std::filesystem::directory_iterator(file.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pid = static_cast<pid_t>(std::stol(digits));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno == EPERM) continue;
    std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace

std::filesystem::path cache_directory() {
  if (const char* dir = std::getenv("FUSESCOPE_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::filesystem::path(xdg) / "fusescope";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".cache" / "fusescope";
  return std::filesystem::temp_directory_path() / "fusescope-cache";
}

std::vector<std::byte> read_pipeline_cache_file(const DeviceInfo& info, VkPhysicalDevice physical) {
  std::ifstream in(cache_file(info), std::ios::binary);
  if (!in) return {};
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> data(raw.size());
  std::memcpy(data.data(), raw.data(), raw.size());
  if (!header_matches(data, physical)) return {};
  return data;
}

void write_pipeline_cache_file(const DeviceInfo& info, VkPhysicalDevice,
                               std::span<const std::byte> data) {
  write_cache_file(cache_file(info), data);  // a cache that cannot be written only means a slower start
}

DeviceIdentity device_identity(VkPhysicalDevice physical) {
  VkPhysicalDeviceIDProperties id{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &id;
  vkGetPhysicalDeviceProperties2(physical, &props);
  DeviceIdentity out;
  for (std::uint8_t byte : id.deviceUUID) out.uuid += fmt::format("{:02x}", byte);
  out.driver_version = props.properties.driverVersion;
  return out;
}

std::string write_cache_file(const std::filesystem::path& path, std::span<const std::byte> data) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message());
  remove_stale_temporaries(path);
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp{}", static_cast<long>(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno));
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) {
      const std::string why = std::strerror(errno);
      out.close();
      std::filesystem::remove(tmp, ec);
      return fmt::format("cannot write {}: {}", tmp.string(), why);
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    std::filesystem::remove(tmp, ec);
    return fmt::format("cannot rename {} to {}: {}", tmp.string(), path.string(), why);
  }
  return "";
}

}  // namespace fusescope::gpu
