// The Vulkan devices as data: what `fusescope devices --json` prints and what the Python module's
// fusescope.devices() returns, written once so both faces list the same fields.
#pragma once
#include <string>
#include <vector>

#include "gpu/device.hpp"

namespace fusescope::workbench {

// One device as a JSON object: index, name, type, driver, driver_info, api_version,
// fp16_arithmetic, storage_16bit, subgroup_size, timestamps, timestamp_period_ns,
// max_storage_buffer_bytes, loop_iteration_limit, memory_heaps [{bytes, device_local}].
std::string device_json(const gpu::DeviceInfo& device, int indent = -1);

// {"devices": [ device_json(...) ... ]}; indent as nlohmann::json::dump's (-1: one line).
std::string devices_json(const std::vector<gpu::DeviceInfo>& devices, int indent = -1);

}  // namespace fusescope::workbench
