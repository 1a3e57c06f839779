// Building small ONNX models in tests: a temporary directory, attribute setters, tensor and
// initializer helpers, a model under construction (default domain at a chosen opset) that writes
// itself to a file for io::import_onnx, message_of for the errors a bad model must give, and the
// node-by-node check of an imported graph against the float64 oracle.
// Header-only; the one copy of these helpers for every ONNX test file (import, export, the
// extra ops, Transpose/Pad), so a new test file includes this rather than copying them.
#pragma once
#include <fmt/format.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "ops/shape.hpp"
#include "test_support.hpp"

namespace fusescope::testing::onnx_model {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / fmt::format("fusescope-onnx-model-{}-{}", ::getpid(), counter++);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

inline void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void set_attr(onnx::NodeProto& n, const std::string& name, std::int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
inline void set_attr(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
inline void set_attr(onnx::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}
inline void set_attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

// A float tensor with its values as raw little-endian bytes, as exporters write them.
inline void fill_tensor(onnx::TensorProto& t, const std::string& name, const ops::Shape& shape,
                        const std::vector<float>& values) {
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : shape) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

// Runs `f` and returns the message of the `Error` it must throw (any std::exception by default);
// a test fails when nothing is thrown.
template <class Error = std::exception, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("no exception was thrown");
  return "";
}

// A model under construction, default domain at the given opset.
struct OnnxModel {
  onnx::ModelProto model;
  onnx::GraphProto* g;
  std::mt19937 rng{2024};

  explicit OnnxModel(std::int64_t opset = 13) {
    model.set_ir_version(8);
    model.set_producer_name("fusescope-tests");
    auto* op = model.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    g = model.mutable_graph();
    g->set_name("test");
  }
  // dims: > 0 fixed, -1 a symbolic dimension "N".
  void input(const std::string& name, const ops::Shape& dims) {
    auto* v = g->add_input();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) {
      auto* dim = tt->mutable_shape()->add_dim();
      if (d > 0) dim->set_dim_value(d);
      else dim->set_dim_param("N");
    }
  }
  void output(const std::string& name) {
    auto* v = g->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  void initializer(const std::string& name, const ops::Shape& shape, const std::vector<float>& values) {
    fill_tensor(*g->add_initializer(), name, shape, values);
  }
  void int64_initializer(const std::string& name, const ops::Shape& shape, const std::vector<std::int64_t>& values) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (auto d : shape) t->add_dims(d);
    for (auto v : values) t->add_int64_data(v);
  }
  // Seeded uniform values in [lo, hi).
  void random_initializer(const std::string& name, const ops::Shape& shape, float lo = -0.5f, float hi = 0.5f) {
    initializer(name, shape, random_values(rng, ops::numel(shape), lo, hi));
  }
  onnx::NodeProto& node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }
  // A Constant node `name`_node holding int64s in its value_ints (Resize's sizes, say).
  void int_constant(const std::string& name, const std::vector<std::int64_t>& values) {
    set_attr(node("Constant", name + "_node", {}, {name}), "value_ints", values);
  }
  fs::path write(const TempDir& dir, const std::string& file = "model.onnx") const {
    std::string bytes;
    REQUIRE(model.SerializeToString(&bytes));
    const fs::path path = dir.path / file;
    write_bytes(path, bytes);
    return path;
  }
};

// How require_every_node_matches_oracle runs a graph: its input uniform in [lo, hi) from
// `seed`, the executor in `layout`.
struct OracleRun {
  std::uint32_t seed;
  graph::Layout layout = graph::Layout::nchw;
  float lo = -1.0f;
  float hi = 1.0f;
};

// Runs `g` on the device with every value tapped and compares each node's output with the
// oracle run on the same graph and input, within `tolerance` (rel-L2 and max-abs); each
// comparison is reported as `kernel`, "`what` <value name>" (require_close also fails on any
// validation-layer message).
inline void require_every_node_matches_oracle(const graph::Graph& g, const std::string& kernel,
                                              const std::string& what, double tolerance, const OracleRun& run) {
  std::mt19937 rng(run.seed);
  const graph::Value& in = g.value(g.inputs()[0]);
  const std::vector<float> x = random_values(rng, ops::numel(in.shape), run.lo, run.hi);
  graph::Graph gc = g;
  graph::OracleOptions oo;
  oo.keep_all = true;
  const auto oracle = graph::run_oracle(gc, {{in.name, x}}, oo);
  graph::ExecutorOptions eo;
  eo.tap_all = true;
  eo.layout = run.layout;
  graph::Executor exec(device(), g, eo);
  exec.set_input(x);
  exec.run();
  for (const auto& node : g.nodes()) {
    const std::string& v = g.value(node.output).name;
    require_close(kernel, what + " " + v, exec.read(v), oracle.at(v), tolerance, tolerance);
  }
}

}  // namespace fusescope::testing::onnx_model
