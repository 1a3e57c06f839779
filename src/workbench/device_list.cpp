#include "workbench/device_list.hpp"

#include <nlohmann/json.hpp>

namespace fusescope::workbench {

namespace {

nlohmann::json to_json(const gpu::DeviceInfo& d) {
  nlohmann::json heaps = nlohmann::json::array();
  for (const auto& h : d.heaps) heaps.push_back({{"bytes", h.bytes}, {"device_local", h.device_local}});
  return {{"index", d.index},
          {"name", d.name},
          {"type", gpu::device_type_name(d.type)},
          {"driver", d.driver_name},
          {"driver_info", d.driver_info},
          {"api_version", gpu::api_version_string(d.api_version)},
          {"fp16_arithmetic", d.fp16_arithmetic},
          {"storage_16bit", d.storage_16bit},
          {"subgroup_size", d.subgroup_size},
          {"timestamps", d.timestamps},
          {"timestamp_period_ns", d.timestamp_period_ns},
          {"max_storage_buffer_bytes", d.max_storage_buffer_range},
          {"loop_iteration_limit", d.loop_iteration_limit},
          {"memory_heaps", heaps}};
}

}  // namespace

std::string device_json(const gpu::DeviceInfo& device, int indent) { return to_json(device).dump(indent); }

std::string devices_json(const std::vector<gpu::DeviceInfo>& devices, int indent) {
  nlohmann::json list = nlohmann::json::array();
  for (const gpu::DeviceInfo& d : devices) list.push_back(to_json(d));
  return nlohmann::json{{"devices", list}}.dump(indent);
}

}  // namespace fusescope::workbench
