// `import fusescope`: the Python face of the workbench (see model.hpp for the model, errors.hpp for
// the exceptions, process_device.hpp for the device). numpy arrays in and out; the GIL is released
// while a model is built, fused, run, compared or exported.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "errors.hpp"
#include "gpu/device.hpp"
#include "model.hpp"
#include "process_device.hpp"
#include "workbench/device_list.hpp"

namespace py = pybind11;
using namespace fusescope;

namespace {

py::object json_loads(const std::string& text) { return py::module_::import("json").attr("loads")(text); }

std::string os_fspath(const py::handle& obj) {
  return py::str(py::module_::import("os").attr("fspath")(obj)).cast<std::string>();
}

}  // namespace

PYBIND11_MODULE(fusescope, m) {
  m.doc() =
      "fusescope: run CNNs on a Vulkan device, fused (BatchNorm folded) or not, and compare them with\n"
      "each other and a float64 CPU oracle. The same computations as the `fusescope` command:\n\n"
      "    import fusescope\n"
      "    model = fusescope.load(\"conv_bn_layer\")            # a zoo model, or a path to an .onnx file\n"
      "    out = model.fuse(\"all\").run(x)                     # {output name: numpy.ndarray}\n"
      "    report = model.fuse(\"bn\").compare()                # what `fusescope compare --json` writes\n\n"
      "One Vulkan device per process, made on first use (FUSESCOPE_DEVICE or the best one; see\n"
      "use_device). Errors raise InvalidInput (a ValueError) or DeviceError (a RuntimeError) with the\n"
      "CLI's messages.";
  m.attr("__version__") = FUSESCOPE_VERSION;
  python::register_errors(m);

  m.def(
      "devices",
      []() -> py::object {
        std::string text;
        {
          py::gil_scoped_release release;
          text = workbench::devices_json(gpu::Device::enumerate());
        }
        // An object, not the accessor: that would refer to the parsed dict after it is gone.
        return py::object(json_loads(text)["devices"]);
      },
      "Every Vulkan device, as `fusescope devices --json` lists them (a list of dicts).");
  m.def(
      "device",
      [] {
        std::string text;
        {
          py::gil_scoped_release release;
          text = workbench::device_json(python::process_device()->info());
        }
        return json_loads(text);
      },
      "The device this process runs on (made now if not yet), as a dict like devices()' entries.");
  m.def(
      "use_device",
      [](std::optional<std::uint32_t> index, bool validation) {
        std::string text;
        {
          py::gil_scoped_release release;
          text = workbench::device_json(python::use_device(index, validation)->info());
        }
        return json_loads(text);
      },
      py::arg("index") = py::none(), py::arg("validation") = false,
      "Run everything from now on on device `index` (None: FUSESCOPE_DEVICE or the best one), with the\n"
      "Khronos validation layer when `validation` (a run or compare it reports on raises DeviceError).\n"
      "Returns the device's dict.");

  m.def(
      "load",
      [](const py::object& model, const py::object& shape, const py::kwargs& options) {
        return python::load(os_fspath(model), shape, options);
      },
      py::arg("model"), py::arg("shape") = py::none(),
      "load(model, shape=None, **options) -> Model\n\n"
      "model: a zoo spec (`fusescope models`; \"conv_bn_layer:stride=2\") or an .onnx path.\n"
      "shape: an ONNX model's input shape, \"1x3x224x224\" or (1, 3, 224, 224) (the CLI's --shape).\n"
      "options, as the CLI's flags: seed=1, batch, size (\"HxW\", N or (H, W)) for zoo models; input=\n"
      "(an image or .safetensors file: the default input of run/compare) and its image options mean,\n"
      "std, bgr, nhwc, crop, rotate180.");

  py::class_<python::Model>(m, "Model",
                            "A network as loaded, or fused by .fuse(). Immutable; safe to use from several threads.")
      .def("fuse", &python::fuse, py::arg("mode"), py::arg("fold") = "float64",
           "fuse(mode, fold=\"float64\") -> Model\n\n"
           "mode: \"none\", \"bn\" (BatchNorms folded), \"all\" (every fusion pass) or \"runtime\" (BN, adds\n"
           "and activations in conv epilogues, weights untouched). fold: \"float64\" (round once) or\n"
           "\"float32\" (PyTorch's order). Always from the loaded network: m.fuse(\"bn\").fuse(\"all\") is\n"
           "m.fuse(\"all\").")
      .def("run", &python::run, py::arg("inputs") = py::none(), py::arg("taps") = py::none(),
           py::arg("precision") = "fp32", py::arg("layout") = "nchw", py::arg("algorithm") = "auto",
           "run(inputs=None, taps=None, precision=\"fp32\", layout=\"nchw\", algorithm=\"auto\") -> dict\n\n"
           "Runs on the device. inputs: a numpy array of the input's shape (cast to float32), {name: array},\n"
           "an image or .safetensors path, or None (load()'s input=, else the CLI's seeded input).\n"
           "taps: None, \"all\", a name or a list of names (Model.tensors). Returns {name: float32 array,\n"
           "NCHW} for every output and tap. precision fp32 | fp16s | fp16; layout nchw | nhwc (how\n"
           "activations lie on the device; arrays are NCHW either way); algorithm auto | direct | gemm |\n"
           "subgroup | depthwise | winograd | winograd4.")
      .def("compare", &python::compare, py::arg("inputs") = py::none(), py::arg("precision") = "fp32",
           py::arg("layout") = "nchw", py::arg("algorithm") = "auto", py::arg("candidate_algorithm") = "",
           py::arg("oracle") = true,
           "compare(inputs=None, precision=\"fp32\", layout=\"nchw\", algorithm=\"auto\", candidate_algorithm=\"\",\n"
           "        oracle=True) -> dict\n\n"
           "The loaded network against this fused one (and both against the float64 oracle unless\n"
           "oracle=False), per layer: the report `fusescope compare --json` writes, as Python objects.\n"
           "candidate_algorithm runs the fused network's convs on that algorithm (compare's\n"
           "--candidate-algorithm); on an unfused model it compares two conv algorithms.")
      .def(
          "export", [](const python::Model& self, const py::object& path) { python::export_onnx(self, os_fspath(path)); },
          py::arg("path"),
          "export(path): the network this model runs (fused or not) as an ONNX file (opset 13), as\n"
          "`fusescope export` writes it: checked, written whole or not at all.")
      .def_property_readonly("name", [](const python::Model& self) { return self.graph->name(); })
      .def_property_readonly("source", [](const python::Model& self) { return self.source.model; },
                             "The zoo spec or path load() was given.")
      .def_property_readonly("fuse_mode", [](const python::Model& self) { return workbench::to_string(self.fuse); })
      .def_property_readonly("fold", [](const python::Model& self) {
        return self.fold == fusion::FoldPrecision::float64 ? "float64" : "float32";
      })
      .def_property_readonly("input_name", [](const python::Model& self) {
        const graph::Graph& g = *self.graph;
        return g.inputs().empty() ? std::string() : g.value(g.inputs()[0]).name;
      })
      .def_property_readonly("input_shape", [](const python::Model& self) {
        const graph::Graph& g = *self.graph;
        return g.inputs().empty() ? py::tuple() : py::tuple(py::cast(g.value(g.inputs()[0]).shape));
      })
      .def_property_readonly("outputs", [](const python::Model& self) {
        std::vector<std::string> names;
        for (graph::ValueId v : self.graph->outputs()) names.push_back(self.graph->value(v).name);
        return names;
      })
      .def_property_readonly("tensors", &python::tensor_names, "Every node's output: what taps may name.")
      .def_property_readonly("node_count", [](const python::Model& self) { return self.graph->nodes().size(); })
      .def_property_readonly("fusion", &python::fusion_dict,
                             "What fuse() did: nodes_before, nodes_after, changes [{pass, node, replaced, detail}].")
      .def("__repr__", &python::describe);
}
