#include "vision/decoder_config.hpp"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace fusescope::vision {

namespace {

using nlohmann::json;

// Messages name the file and the JSON path of the field, so a user can go straight to it.
struct Reader {
  std::string where;

  [[noreturn]] void fail(const std::string& path, const std::string& why) const {
    throw ops::InvalidArgument(fmt::format("{}: {}: {}", where, path, why));
  }

  void only_keys(const json& j, const std::string& path, std::set<std::string> allowed) const {
    for (const auto& [key, value] : j.items()) {
      if (!allowed.count(key)) {
        std::string list;
        for (const auto& a : allowed) list += fmt::format("{}{}", list.empty() ? "" : ", ", a);
        fail(path.empty() ? key : path + "." + key, fmt::format("unknown key (expected one of {})", list));
      }
    }
  }

  const json& object(const json& j, const std::string& path) const {
    if (!j.is_object()) fail(path, fmt::format("expected an object, got {}", j.dump()));
    return j;
  }

  double number(const json& j, const std::string& path) const {
    if (!j.is_number()) fail(path, fmt::format("expected a number, got {}", j.dump()));
    return j.get<double>();
  }

  std::int64_t integer(const json& j, const std::string& path) const {
    if (!j.is_number_integer()) fail(path, fmt::format("expected an integer, got {}", j.dump()));
    return j.get<std::int64_t>();
  }

  bool boolean(const json& j, const std::string& path) const {
    if (!j.is_boolean()) fail(path, fmt::format("expected true or false, got {}", j.dump()));
    return j.get<bool>();
  }

  std::string string(const json& j, const std::string& path) const {
    if (!j.is_string()) fail(path, fmt::format("expected a string, got {}", j.dump()));
    return j.get<std::string>();
  }

  template <class E>
  E choice(const json& j, const std::string& path, std::initializer_list<std::pair<const char*, E>> options) const {
    const std::string s = string(j, path);
    std::string list;
    for (const auto& [name, value] : options) {
      if (s == name) return value;
      list += fmt::format("{}{}", list.empty() ? "" : ", ", name);
    }
    fail(path, fmt::format("'{}': expected one of {}", s, list));
  }

  std::array<float, 3> triple(const json& j, const std::string& path) const {
    if (!j.is_array() || j.size() != 3) fail(path, fmt::format("expected 3 numbers, got {}", j.dump()));
    std::array<float, 3> t{};
    for (std::size_t i = 0; i < 3; ++i) {
      const std::string at = fmt::format("{}[{}]", path, i);
      const double v = number(j[i], at);
      // Converting a double beyond float's range is undefined behaviour, not infinity.
      if (!(std::abs(v) <= std::numeric_limits<float>::max())) fail(at, fmt::format("{}: beyond a float's range", v));
      t[i] = static_cast<float>(v);
    }
    return t;
  }

  Activation activation(const json& j, const std::string& path) const {
    return choice<Activation>(j, path, {{"none", Activation::none}, {"sigmoid", Activation::sigmoid}, {"exp", Activation::exp}});
  }
};

void read_input(const Reader& r, const json& j, DecoderConfig& c) {
  r.object(j, "input");
  r.only_keys(j, "input", {"name", "width", "height", "order", "fit", "pad", "mean", "std", "scale"});
  if (j.contains("name")) c.input_name = r.string(j["name"], "input.name");
  for (const char* key : {"width", "height"}) {
    if (!j.contains(key)) continue;
    const std::int64_t v = r.integer(j[key], fmt::format("input.{}", key));
    if (v <= 0) r.fail(fmt::format("input.{}", key), fmt::format("{}: expected a positive size", v));
    (std::string(key) == "width" ? c.input_width : c.input_height) = v;
  }
  if (j.contains("order"))
    c.order = r.choice<ops::PixelOrder>(j["order"], "input.order", {{"rgb", ops::PixelOrder::rgb}, {"bgr", ops::PixelOrder::bgr}});
  if (j.contains("fit"))
    c.fit = r.choice<ops::ResizeFit>(j["fit"], "input.fit",
                                     {{"letterbox", ops::ResizeFit::letterbox}, {"stretch", ops::ResizeFit::stretch}});
  if (j.contains("pad")) {
    const double pad = r.number(j["pad"], "input.pad");
    if (pad < 0 || pad > 255) r.fail("input.pad", fmt::format("{}: expected 0..255", pad));
    c.pad_value = static_cast<float>(pad);
  }
  if (j.contains("mean")) c.mean = r.triple(j["mean"], "input.mean");
  if (j.contains("std")) {
    c.std = r.triple(j["std"], "input.std");
    for (std::size_t i = 0; i < 3; ++i)
      if (c.std[i] == 0.0f) r.fail(fmt::format("input.std[{}]", i), "a zero std divides by zero");
  }
  if (j.contains("scale")) c.scale_255 = r.choice<bool>(j["scale"], "input.scale", {{"unit", false}, {"255", true}});
}

void read_outputs(const Reader& r, const json& j, DecoderConfig& c) {
  if (!j.is_array() || j.empty()) r.fail("outputs", fmt::format("expected a non-empty array, got {}", j.dump()));
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string path = fmt::format("outputs[{}]", i);
    r.object(j[i], path);
    r.only_keys(j[i], path, {"name", "stride", "strides", "anchors"});
    DecoderOutput o;
    if (!j[i].contains("name")) r.fail(path, "missing \"name\" (the ONNX output's name)");
    o.name = r.string(j[i]["name"], path + ".name");
    if (j[i].contains("stride") == j[i].contains("strides"))
      r.fail(path, "give either \"stride\" (one) or \"strides\" (several, rows/columns layouts)");
    if (j[i].contains("stride")) {
      o.strides.push_back(r.integer(j[i]["stride"], path + ".stride"));
    } else {
      const json& s = j[i]["strides"];
      if (!s.is_array() || s.empty()) r.fail(path + ".strides", fmt::format("expected a non-empty array, got {}", s.dump()));
      for (std::size_t k = 0; k < s.size(); ++k) o.strides.push_back(r.integer(s[k], fmt::format("{}.strides[{}]", path, k)));
    }
    for (std::size_t k = 0; k < o.strides.size(); ++k)
      if (o.strides[k] <= 0) r.fail(fmt::format("{}.strides[{}]", path, k), fmt::format("{}: expected a positive stride", o.strides[k]));
    if (j[i].contains("anchors") && !j[i]["anchors"].is_null()) {
      // One list of (w, h) pairs per stride; every stride has the same count.
      const json& a = j[i]["anchors"];
      const std::string ap = path + ".anchors";
      if (!a.is_array() || a.size() != o.strides.size())
        r.fail(ap, fmt::format("expected one list of [w, h] pairs per stride ({}), got {}", o.strides.size(), a.dump()));
      for (std::size_t k = 0; k < a.size(); ++k) {
        const std::string sp = fmt::format("{}[{}]", ap, k);
        if (!a[k].is_array() || a[k].empty()) r.fail(sp, fmt::format("expected a non-empty list of [w, h] pairs, got {}", a[k].dump()));
        std::vector<std::array<double, 2>> list;
        for (std::size_t m = 0; m < a[k].size(); ++m) {
          const std::string mp = fmt::format("{}[{}]", sp, m);
          if (!a[k][m].is_array() || a[k][m].size() != 2) r.fail(mp, fmt::format("expected [w, h], got {}", a[k][m].dump()));
          const double w = r.number(a[k][m][0], mp + "[0]"), h = r.number(a[k][m][1], mp + "[1]");
          if (w <= 0 || h <= 0) r.fail(mp, fmt::format("[{}, {}]: anchor sizes must be positive", w, h));
          list.push_back({w, h});
        }
        if (k > 0 && list.size() != o.anchors[0].size())
          r.fail(sp, fmt::format("{} anchors where stride {} has {}: every stride needs the same count", list.size(),
                                 o.strides[0], o.anchors[0].size()));
        o.anchors.push_back(std::move(list));
      }
    }
    c.outputs.push_back(std::move(o));
  }
}

void read_box(const Reader& r, const json& j, DecoderConfig& c) {
  r.object(j, "box");
  r.only_keys(j, "box", {"format", "units", "activation"});
  if (!j.contains("format")) r.fail("box", "missing \"format\" (ltrb, cxcywh, xywh or xyxy)");
  c.box_format = r.choice<BoxFormat>(
      j["format"], "box.format",
      {{"ltrb", BoxFormat::ltrb}, {"cxcywh", BoxFormat::cxcywh}, {"xywh", BoxFormat::xywh}, {"xyxy", BoxFormat::xyxy}});
  if (j.contains("units"))
    c.box_units = r.choice<BoxUnits>(j["units"], "box.units", {{"grid", BoxUnits::grid}, {"pixels", BoxUnits::pixels}});
  if (j.contains("activation")) {
    const json& a = j["activation"];
    if (a.is_array()) {
      if (a.size() != 4) r.fail("box.activation", fmt::format("expected one name or 4 (one per box value), got {}", a.dump()));
      for (std::size_t k = 0; k < 4; ++k) c.box_activation[k] = r.activation(a[k], fmt::format("box.activation[{}]", k));
    } else {
      c.box_activation.fill(r.activation(a, "box.activation"));
    }
  }
}

}  // namespace

std::int64_t DecoderConfig::anchors_per_cell(std::size_t output, std::size_t stride_index) const {
  const DecoderOutput& o = outputs.at(output);
  return o.anchors.empty() ? 1 : static_cast<std::int64_t>(o.anchors.at(stride_index).size());
}

const char* to_string(OutputLayout layout) {
  switch (layout) {
    case OutputLayout::nchw: return "nchw";
    case OutputLayout::rows: return "rows";
    case OutputLayout::columns: return "columns";
  }
  return "?";
}

const char* to_string(BoxFormat format) {
  switch (format) {
    case BoxFormat::ltrb: return "ltrb";
    case BoxFormat::cxcywh: return "cxcywh";
    case BoxFormat::xywh: return "xywh";
    case BoxFormat::xyxy: return "xyxy";
  }
  return "?";
}

const char* to_string(BoxUnits units) { return units == BoxUnits::grid ? "grid" : "pixels"; }

const char* to_string(Activation activation) {
  switch (activation) {
    case Activation::none: return "none";
    case Activation::sigmoid: return "sigmoid";
    case Activation::exp: return "exp";
  }
  return "?";
}

DecoderConfig parse_decoder_config(const std::string& json_text, const std::string& where) {
  const Reader r{where};
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e99999
    throw ops::InvalidArgument(fmt::format("{}: not valid JSON: {}", where, e.what()));
  }
  if (!j.is_object()) throw ops::InvalidArgument(fmt::format("{}: expected a JSON object at the top", where));
  r.only_keys(j, "", {"about", "input", "outputs", "layout", "box", "objectness", "score_activation", "classes",
                      "score_threshold", "iou_threshold", "class_aware", "top_k"});
  DecoderConfig c;
  if (j.contains("input")) read_input(r, j["input"], c);
  if (!j.contains("outputs")) r.fail("outputs", "missing (the ONNX outputs to decode, with their strides)");
  read_outputs(r, j["outputs"], c);
  if (j.contains("layout"))
    c.layout = r.choice<OutputLayout>(j["layout"], "layout",
                                      {{"nchw", OutputLayout::nchw}, {"rows", OutputLayout::rows}, {"columns", OutputLayout::columns}});
  if (!j.contains("box")) r.fail("box", "missing (format, units, activation of the box values)");
  read_box(r, j["box"], c);
  if (j.contains("objectness")) c.objectness = r.boolean(j["objectness"], "objectness");
  if (j.contains("score_activation")) {
    c.score_activation = r.activation(j["score_activation"], "score_activation");
    if (c.score_activation == Activation::exp) r.fail("score_activation", "'exp': expected none or sigmoid");
  }
  if (!j.contains("classes")) r.fail("classes", "missing (the class names, in class-id order)");
  const json& classes = j["classes"];
  if (!classes.is_array() || classes.empty()) r.fail("classes", fmt::format("expected a non-empty array of names, got {}", classes.dump()));
  for (std::size_t k = 0; k < classes.size(); ++k) c.classes.push_back(r.string(classes[k], fmt::format("classes[{}]", k)));
  for (const char* key : {"score_threshold", "iou_threshold"}) {
    if (!j.contains(key)) continue;
    const double v = r.number(j[key], key);
    if (v < 0 || v > 1) r.fail(key, fmt::format("{}: expected 0..1", v));
    (std::string(key) == "score_threshold" ? c.score_threshold : c.iou_threshold) = v;
  }
  if (j.contains("class_aware")) c.class_aware = r.boolean(j["class_aware"], "class_aware");
  if (j.contains("top_k")) {
    c.top_k = r.integer(j["top_k"], "top_k");
    if (c.top_k == 0 || c.top_k < -1) r.fail("top_k", fmt::format("{}: expected a positive count or -1 (no limit)", c.top_k));
  }

  // Combinations that have no meaning.
  for (std::size_t i = 0; i < c.outputs.size(); ++i) {
    const DecoderOutput& o = c.outputs[i];
    if (c.layout == OutputLayout::nchw && o.strides.size() != 1)
      r.fail(fmt::format("outputs[{}].strides", i), "the nchw layout has one output per stride; give \"stride\"");
    if (!o.anchors.empty() && c.box_format == BoxFormat::ltrb)
      r.fail(fmt::format("outputs[{}].anchors", i), "ltrb boxes are distances from the cell, anchors have no part in them");
    if (!o.anchors.empty() && c.box_format == BoxFormat::xyxy)
      r.fail(fmt::format("outputs[{}].anchors", i), "xyxy boxes are corners, anchors have no part in them");
  }
  return c;
}

DecoderConfig load_decoder_config(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw ops::InvalidArgument(fmt::format("decoder config {}: {}", path.string(),
                                           std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ops::InvalidArgument(fmt::format("decoder config {}: cannot be opened for reading (permissions?)", path.string()));
  std::ostringstream s;
  s << in.rdbuf();
  if (!in.good() && !in.eof()) throw ops::InvalidArgument(fmt::format("decoder config {}: read failed", path.string()));
  return parse_decoder_config(s.str(), path.string());
}

}  // namespace fusescope::vision
