#include "graph/conv_autotune_cache.hpp"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

namespace fusescope::graph {

namespace {

constexpr const char* kFormat = "fusescope conv autotune";
constexpr int kVersion = 1;

using nlohmann::json;

// The file's JSON when it is an autotune cache; nothing when there is no file. Throws
// std::runtime_error saying what is wrong with a file that is there but is not one.
std::optional<json> read_cache_json(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot be opened");
  std::stringstream text;
  text << in.rdbuf();
  json j;
  try {
    j = json::parse(text.str());
  } catch (const json::exception& e) {
    throw std::runtime_error(fmt::format("is not JSON ({})", e.what()));
  }
  if (!j.is_object() || j.value("format", "") != kFormat || !j.contains("devices") || !j["devices"].is_object())
    throw std::runtime_error(fmt::format("is not a {} file", kFormat));
  if (j.value("version", 0) != kVersion)
    throw std::runtime_error(fmt::format("is version {} of the format; this fusescope reads {}", j.value("version", 0), kVersion));
  return j;
}

ConvAutotuneEntry entry_from_json(const json& j) {
  ConvAutotuneEntry e;
  e.winner = j.at("algorithm").get<std::string>();
  if (j.contains("ms"))
    for (const auto& [name, ms] : j.at("ms").items()) e.ms[name] = ms.get<double>();
  if (j.contains("refused"))
    for (const auto& [name, why] : j.at("refused").items()) e.refused[name] = why.get<std::string>();
  return e;
}

json entry_to_json(const ConvAutotuneEntry& e) {
  json j{{"algorithm", e.winner}, {"ms", json::object()}};
  for (const auto& [name, ms] : e.ms) j["ms"][name] = ms;
  if (!e.refused.empty())
    for (const auto& [name, why] : e.refused) j["refused"][name] = why;
  return j;
}

}  // namespace

std::filesystem::path conv_autotune_cache_path() { return gpu::cache_directory() / "conv_autotune.json"; }

ConvAutotuneCache::ConvAutotuneCache(std::filesystem::path path, gpu::DeviceIdentity identity, std::string device_name)
    : path_(std::move(path)), identity_(std::move(identity)), device_name_(std::move(device_name)) {
  try {
    const std::optional<json> j = read_cache_json(path_);
    if (!j || !(*j)["devices"].contains(identity_.uuid)) return;
    const json& device = (*j)["devices"][identity_.uuid];
    const auto driver = device.value("driver_version", std::uint32_t{0});
    const std::string version = device.value("fusescope_version", "");
    const std::string name = device.value("name", "");
    if (driver != identity_.driver_version || version != FUSESCOPE_VERSION || name != device_name_) {
      warning_ = fmt::format("{}: this device's winners were measured on '{}', driver version {:#x}, fusescope {}; "
                             "this is '{}', driver version {:#x}, fusescope {}: timing again",
                             path_.string(), name, driver, version.empty() ? "?" : version, device_name_,
                             identity_.driver_version, FUSESCOPE_VERSION);
      return;
    }
    for (const auto& [key, entry] : device.at("convs").items()) entries_[key] = entry_from_json(entry);
  } catch (const std::exception& e) {
    entries_.clear();
    warning_ = fmt::format("{} {}: ignored, and replaced when winners are saved", path_.string(), e.what());
  }
}

const ConvAutotuneEntry* ConvAutotuneCache::find(const std::string& key) const {
  const auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

void ConvAutotuneCache::put(const std::string& key, ConvAutotuneEntry entry) { entries_[key] = std::move(entry); }

std::string ConvAutotuneCache::save() const {
  auto merge_into = [this](json j) {
    if (j.is_null()) j = json{{"format", kFormat}, {"version", kVersion}, {"devices", json::object()}};
    json& device = j["devices"][identity_.uuid];
    const bool same_build = device.is_object() && device.value("driver_version", std::uint32_t{0}) == identity_.driver_version &&
                            device.value("fusescope_version", "") == FUSESCOPE_VERSION &&
                            device.value("name", "") == device_name_ && device.contains("convs") &&
                            device["convs"].is_object();
    if (!same_build) device = json{{"convs", json::object()}};
    device["name"] = device_name_;
    device["driver_version"] = identity_.driver_version;
    device["fusescope_version"] = FUSESCOPE_VERSION;
    for (const auto& [key, entry] : entries_) device["convs"][key] = entry_to_json(entry);
    return j;
  };
  json j;
  try {
    std::optional<json> now = read_cache_json(path_);
    j = merge_into(now ? std::move(*now) : json());
  } catch (const std::exception&) {
    // Unreadable, or a device entry of the wrong shape (the constructor warned, or it broke
    // since): replaced by a file of this device's entries.
    j = merge_into(json());
  }
  const std::string text = j.dump(2) + "\n";
  return gpu::write_cache_file(path_, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

}  // namespace fusescope::graph
