#include "model.hpp"

#include <pybind11/stl.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "errors.hpp"
#include "graph/executor.hpp"
#include "process_device.hpp"
#include "workbench/export_model.hpp"
#include "workbench/study.hpp"

namespace py = pybind11;

namespace fusescope::python {

namespace {

// os.fspath(obj): a str, or a path-like object's str; TypeError for anything else.
std::string fspath(const py::handle& obj) {
  return py::str(py::module_::import("os").attr("fspath")(obj)).cast<std::string>();
}

bool is_int(const py::handle& v) { return py::isinstance<py::int_>(v) && !py::isinstance<py::bool_>(v); }

std::int64_t int_option(const std::string& key, const py::handle& v) {
  if (!is_int(v)) throw py::type_error(fmt::format("load(): {} must be an int", key));
  return v.cast<std::int64_t>();
}

bool bool_option(const std::string& key, const py::handle& v) {
  if (!py::isinstance<py::bool_>(v)) throw py::type_error(fmt::format("load(): {} must be True or False", key));
  return v.cast<bool>();
}

template <class T>
std::vector<T> list_option(const std::string& key, const py::handle& v, std::size_t n) {
  if (py::isinstance<py::str>(v) || !py::isinstance<py::sequence>(v) || py::len(v) != n) {
    throw py::type_error(fmt::format("load(): {} must be a sequence of {} numbers", key, n));
  }
  std::vector<T> values;
  for (const py::handle item : v) values.push_back(item.cast<T>());
  return values;
}

// A shape or size as the CLI's text ("1x3x224x224", "224x224"): a str stays as given; a number or a
// sequence of numbers is joined with 'x', so the workbench parses (and words its errors) as for
// --shape and --size.
std::string dims_text(const std::string& key, const py::handle& v) {
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  if (is_int(v)) return std::to_string(v.cast<std::int64_t>());
  if (py::isinstance<py::sequence>(v)) {
    std::string text;
    for (const py::handle item : v) {
      if (!is_int(item)) throw py::type_error(fmt::format("{}: expected ints, got {}", key, std::string(py::repr(v))));
      text += (text.empty() ? "" : "x") + std::to_string(item.cast<std::int64_t>());
    }
    return text;
  }
  throw py::type_error(fmt::format("{}: expected a str such as \"1x3x224x224\" or a sequence of ints", key));
}

const char* fold_name(fusion::FoldPrecision fold) {
  return fold == fusion::FoldPrecision::float64 ? "float64" : "float32";
}

// The graph's only input (the workbench's rule: only single-input models can be fed).
const graph::Value& the_input(const Model& m) {
  const graph::Graph& g = *m.graph;
  if (g.inputs().size() != 1) {
    throw ops::InvalidArgument(fmt::format("{} has {} inputs; only single-input models can be fed", g.name(),
                                           g.inputs().size()));
  }
  return g.value(g.inputs()[0]);
}

// The values `inputs` names, NCHW: None: the seeded input the CLI feeds by default; a path: an
// image or a safetensors file as --input reads it; an array (or {input name: array}): cast to
// float32, its shape checked against the model's.
std::vector<float> input_values(const Model& m, const py::object& inputs) {
  const graph::Value& in = the_input(m);
  workbench::ModelSource source = m.source;
  if (inputs.is_none() || py::isinstance<py::str>(inputs) || py::hasattr(inputs, "__fspath__")) {
    if (!inputs.is_none()) source.input = fspath(inputs);
    py::gil_scoped_release release;  // an image decode and resize, or the seeded generator
    return workbench::load_input(source, *m.graph);
  }
  py::object array = inputs;
  if (py::isinstance<py::dict>(inputs)) {
    const py::dict d = inputs.cast<py::dict>();
    if (d.size() != 1 || !d.contains(in.name)) {
      throw ops::InvalidArgument(fmt::format("inputs: {} has one input, '{}'; the dict names {}", m.graph->name(),
                                             in.name, std::string(py::repr(py::list(d.attr("keys")())))));
    }
    array = d[py::str(in.name)];
  }
  using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
  FloatArray a = FloatArray::ensure(array);
  if (!a) {
    throw py::type_error(fmt::format("inputs: expected a numpy array of {} numbers (or None, a file path, or "
                                     "{{'{}': array}}), got {}",
                                     ops::to_string(in.shape), in.name,
                                     std::string(py::str(py::type::of(array).attr("__name__")))));
  }
  const ops::Shape shape(a.shape(), a.shape() + a.ndim());
  ops::expect_shape(m.graph->name(), fmt::format("input '{}'", in.name), shape, in.shape);
  return std::vector<float>(a.data(), a.data() + a.size());
}

// taps: None, "all", one name or a list of names; each checked to exist in the graph the model runs.
std::vector<std::string> tap_names(const graph::Graph& g, const py::object& taps, bool& all) {
  all = false;
  std::vector<std::string> names;
  if (taps.is_none()) return names;
  if (py::isinstance<py::str>(taps)) {
    const std::string t = taps.cast<std::string>();
    if (t == "all") {
      all = true;
      for (const auto& n : g.nodes()) names.push_back(g.value(n.output).name);
      return names;
    }
    names.push_back(t);
  } else {
    for (const py::handle t : taps) names.push_back(py::str(t).cast<std::string>());
  }
  for (const auto& t : names) g.require_value(t);  // "no tensor named 't'" (InvalidInput)
  return names;
}

// With the validation layer on (use_device(validation=True)), a run that made it speak is not to
// be trusted: raise what the CLI prints for --validation, messages included.
void check_validation(gpu::Device& device, const char* what) {
  if (!device.validation_enabled()) return;
  const std::vector<std::string> messages = device.validation_messages();
  if (messages.empty()) return;
  device.clear_validation_messages();
  std::string text = fmt::format("{}: the validation layer reported {} message(s)", what, messages.size());
  for (const auto& msg : messages) text += "\n" + msg;
  throw ValidationFailed(text);
}

// A float32 numpy array owning `values` (no copy).
py::array to_numpy(std::vector<float>&& values, const ops::Shape& shape) {
  auto* owned = new std::vector<float>(std::move(values));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<float>*>(p); });
  return py::array_t<float>(std::vector<py::ssize_t>(shape.begin(), shape.end()), owned->data(), free_when_done);
}

}  // namespace

Model load(const std::string& model, py::object shape, const py::kwargs& options) {
  workbench::ModelSource s;
  s.model = model;
  if (!shape.is_none()) s.shape = dims_text("shape", shape);
  for (const auto& [k, v] : options) {
    const std::string key = py::str(k).cast<std::string>();
    if (key == "seed") {
      const std::int64_t seed = int_option(key, v);
      if (seed < 0 || seed > 0xffffffffLL) throw ops::InvalidArgument(fmt::format("--seed {}: expected 0 to 4294967295", seed));
      s.seed = static_cast<std::uint32_t>(seed);
    } else if (key == "batch") {
      s.batch = int_option(key, v);
      if (s.batch < 1 || s.batch > 1024) throw ops::InvalidArgument(fmt::format("--batch {}: expected 1 to 1024", s.batch));
    } else if (key == "size") {
      s.size = dims_text("size", v);
    } else if (key == "input") {
      s.input = fspath(v);
    } else if (key == "mean") {
      s.image.mean = list_option<float>(key, v, 3);
    } else if (key == "std") {
      s.image.std = list_option<float>(key, v, 3);
    } else if (key == "crop") {
      s.image.crop = list_option<int>(key, v, 4);
    } else if (key == "bgr") {
      s.image.bgr = bool_option(key, v);
    } else if (key == "nhwc") {
      s.image.nhwc = bool_option(key, v);
    } else if (key == "rotate180") {
      s.image.rotate180 = bool_option(key, v);
    } else {
      throw py::type_error(fmt::format("load() got an unexpected keyword argument '{}'", key));
    }
  }
  Model m;
  m.source = s;
  {
    py::gil_scoped_release release;  // an ONNX import or a zoo build with BN calibration
    m.reference = std::make_shared<const graph::Graph>(workbench::load_model(s));
    // A bad input file is an error of load(), as it is before the CLI's device work.
    if (!s.input.empty()) workbench::load_input(s, *m.reference);
  }
  m.graph = m.reference;
  return m;
}

Model fuse(const Model& m, const std::string& mode, const std::string& fold) {
  const workbench::FuseMode fuse_mode = workbench::parse_fuse_mode(mode);
  const fusion::FoldPrecision fold_precision = workbench::parse_fold_precision(fold);
  Model f = m;
  f.fuse = fuse_mode;
  f.fold = fold_precision;
  f.fusion = {};
  if (fuse_mode == workbench::FuseMode::none) {
    f.graph = m.reference;
    return f;
  }
  py::gil_scoped_release release;
  f.graph = std::make_shared<const graph::Graph>(workbench::fused_copy(*m.reference, fuse_mode, fold_precision, &f.fusion));
  return f;
}

py::dict run(const Model& m, py::object inputs, py::object taps, const std::string& precision,
             const std::string& layout, const std::string& algorithm) {
  // Every argument is checked before any device work, as the CLI checks its flags.
  graph::ExecutorOptions eo = workbench::executor_options(precision, layout, algorithm);
  const graph::Graph& g = *m.graph;
  bool all = false;
  const std::vector<std::string> taps_wanted = tap_names(g, taps, all);
  eo.tap_all = all;
  if (!all) eo.taps = taps_wanted;
  const std::vector<float> x = input_values(m, inputs);

  std::vector<std::string> names;  // the outputs, then each tap not already among them
  for (graph::ValueId out : g.outputs()) names.push_back(g.value(out).name);
  for (const auto& t : taps_wanted)
    if (std::find(names.begin(), names.end(), t) == names.end()) names.push_back(t);
  std::vector<std::vector<float>> values;
  {
    py::gil_scoped_release release;
    const std::shared_ptr<gpu::Device> device = process_device();
    graph::Executor exec(*device, g, eo);
    exec.set_input(x);
    exec.run();
    for (const auto& name : names) values.push_back(exec.read(name));
    check_validation(*device, "run");
  }
  py::dict result;
  for (std::size_t i = 0; i < names.size(); ++i) {
    result[py::str(names[i])] = to_numpy(std::move(values[i]), g.value(g.require_value(names[i])).shape);
  }
  return result;
}

py::object compare(const Model& m, py::object inputs, const std::string& precision, const std::string& layout,
                   const std::string& algorithm, const std::string& candidate_algorithm, bool oracle) {
  if (m.fuse == workbench::FuseMode::none && candidate_algorithm.empty()) {
    throw ops::InvalidArgument(
        "--fuse none: compare needs bn, all or runtime; compare a fused model: m.fuse(\"all\").compare(), or "
        "two conv algorithms: m.compare(algorithm=\"direct\", candidate_algorithm=\"gemm\")");
  }
  // As `fusescope compare`: both networks at one precision and layout; fusion's drift is measured.
  workbench::StudyOptions so;
  so.reference = workbench::executor_options(precision, layout, algorithm);
  so.candidate.fuse = m.fuse;
  so.candidate.fold = m.fold;
  so.candidate.precision = so.reference.precision;
  so.candidate.layout = so.reference.layout;
  if (!candidate_algorithm.empty()) so.candidate.algorithm = ops::parse_conv_algorithm(candidate_algorithm);
  so.oracle = oracle;
  std::vector<float> x = input_values(m, inputs);
  std::string json;
  {
    py::gil_scoped_release release;
    const std::shared_ptr<gpu::Device> device = process_device();
    workbench::Study study(*device, *m.reference, std::move(x), so);
    study.run();
    check_validation(*device, "compare");
    json = workbench::study_json(study.report());
  }
  return py::module_::import("json").attr("loads")(json);
}

void export_onnx(const Model& m, const std::string& path) {
  py::gil_scoped_release release;
  workbench::export_model(*m.graph, m.source.model, m.fuse, m.fold, path);
}

py::list tensor_names(const Model& m) {
  py::list names;
  for (const auto& n : m.graph->nodes()) names.append(m.graph->value(n.output).name);
  return names;
}

py::dict fusion_dict(const Model& m) {
  py::list changes;
  for (const auto& c : m.fusion.changes) {
    py::dict d;
    d["pass"] = c.pass;
    d["node"] = c.node;
    d["replaced"] = py::cast(c.replaced);
    d["detail"] = c.detail;
    changes.append(d);
  }
  py::dict d;
  d["nodes_before"] = m.fuse == workbench::FuseMode::none ? m.graph->nodes().size() : m.fusion.nodes_before;
  d["nodes_after"] = m.graph->nodes().size();
  d["changes"] = changes;
  return d;
}

std::string describe(const Model& m) {
  const graph::Graph& g = *m.graph;
  std::string in;
  for (graph::ValueId v : g.inputs()) in += (in.empty() ? "" : ", ") + ops::to_string(g.value(v).shape);
  return fmt::format("<fusescope.Model {}: {} nodes, input {}, fuse {}{}>", m.source.model, g.nodes().size(), in,
                     workbench::to_string(m.fuse),
                     m.fuse == workbench::FuseMode::bn || m.fuse == workbench::FuseMode::all
                         ? fmt::format(" (fold {})", fold_name(m.fold))
                         : "");
}

}  // namespace fusescope::python
