// fusescope.Model: a network as loaded (the reference) and the graph the model runs — the
// reference itself, or a fused copy of it. Immutable: .fuse() returns a new Model, so one Model
// may be run from several Python threads at once. All numerics are the workbench's: this file
// turns Python arguments into a ModelSource, a Candidate and executor options, and tensors into
// numpy arrays.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "fusion/fusion_report.hpp"
#include "graph/graph.hpp"
#include "workbench/candidate.hpp"
#include "workbench/model_source.hpp"

namespace fusescope::python {

struct Model {
  workbench::ModelSource source;                // as the user named it (a zoo spec or a path)
  std::shared_ptr<const graph::Graph> reference;  // as loaded, unfused
  std::shared_ptr<const graph::Graph> graph;      // what run() runs: `reference` or a fused copy
  workbench::FuseMode fuse = workbench::FuseMode::none;
  fusion::FoldPrecision fold = fusion::FoldPrecision::float64;
  fusion::FusionReport fusion;                  // what fuse() did (empty when unfused)
};

// fusescope.load(name_or_path, shape=None, **options)
Model load(const std::string& model, pybind11::object shape, const pybind11::kwargs& options);

// Model.fuse(mode, fold): always from the reference, so m.fuse("bn").fuse("all") is m.fuse("all").
Model fuse(const Model& m, const std::string& mode, const std::string& fold);

// Model.run(inputs=None, taps=None, precision="fp32", layout="nchw", algorithm="auto")
pybind11::dict run(const Model& m, pybind11::object inputs, pybind11::object taps, const std::string& precision,
                   const std::string& layout, const std::string& algorithm);

// Model.compare(inputs=None, precision="fp32", layout="nchw", algorithm="auto",
// candidate_algorithm="", oracle=True): `compare --json`'s report as Python objects.
pybind11::object compare(const Model& m, pybind11::object inputs, const std::string& precision,
                         const std::string& layout, const std::string& algorithm,
                         const std::string& candidate_algorithm, bool oracle);

// Model.export(path): the ONNX file `fusescope export` writes.
void export_onnx(const Model& m, const std::string& path);

// Every value a tap may name, in node order (what taps="all" means): each node's output.
pybind11::list tensor_names(const Model& m);
pybind11::dict fusion_dict(const Model& m);
std::string describe(const Model& m);

}  // namespace fusescope::python
