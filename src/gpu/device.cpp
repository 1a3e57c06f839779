#include "gpu/device.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "gpu/error.hpp"
#include "gpu/fault_injection.hpp"
#include "gpu/pipeline_cache_file.hpp"
#include "gpu/worker_pool.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define FUSESCOPE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUSESCOPE_ASAN 1
#endif
#endif
#ifdef FUSESCOPE_ASAN
#include <dlfcn.h>
#include <link.h>

#include <string>
#include <vector>
#endif

namespace fusescope::gpu {

namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

constexpr const char* kNoDriverHelp =
    "no Vulkan driver found. Install one: on Debian `apt-get install mesa-vulkan-drivers` "
    "gives lavapipe, a CPU driver that runs everything here (slowly); a GPU vendor's driver "
    "(mesa-vulkan-drivers for AMD/Intel, nvidia-driver for NVIDIA) runs it fast";

bool has_layer(const char* name) {
  std::uint32_t count = 0;
  vkEnumerateInstanceLayerProperties(&count, nullptr);
  std::vector<VkLayerProperties> layers(count);
  vkEnumerateInstanceLayerProperties(&count, layers.data());
  return std::any_of(layers.begin(), layers.end(),
                     [&](const VkLayerProperties& l) { return std::strcmp(l.layerName, name) == 0; });
}

bool layer_has_extension(const char* layer, const char* name) {
  std::uint32_t count = 0;
  vkEnumerateInstanceExtensionProperties(layer, &count, nullptr);
  std::vector<VkExtensionProperties> exts(count);
  vkEnumerateInstanceExtensionProperties(layer, &count, exts.data());
  return std::any_of(exts.begin(), exts.end(), [&](const VkExtensionProperties& e) {
    return std::strcmp(e.extensionName, name) == 0;
  });
}

bool has_instance_extension(const char* name) {
  std::uint32_t count = 0;
  vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> exts(count);
  vkEnumerateInstanceExtensionProperties(nullptr, &count, exts.data());
  return std::any_of(exts.begin(), exts.end(), [&](const VkExtensionProperties& e) {
    return std::strcmp(e.extensionName, name) == 0;
  });
}

int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
  }
}

std::uint32_t compute_queue_family(VkPhysicalDevice physical) {
  std::uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families.data());
  // Prefer a compute-only family (async compute on discrete GPUs), else any with compute.
  for (std::uint32_t i = 0; i < count; ++i) {
    if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) &&
        !(families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) && families[i].timestampValidBits > 0)
      return i;
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return i;
  }
  return UINT32_MAX;
}

DeviceInfo describe(VkPhysicalDevice physical, std::uint32_t index) {
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  subgroup.pNext = &driver;
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &subgroup;
  vkGetPhysicalDeviceProperties2(physical, &props);

  VkPhysicalDeviceShaderFloat16Int8Features f16{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  s16.pNext = &f16;
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &s16;
  vkGetPhysicalDeviceFeatures2(physical, &features);

  const VkPhysicalDeviceLimits& limits = props.properties.limits;
  DeviceInfo info;
  info.index = index;
  info.name = props.properties.deviceName;
  info.type = props.properties.deviceType;
  info.driver_name = driver.driverName;
  info.driver_info = driver.driverInfo;
  info.api_version = props.properties.apiVersion;
  info.vendor_id = props.properties.vendorID;
  info.device_id = props.properties.deviceID;
  info.fp16_arithmetic = f16.shaderFloat16 == VK_TRUE;
  info.storage_16bit = s16.storageBuffer16BitAccess == VK_TRUE;
  info.subgroup_size = subgroup.subgroupSize;
  info.subgroup_shuffle = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0 &&
                          (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) != 0;
  info.timestamp_period_ns = limits.timestampPeriod;
  info.max_storage_buffer_range = limits.maxStorageBufferRange;
  info.min_storage_buffer_offset_alignment = limits.minStorageBufferOffsetAlignment;
  info.max_texel_buffer_elements = limits.maxTexelBufferElements;
  info.min_texel_buffer_offset_alignment = limits.minTexelBufferOffsetAlignment;
  for (int i = 0; i < 3; ++i) info.max_workgroup_count[i] = limits.maxComputeWorkGroupCount[i];
  info.max_workgroup_invocations = limits.maxComputeWorkGroupInvocations;
  info.max_push_constants_size = limits.maxPushConstantsSize;
  // gallivm's LP_MAX_TGSI_LOOP_ITERATIONS, shared between every loop of a shader; measured
  // here with a 1x1 conv over 12000 channels of ones summing to exactly 10923 (65535 / 6).
  if (driver.driverID == VK_DRIVER_ID_MESA_LLVMPIPE) info.loop_iteration_limit = 65535;

  std::uint32_t family = compute_queue_family(physical);
  if (family != UINT32_MAX) {
    std::uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families.data());
    info.timestamps = families[family].timestampValidBits > 0 && limits.timestampPeriod > 0;
  }

  VkPhysicalDeviceMemoryProperties memory;
  vkGetPhysicalDeviceMemoryProperties(physical, &memory);
  for (std::uint32_t i = 0; i < memory.memoryHeapCount; ++i) {
    info.heaps.push_back({memory.memoryHeaps[i].size,
                          (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});
  }
  return info;
}

bool has_device_extension(VkPhysicalDevice physical, const char* name) {
  std::uint32_t count = 0;
  vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> exts(count);
  vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, exts.data());
  return std::any_of(exts.begin(), exts.end(), [&](const VkExtensionProperties& e) {
    return std::strcmp(e.extensionName, name) == 0;
  });
}

// A family that can draw, compute and present (one queue for the UI and the compute runs), on a
// device that has VK_KHR_swapchain; UINT32_MAX when there is none.
std::uint32_t present_queue_family(
    VkInstance instance, VkPhysicalDevice physical,
    const std::function<bool(VkInstance, VkPhysicalDevice, std::uint32_t)>& present_support) {
  if (!has_device_extension(physical, VK_KHR_SWAPCHAIN_EXTENSION_NAME)) return UINT32_MAX;
  std::uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families.data());
  const VkQueueFlags want = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT;
  for (std::uint32_t i = 0; i < count; ++i) {
    if ((families[i].queueFlags & want) == want && present_support(instance, physical, i)) return i;
  }
  return UINT32_MAX;
}

// Sanitizer builds only (scripts/test.sh --sanitize, scripts/fuzz.sh). LeakSanitizer reports at
// exit, after vkDestroyInstance made the loader dlclose the validation layer and the driver:
// their frames then read "<unknown module>", or the name of whatever library was mapped there
// later, so no suppression and no reader can tell a layer's own allocation from one of ours.
// Pinning every library loaded so far (RTLD_NODELETE) keeps them mapped until exit and their
// frames named (tests/sanitize/lsan.supp names the layer). Outside ASan this does nothing.
void keep_libraries_loaded_for_leak_reports() {
#ifdef FUSESCOPE_ASAN
  std::vector<std::string> names;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* out) {
        if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0')
          static_cast<std::vector<std::string>*>(out)->push_back(info->dlpi_name);
        return 0;
      },
      &names);
  // Outside the iteration: dlopen under dl_iterate_phdr's lock is asking for a deadlock.
  for (const std::string& name : names) dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
#endif
}

VkInstance create_bare_instance(bool validation, bool debug_utils,
                                const VkDebugUtilsMessengerCreateInfoEXT* messenger_info,
                                const std::vector<std::string>& extra_extensions = {}) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "fusescope";
  app.pEngineName = "fusescope";
  app.apiVersion = VK_API_VERSION_1_2;

  std::vector<const char*> layers;
  if (validation) layers.push_back(kValidationLayer);
  std::vector<const char*> extensions;
  if (debug_utils) extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  // With validation, synchronization validation too: a missing barrier between two dispatches
  // gives right answers on lavapipe (one queue, run in order) and garbage on a GPU, and only
  // this part of the layer sees it. The layer provides VK_EXT_validation_features itself.
  const VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = &sync;
  features.pNext = messenger_info;
  const bool sync_validation = validation && layer_has_extension(kValidationLayer, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
  if (sync_validation) extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
  for (const std::string& e : extra_extensions) {
    if (!has_instance_extension(e.c_str())) {
      throw NoVulkanDevice(fmt::format(
          "the Vulkan instance extension {} (needed to open a window) is not available", e));
    }
    if (std::none_of(extensions.begin(), extensions.end(),
                     [&](const char* x) { return e == x; }))
      extensions.push_back(e.c_str());
  }

  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = static_cast<std::uint32_t>(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = static_cast<std::uint32_t>(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  ci.pNext = messenger_info;  // also catches messages from vkCreate/DestroyInstance
  if (sync_validation) ci.pNext = &features;

  VkInstance instance = VK_NULL_HANDLE;
  VkResult r = vkCreateInstance(&ci, nullptr, &instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) throw NoVulkanDevice(kNoDriverHelp);
  check(r, "vkCreateInstance");
  keep_libraries_loaded_for_leak_reports();
  return instance;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
  std::uint32_t count = 0;
  VkResult r = vkEnumeratePhysicalDevices(instance, &count, nullptr);
  if (r == VK_ERROR_INITIALIZATION_FAILED || count == 0) throw NoVulkanDevice(kNoDriverHelp);
  check(r, "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> devices(count);
  check(vkEnumeratePhysicalDevices(instance, &count, devices.data()), "vkEnumeratePhysicalDevices");
  devices.resize(count);
  return devices;
}

std::optional<std::uint32_t> device_index_from_environment(std::size_t device_count) {
  const char* env = std::getenv("FUSESCOPE_DEVICE");
  if (env == nullptr || *env == '\0') return std::nullopt;
  char* end = nullptr;
  long value = std::strtol(env, &end, 10);
  if (*end != '\0' || value < 0) {
    throw std::invalid_argument(fmt::format(
        "FUSESCOPE_DEVICE='{}' is not a device index; `fusescope devices` lists the {} "
        "available (0..{})",
        env, device_count, device_count - 1));
  }
  return static_cast<std::uint32_t>(value);
}

// FUSESCOPE_PIPELINE_THREADS: how many threads build pipelines (0 or unset: one per core).
std::size_t pipeline_threads_from_environment() {
  const char* env = std::getenv("FUSESCOPE_PIPELINE_THREADS");
  if (env == nullptr || *env == '\0') return 0;
  char* end = nullptr;
  const long value = std::strtol(env, &end, 10);
  if (*end != '\0' || value < 0 || value > static_cast<long>(WorkerPool::kMaxThreads)) {
    throw std::invalid_argument(fmt::format("FUSESCOPE_PIPELINE_THREADS='{}' is not a thread count from 0 (one per "
                                            "core) to {}",
                                            env, WorkerPool::kMaxThreads));
  }
  return static_cast<std::size_t>(value);
}

}  // namespace

VkBool32 VKAPI_PTR debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                  VkDebugUtilsMessageTypeFlagsEXT,
                                  const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  auto* device = static_cast<Device*>(user);
  std::string text = fmt::format("[{}] {}",
                                 severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT
                                     ? "validation error"
                                     : "validation warning",
                                 data->pMessage ? data->pMessage : "");
  std::lock_guard<std::mutex> lock(device->messages_mutex_);
  device->messages_.push_back(std::move(text));
  return VK_FALSE;
}

const char* device_type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
  }
}

std::string api_version_string(std::uint32_t v) {
  return fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
                     VK_API_VERSION_PATCH(v));
}

std::uint32_t loader_api_version() {
  std::uint32_t v = 0;
  check(vkEnumerateInstanceVersion(&v), "vkEnumerateInstanceVersion");
  return v;
}

std::vector<DeviceInfo> Device::enumerate() {
  VkInstance instance = create_bare_instance(false, false, nullptr);
  std::vector<DeviceInfo> infos;
  try {
    auto devices = physical_devices(instance);
    for (std::uint32_t i = 0; i < devices.size(); ++i) infos.push_back(describe(devices[i], i));
  } catch (...) {
    vkDestroyInstance(instance, nullptr);
    throw;
  }
  vkDestroyInstance(instance, nullptr);
  return infos;
}

Device::Device(const DeviceOptions& options) : use_pipeline_cache_(options.pipeline_cache) {
  try {
    pipeline_threads_ = options.pipeline_threads != 0 ? options.pipeline_threads : pipeline_threads_from_environment();
    if (options.memory_cap) {
      memory_cap_ = *options.memory_cap;
    } else if (injected_faults().device_memory_bytes) {
      memory_cap_ = *injected_faults().device_memory_bytes;
    }
    create_instance(options.validation, options.instance_extensions);
    pick_physical_device(options);
    create_logical_device();
    load_pipeline_cache();
    arena_ = std::make_unique<MemoryArena>(*this);
  } catch (...) {
    release();  // the destructor does not run for a constructor that throws
    throw;
  }
}

namespace {
std::atomic<std::size_t> g_teardown_messages{0};
}  // namespace

std::size_t Device::take_validation_messages_at_teardown() { return g_teardown_messages.exchange(0); }

Device::~Device() { release(); }

void Device::release() {
  std::size_t seen = 0;
  {
    std::lock_guard<std::mutex> lock(messages_mutex_);
    seen = messages_.size();
  }
  if (device_ != VK_NULL_HANDLE) {
    vkDeviceWaitIdle(device_);
    placeholder_.reset();
    pipeline_builders_.reset();  // drops queued builds, ends running ones: none outlives its kernel
    kernels_.clear();
    failed_kernels_.clear();
    arena_.reset();
    // What a lost device hands back may be garbage: keep the cache file it loaded from.
    if (!lost_) save_pipeline_cache();
    if (pipeline_cache_) vkDestroyPipelineCache(device_, pipeline_cache_, nullptr);
    if (command_pool_) vkDestroyCommandPool(device_, command_pool_, nullptr);
    vkDestroyDevice(device_, nullptr);
    device_ = VK_NULL_HANDLE;
  }
  if (instance_ != VK_NULL_HANDLE) {
    if (messenger_) {
      auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
          vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
      if (destroy) destroy(instance_, messenger_, nullptr);
      messenger_ = VK_NULL_HANDLE;
    }
    vkDestroyInstance(instance_, nullptr);
    instance_ = VK_NULL_HANDLE;
  }
  std::lock_guard<std::mutex> lock(messages_mutex_);
  for (std::size_t i = seen; i < messages_.size(); ++i) {
    std::fprintf(stderr, "fusescope: while the device was destroyed: %s\n", messages_[i].c_str());
    g_teardown_messages.fetch_add(1);
  }
}

void Device::create_instance(bool validation, const std::vector<std::string>& extra_extensions) {
  if (validation && !has_layer(kValidationLayer)) {
    throw std::runtime_error(
        "the Vulkan validation layer (VK_LAYER_KHRONOS_validation) was requested but is not "
        "installed; on Debian: apt-get install vulkan-validationlayers");
  }
  validation_ = validation;
  debug_utils_ = has_instance_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);

  VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT;
  mi.pfnUserCallback = debug_callback;
  mi.pUserData = this;
  bool capture = validation_ && debug_utils_;

  instance_ = create_bare_instance(validation_, debug_utils_, capture ? &mi : nullptr,
                                   extra_extensions);
  if (capture) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkCreateDebugUtilsMessengerEXT"));
    if (create == nullptr) throw std::runtime_error("vkCreateDebugUtilsMessengerEXT not found");
    check(create(instance_, &mi, nullptr, &messenger_), "vkCreateDebugUtilsMessengerEXT");
  }
  if (debug_utils_) {
    set_object_name_ = reinterpret_cast<PFN_vkSetDebugUtilsObjectNameEXT>(
        vkGetInstanceProcAddr(instance_, "vkSetDebugUtilsObjectNameEXT"));
    begin_label_ = reinterpret_cast<PFN_vkCmdBeginDebugUtilsLabelEXT>(
        vkGetInstanceProcAddr(instance_, "vkCmdBeginDebugUtilsLabelEXT"));
    end_label_ = reinterpret_cast<PFN_vkCmdEndDebugUtilsLabelEXT>(
        vkGetInstanceProcAddr(instance_, "vkCmdEndDebugUtilsLabelEXT"));
  }
}

void Device::pick_physical_device(const DeviceOptions& options) {
  auto devices = physical_devices(instance_);
  std::optional<std::uint32_t> wanted = options.index;
  if (!wanted) wanted = device_index_from_environment(devices.size());
  present_ = static_cast<bool>(options.present_support);
  auto family_of = [&](VkPhysicalDevice d) {
    return present_ ? present_queue_family(instance_, d, options.present_support)
                    : compute_queue_family(d);
  };
  auto names = [&] {
    std::string list;
    for (std::uint32_t i = 0; i < devices.size(); ++i) {
      VkPhysicalDeviceProperties p;
      vkGetPhysicalDeviceProperties(devices[i], &p);
      list += fmt::format("{}{} ({})", i ? ", " : "", i, p.deviceName);
    }
    return list;
  };
  std::uint32_t chosen = 0;
  if (!wanted && present_) {
    bool any = false;
    for (VkPhysicalDevice d : devices) any = any || family_of(d) != UINT32_MAX;
    if (!any) {
      throw NoVulkanDevice(fmt::format(
          "no Vulkan device can present to this window (a graphics+compute queue that can "
          "present, and VK_KHR_swapchain); devices: {}",
          names()));
    }
  }
  if (wanted) {
    if (*wanted >= devices.size()) {
      throw std::invalid_argument(fmt::format(
          "device {} does not exist: {} Vulkan device(s) are present (0..{}); "
          "`fusescope devices` lists them",
          *wanted, devices.size(), devices.size() - 1));
    }
    chosen = *wanted;
  } else {
    int best = 1 << 30;
    for (std::uint32_t i = 0; i < devices.size(); ++i) {
      VkPhysicalDeviceProperties p;
      vkGetPhysicalDeviceProperties(devices[i], &p);
      if (family_of(devices[i]) == UINT32_MAX) continue;
      if (type_rank(p.deviceType) < best) {
        best = type_rank(p.deviceType);
        chosen = i;
      }
    }
  }
  physical_ = devices[chosen];
  info_ = describe(physical_, chosen);
  queue_family_ = family_of(physical_);
  if (queue_family_ == UINT32_MAX && present_) {
    throw NoVulkanDevice(fmt::format(
        "device {} ({}) cannot present to this window (no graphics+compute queue that can "
        "present, or no VK_KHR_swapchain); devices: {}",
        chosen, info_.name, names()));
  }
  if (queue_family_ == UINT32_MAX) {
    throw NoVulkanDevice(fmt::format("device {} ({}) has no compute queue", chosen, info_.name));
  }
  if (info_.api_version < VK_API_VERSION_1_1) {
    throw NoVulkanDevice(fmt::format("device {} ({}) supports Vulkan {} only; fusescope needs 1.1",
                                     chosen, info_.name, api_version_string(info_.api_version)));
  }
}

void Device::create_logical_device() {
  float priority = 1.0f;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = queue_family_;
  qi.queueCount = 1;
  qi.pQueuePriorities = &priority;

  // Enable the 16-bit features the device has, so later fp16 kernels can use them.
  VkPhysicalDeviceShaderFloat16Int8Features f16{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  f16.shaderFloat16 = info_.fp16_arithmetic ? VK_TRUE : VK_FALSE;
  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  s16.storageBuffer16BitAccess = info_.storage_16bit ? VK_TRUE : VK_FALSE;
  s16.pNext = &f16;
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &s16;

  std::vector<const char*> extensions;
  if (info_.fp16_arithmetic && info_.api_version < VK_API_VERSION_1_2)
    extensions.push_back(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
  if (present_) extensions.push_back(VK_KHR_SWAPCHAIN_EXTENSION_NAME);

  VkDeviceCreateInfo ci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  ci.pNext = &features;
  ci.queueCreateInfoCount = 1;
  ci.pQueueCreateInfos = &qi;
  ci.enabledExtensionCount = static_cast<std::uint32_t>(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  check(vkCreateDevice(physical_, &ci, nullptr, &device_), "vkCreateDevice");
  vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = queue_family_;
  check(vkCreateCommandPool(device_, &pi, nullptr, &command_pool_), "vkCreateCommandPool");
}

void Device::load_pipeline_cache() {
  std::vector<std::byte> data;
  if (use_pipeline_cache_) data = read_pipeline_cache_file(info_, physical_);
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = data.size();
  ci.pInitialData = data.empty() ? nullptr : data.data();
  if (vkCreatePipelineCache(device_, &ci, nullptr, &pipeline_cache_) != VK_SUCCESS) {
    // A cache the driver rejects is only a slower start: begin with an empty one.
    ci.initialDataSize = 0;
    ci.pInitialData = nullptr;
    check(vkCreatePipelineCache(device_, &ci, nullptr, &pipeline_cache_), "vkCreatePipelineCache");
  }
}

void Device::save_pipeline_cache() {
  if (!use_pipeline_cache_ || pipeline_cache_ == VK_NULL_HANDLE) return;
  std::size_t size = 0;
  if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, nullptr) != VK_SUCCESS || size == 0)
    return;
  std::vector<std::byte> data(size);
  if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, data.data()) != VK_SUCCESS) return;
  data.resize(size);
  write_pipeline_cache_file(info_, physical_, data);
}

std::vector<std::string> Device::validation_messages() const {
  std::lock_guard<std::mutex> lock(messages_mutex_);
  return messages_;
}

void Device::clear_validation_messages() {
  std::lock_guard<std::mutex> lock(messages_mutex_);
  messages_.clear();
}

Buffer Device::allocate(std::uint64_t bytes, const std::string& name) {
  return arena_->allocate(bytes, name);
}

const Kernel& Device::kernel(const KernelSpec& spec) {
  // Workers record on their own threads (the window's study and its camera at once): the
  // cache is shared, and a pipeline is built once whoever asks first.
  std::lock_guard<std::mutex> lock(kernels_mutex_);
  auto it = kernels_.find(spec);
  if (it != kernels_.end()) return *it->second;
  auto kernel = std::make_unique<Kernel>(*this, spec);
  const Kernel* ref = kernel.get();
  kernels_.emplace(spec, std::move(kernel));
  if (!pipeline_builders_) pipeline_builders_ = std::make_unique<WorkerPool>(pipeline_threads_);
  pipeline_builders_->post([ref] { ref->build(); });
  return *ref;
}

void Device::forget_failed_kernels() {
  std::lock_guard<std::mutex> lock(kernels_mutex_);
  for (auto it = kernels_.begin(); it != kernels_.end();) {
    if (it->second->failed()) {
      failed_kernels_.push_back(std::move(it->second));
      it = kernels_.erase(it);
    } else {
      ++it;
    }
  }
}

Device::PipelineStats Device::pipeline_stats() const {
  std::lock_guard<std::mutex> lock(kernels_mutex_);
  PipelineStats stats;
  stats.threads = pipeline_builders_ ? pipeline_builders_->thread_count() : 0;
  auto count = [&](const Kernel& k) {
    const double ms = k.build_ms();
    if (ms > 0 || k.failed()) {
      ++stats.built;
      stats.driver_ms += ms;
    }
  };
  for (const auto& [spec, k] : kernels_) count(*k);
  for (const auto& k : failed_kernels_) count(*k);
  return stats;
}

BufferView Device::placeholder_buffer() {
  std::lock_guard<std::mutex> lock(kernels_mutex_);
  if (!placeholder_) placeholder_ = allocate(16, "unused-binding");
  return placeholder_->view();
}

void Device::set_debug_name(VkObjectType type, std::uint64_t handle, const std::string& name) const {
  if (set_object_name_ == nullptr || handle == 0) return;
  VkDebugUtilsObjectNameInfoEXT ni{VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT};
  ni.objectType = type;
  ni.objectHandle = handle;
  ni.pObjectName = name.c_str();
  set_object_name_(device_, &ni);
}

void Device::begin_label(VkCommandBuffer cmd, const std::string& label) const {
  if (begin_label_ == nullptr || end_label_ == nullptr) return;
  VkDebugUtilsLabelEXT li{VK_STRUCTURE_TYPE_DEBUG_UTILS_LABEL_EXT};
  li.pLabelName = label.c_str();
  begin_label_(cmd, &li);
}

void Device::end_label(VkCommandBuffer cmd) const {
  if (begin_label_ == nullptr || end_label_ == nullptr) return;
  end_label_(cmd);
}

void Device::submit_and_wait(const std::function<void(VkCommandBuffer)>& record) {
  // The pool's lock covers allocating, recording and freeing (a pool and its buffers are
  // externally synchronised); the queue's lock covers the submit only; the wait holds neither.
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  auto cleanup = [&] {
    if (fence) vkDestroyFence(device_, fence, nullptr);
    std::lock_guard<std::mutex> pool_lock(command_pool_mutex_);
    if (cmd) vkFreeCommandBuffers(device_, command_pool_, 1, &cmd);
  };
  try {
    {
      std::lock_guard<std::mutex> pool_lock(command_pool_mutex_);
      VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
      ai.commandPool = command_pool_;
      ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
      ai.commandBufferCount = 1;
      check(vkAllocateCommandBuffers(device_, &ai, &cmd), "vkAllocateCommandBuffers");
      VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
      bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
      check(vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
      record(cmd);
      check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
    }
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(vkCreateFence(device_, &fi, nullptr, &fence), "vkCreateFence");
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    queue_submit(si, fence, "vkQueueSubmit");
    check(vkWaitForFences(device_, 1, &fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  } catch (...) {
    cleanup();
    throw;
  }
  cleanup();
}

bool Device::take_pipeline_fault() {
  // Both are asked, so the process-wide count advances on every creation.
  const bool injected = injected_pipeline_failure_at_this_create();
  return fail_next_pipeline_.exchange(false) || injected;
}

void Device::queue_submit(const VkSubmitInfo& submit, VkFence fence, const std::string& what) {
  auto queue_lock = lock_queue();
  if (lost_ || lose_next_.exchange(false) || injected_device_lost_at_this_submit()) {
    // The batch's semaphores and fence still move as if it ran (waits would otherwise hang on
    // a device that, in truth, is fine); its commands never run.
    VkSubmitInfo empty = submit;
    empty.commandBufferCount = 0;
    empty.pCommandBuffers = nullptr;
    vkQueueSubmit(queue_, 1, &empty, fence);
    lost_ = true;
    check(VK_ERROR_DEVICE_LOST, what.c_str());
  }
  const VkResult r = vkQueueSubmit(queue_, 1, &submit, fence);
  if (r == VK_ERROR_DEVICE_LOST) lost_ = true;
  check(r, what.c_str());
}

Device::Staging Device::create_staging(std::uint64_t bytes) {
  Staging s;
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = bytes;
  bi.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(device_, &bi, nullptr, &s.buffer), "vkCreateBuffer (staging)");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device_, s.buffer, &req);
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(physical_, &mp);
  std::uint32_t type = UINT32_MAX;
  const VkMemoryPropertyFlags want =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  for (std::uint32_t i = 0; i < mp.memoryTypeCount; ++i) {
    if ((req.memoryTypeBits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want) {
      type = i;
      break;
    }
  }
  if (type == UINT32_MAX) {
    vkDestroyBuffer(device_, s.buffer, nullptr);
    throw std::runtime_error("device has no host-visible coherent memory for staging");
  }
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = type;
  VkResult r = vkAllocateMemory(device_, &ai, nullptr, &s.memory);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(device_, s.buffer, nullptr);
    check(r, "vkAllocateMemory (staging)");
  }
  check(vkBindBufferMemory(device_, s.buffer, s.memory, 0), "vkBindBufferMemory (staging)");
  check(vkMapMemory(device_, s.memory, 0, VK_WHOLE_SIZE, 0, &s.mapped), "vkMapMemory (staging)");
  return s;
}

void Device::destroy_staging(Staging& s) {
  if (s.memory) vkFreeMemory(device_, s.memory, nullptr);  // unmaps implicitly
  if (s.buffer) vkDestroyBuffer(device_, s.buffer, nullptr);
  s = {};
}

void Device::upload(const BufferView& dst, std::span<const std::byte> bytes) {
  if (bytes.size() > dst.size) {
    throw std::invalid_argument(
        fmt::format("upload of {} bytes does not fit a buffer of {} bytes", bytes.size(), dst.size));
  }
  if (bytes.empty()) return;
  Staging s = create_staging(bytes.size());
  try {
    std::memcpy(s.mapped, bytes.data(), bytes.size());
    submit_and_wait([&](VkCommandBuffer cmd) {
      VkBufferCopy region{0, dst.offset, bytes.size()};
      vkCmdCopyBuffer(cmd, s.buffer, dst.handle, 1, &region);
      // Make the copy visible to every later compute or transfer access.
      VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
      mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
      mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                         VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                           1, &mb, 0, nullptr, 0, nullptr);
    });
  } catch (...) {
    destroy_staging(s);
    throw;
  }
  destroy_staging(s);
}

void Device::download(const BufferView& src, std::span<std::byte> bytes) {
  if (bytes.size() > src.size) {
    throw std::invalid_argument(
        fmt::format("download of {} bytes exceeds a buffer of {} bytes", bytes.size(), src.size));
  }
  if (bytes.empty()) return;
  Staging s = create_staging(bytes.size());
  try {
    submit_and_wait([&](VkCommandBuffer cmd) {
      VkMemoryBarrier before{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
      before.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
      before.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                           VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, nullptr, 0, nullptr);
      VkBufferCopy region{src.offset, 0, bytes.size()};
      vkCmdCopyBuffer(cmd, src.handle, s.buffer, 1, &region);
      VkMemoryBarrier after{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
      after.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
      after.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                           &after, 0, nullptr, 0, nullptr);
    });
    std::memcpy(bytes.data(), s.mapped, bytes.size());
  } catch (...) {
    destroy_staging(s);
    throw;
  }
  destroy_staging(s);
}

}  // namespace fusescope::gpu
