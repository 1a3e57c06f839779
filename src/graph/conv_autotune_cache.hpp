// What --autotune remembers (graph/conv_autotune.hpp): per device and driver build, how fast each
// conv algorithm ran each conv shape and which won, so a later run times only shapes it has not
// seen. One JSON file, conv_autotune.json in the cache directory (gpu::cache_directory, beside
// the pipeline caches), holding every device's entries:
//
//   {"format": "fusescope conv autotune", "version": 1,
//    "devices": {"<deviceUUID, 32 hex digits>": {
//       "name": "llvmpipe (LLVM 15.0.6, 256 bits)", "driver_version": 92282886,
//       "fusescope_version": "0.1.0",
//       "convs": {"<conv_shape_key>": {"algorithm": "subgroup",
//                                      "ms": {"direct": 21.0, "gemm": 63.1, "subgroup": 5.1, ...},
//                                      "refused": {"winograd": "why"}}}}}}
//
// A device's winners are used only under the device name, driver version and fusescope version
// they were measured with (a new driver or new kernels change the speeds; lavapipe reports
// driverVersion 1 and a deviceUUID made of the Mesa version, so its name, "llvmpipe (LLVM 15.0.6,
// 256 bits)", is what tells its compiler and vector width apart); other devices' entries are left
// as they are. A file that cannot be read as such a cache is ignored (warning() says why)
// and replaced at the next save; nothing here throws on a bad file.
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include "gpu/pipeline_cache_file.hpp"

namespace fusescope::graph {

struct ConvAutotuneEntry {
  std::string winner;                          // ops::to_string of the fastest algorithm
  std::map<std::string, double> ms;            // per algorithm that ran: its median GPU ms
  std::map<std::string, std::string> refused;  // per algorithm that refused the shape: why
};

// gpu::cache_directory() / "conv_autotune.json".
std::filesystem::path conv_autotune_cache_path();

class ConvAutotuneCache {
 public:
  // Reads `path`'s entries for the device `identity`, named `device_name` in the file.
  ConvAutotuneCache(std::filesystem::path path, gpu::DeviceIdentity identity, std::string device_name);

  const ConvAutotuneEntry* find(const std::string& key) const;
  void put(const std::string& key, ConvAutotuneEntry entry);

  // Writes this device's entries into the file as it is on disk now (so entries another process
  // saved meanwhile, for this device or others, are kept), atomically. Never throws: returns why
  // it could not, or "".
  std::string save() const;

  const std::filesystem::path& path() const { return path_; }
  // Why the file's entries for this device are not used (unreadable, not an autotune cache, made
  // under another driver version); "" when they are, or when there was no file.
  const std::string& warning() const { return warning_; }
  std::size_t size() const { return entries_.size(); }

 private:
  std::filesystem::path path_;
  gpu::DeviceIdentity identity_;
  std::string device_name_;
  std::map<std::string, ConvAutotuneEntry> entries_;
  std::string warning_;
};

}  // namespace fusescope::graph
