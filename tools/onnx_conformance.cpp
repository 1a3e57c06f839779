// fusescope_onnx_conformance: runs ONNX's own backend node tests (Debian's libonnx-testdata,
// /usr/share/libonnx-testdata/data/node/test_*/) through fusescope and judges them as ONNX's
// backend runner does.
//
//   fusescope_onnx_conformance [--fuse none|all] [--report] CASE_DIR...
//
// For each case directory (model.onnx + test_data_set_0/input_N.pb, output_N.pb):
//  - a case whose first input or any output is not a float/float16 tensor is SKIPPED (fusescope
//    computes fp32 activations; integer, bool, string and sequence cases are not its business);
//  - fusescope graphs have one input, so inputs after the first become initializers holding
//    their test data (Resize's scales, Reshape's shape, a second addend ...): the model then asks
//    fusescope to compute exactly what ONNX's test expected with those values as constants;
//  - the model is imported with input 0's shape, run on the device in fp32 unfused and, with
//    `--fuse all` (the default), once more after fusion::fuse_all;
//  - every output is judged elementwise as onnx/backend/test/runner does (numpy's
//    assert_allclose): |actual - expected| <= atol + rtol * |expected|, rtol 1e-3, atol 1e-7,
//    NaN matching NaN; the shape must match too.
//
// One line per case: PASS, REFUSED (fusescope's own message, which names the unsupported op or
// variant: a clear refusal, not a failure), SKIPPED (not a float case), WRONG (the worst
// element: index, actual, expected, allowed) or ERROR (the harness could not read the case).
// --report adds a table of pass / refused / wrong / skipped counts per op type and in total.
//
// Exit status over all the cases given: 2 if any harness error, else 1 if any wrong answer,
// else 0 if any case passed, else 77 (every case refused or skipped, or the data is absent:
// CTest's SKIP_RETURN_CODE, so such a test reads SKIPPED, never passed).
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fusion/passes.hpp"
#include "gpu/device.hpp"
#include "gpu/error.hpp"
#include "graph/executor.hpp"
#include "io/onnx_import.hpp"
#include "ops/half.hpp"

using namespace fusescope;
namespace fs = std::filesystem;

namespace {

// ONNX's backend test runner (onnx/backend/test/runner/__init__.py) compares with these.
constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

enum class Verdict { pass, refused, skipped, wrong, error };

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::pass: return "PASS";
    case Verdict::refused: return "REFUSED";
    case Verdict::skipped: return "SKIPPED";
    case Verdict::wrong: return "WRONG";
    case Verdict::error: return "ERROR";
  }
  return "?";
}

struct Result {
  Verdict verdict = Verdict::pass;
  std::string op;       // the model's op types, for the report
  std::string message;  // why, for everything but a pass
};

// The harness could not read a case (exit 2).
struct HarnessError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Not a case fusescope is judged on (a reason, exit 77).
struct NotAFloatCase : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw HarnessError(fmt::format("{}: cannot open", p.string()));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool float_elem(std::int32_t t) { return t == onnx::TensorProto::FLOAT || t == onnx::TensorProto::FLOAT16; }

std::string elem_name(std::int32_t t) {
  return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(t));
}

// A float or float16 TensorProto's values as fp32.
std::vector<float> float_values(const onnx::TensorProto& t, const std::string& what) {
  std::size_t n = 1;
  for (auto d : t.dims()) n *= static_cast<std::size_t>(d);
  std::vector<float> v(n);
  const std::string& raw = t.raw_data();
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    if (t.has_raw_data()) {
      if (raw.size() != n * 4) throw HarnessError(fmt::format("{}: {} bytes for {} floats", what, raw.size(), n));
      // An empty tensor's vector has no storage: memcpy from or to a null pointer is undefined
      // even for 0 bytes (UBSan, on test_reshape_allowzero_reordered's 0-element input).
      if (n != 0) std::memcpy(v.data(), raw.data(), n * 4);
    } else {
      if (static_cast<std::size_t>(t.float_data_size()) != n) throw HarnessError(what + ": wrong float_data size");
      for (std::size_t i = 0; i < n; ++i) v[i] = t.float_data(static_cast<int>(i));
    }
  } else if (t.data_type() == onnx::TensorProto::FLOAT16) {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t bits = 0;
      if (t.has_raw_data()) {
        if (raw.size() != n * 2) throw HarnessError(fmt::format("{}: {} bytes for {} halves", what, raw.size(), n));
        std::memcpy(&bits, raw.data() + i * 2, 2);
      } else {
        bits = static_cast<std::uint16_t>(t.int32_data(static_cast<int>(i)));
      }
      v[i] = ops::half_to_float(bits);
    }
  } else {
    throw NotAFloatCase(fmt::format("{} is {}", what, elem_name(t.data_type())));
  }
  return v;
}

onnx::TensorProto read_tensor(const fs::path& p) {
  onnx::TensorProto t;
  if (!t.ParseFromString(read_file(p))) throw HarnessError(fmt::format("{}: not a TensorProto", p.string()));
  return t;
}

std::string op_types(const onnx::GraphProto& g) {
  std::vector<std::string> types;
  for (const auto& n : g.node())
    if (std::find(types.begin(), types.end(), n.op_type()) == types.end()) types.push_back(n.op_type());
  if (types.empty()) return "(none)";
  if (types.size() > 3) return fmt::format("{}+{}+{}+… ({} op types)", types[0], types[1], types[2], types.size());
  std::string s;
  for (std::size_t i = 0; i < types.size(); ++i) s += (i ? "+" : "") + types[i];
  return s;
}

// The worst element of one output, or nothing when all are within atol + rtol * |expected|.
std::optional<std::string> judge(const std::vector<float>& actual, const std::vector<float>& expected) {
  double worst_excess = 0;
  std::optional<std::size_t> worst;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double a = actual[i], e = expected[i];
    if (std::isnan(e) || std::isnan(a) || std::isinf(e) || std::isinf(a)) {  // NaN matches NaN, inf itself
      if (a == e || (std::isnan(a) && std::isnan(e))) continue;
      if (worst && std::isinf(worst_excess)) continue;
      worst = i;
      worst_excess = std::numeric_limits<double>::infinity();
      continue;
    }
    const double excess = std::abs(a - e) - (kAtol + kRtol * std::abs(e));
    if (excess > 0 && (!worst || excess > worst_excess)) {
      worst = i;
      worst_excess = excess;
    }
  }
  if (!worst) return std::nullopt;
  const double a = actual[*worst], e = expected[*worst];
  return fmt::format("element {} is {:.9g}, expected {:.9g} (|diff| {:.3g} > allowed {:.3g})", *worst, a, e,
                     std::abs(a - e), kAtol + kRtol * std::abs(e));
}

struct Runner {
  bool fuse_all = true;
  std::unique_ptr<gpu::Device> device;

  gpu::Device& dev() {
    if (!device) device = std::make_unique<gpu::Device>(gpu::DeviceOptions{});
    return *device;
  }

  // Runs `g` and judges each declared output; a message when any is wrong.
  std::optional<std::string> run_and_judge(const graph::Graph& g, const std::vector<float>& x,
                                           const std::vector<std::string>& names,
                                           const std::vector<onnx::TensorProto>& expected) {
    graph::Executor exec(dev(), g);
    exec.set_input(x);
    exec.run();
    for (std::size_t i = 0; i < names.size(); ++i) {
      // An output the importer aliased to another value (Identity, a float Cast) has that
      // value's name; graph outputs keep the ONNX order unless two are one value.
      std::string name = names[i];
      if (g.find_value(name) == graph::kNoValue) {
        if (g.outputs().size() != names.size()) {
          throw std::runtime_error(fmt::format("output '{}' is another output's value", name));
        }
        name = g.value(g.outputs()[i]).name;
      }
      const ops::Shape& shape = g.value(g.require_value(name)).shape;
      ops::Shape want(expected[i].dims().begin(), expected[i].dims().end());
      const bool scalar_as_one = want.empty() && shape == ops::Shape{1};  // fusescope keeps scalars as [1]
      if (shape != want && !scalar_as_one) {
        return fmt::format("output '{}' has shape {}, expected {}", names[i], ops::to_string(shape),
                           ops::to_string(want));
      }
      const std::vector<float> want_values = float_values(expected[i], names[i]);
      if (auto bad = judge(exec.read(name), want_values)) return fmt::format("output '{}': {}", names[i], *bad);
    }
    return std::nullopt;
  }

  Result run_case(const fs::path& dir) {
    Result r;
    const fs::path model_path = dir / "model.onnx";
    const fs::path data = dir / "test_data_set_0";
    if (!fs::exists(model_path) || !fs::is_directory(data)) {
      r.verdict = Verdict::skipped;
      r.message = fmt::format("{} has no model.onnx and test_data_set_0", dir.string());
      return r;
    }
    onnx::ModelProto model;
    if (!model.ParseFromString(read_file(model_path))) throw HarnessError(model_path.string() + ": not a ModelProto");
    onnx::GraphProto& gp = *model.mutable_graph();
    r.op = op_types(gp);
    try {
      // The inputs the test feeds (IR < 4 models list initializers among the inputs too).
      std::vector<int> fed;
      for (int i = 0; i < gp.input_size(); ++i) {
        bool init = false;
        for (const auto& t : gp.initializer()) init = init || t.name() == gp.input(i).name();
        if (!init) fed.push_back(i);
      }
      if (fed.empty()) throw NotAFloatCase("the model has no inputs");
      for (int i : fed)
        if (!gp.input(i).type().has_tensor_type()) throw NotAFloatCase(fmt::format("input '{}' is not a tensor", gp.input(i).name()));
      for (const auto& o : gp.output()) {
        if (!o.type().has_tensor_type()) throw NotAFloatCase(fmt::format("output '{}' is not a tensor", o.name()));
        if (!float_elem(o.type().tensor_type().elem_type()))
          throw NotAFloatCase(fmt::format("output '{}' is {}", o.name(), elem_name(o.type().tensor_type().elem_type())));
      }
      const auto& first = gp.input(fed[0]);
      if (!float_elem(first.type().tensor_type().elem_type()))
        throw NotAFloatCase(fmt::format("input '{}' is {}", first.name(), elem_name(first.type().tensor_type().elem_type())));

      // Test data: input_N.pb for each fed input, output_N.pb for each output.
      std::vector<onnx::TensorProto> inputs;
      for (std::size_t k = 0; k < fed.size(); ++k) {
        const fs::path p = data / fmt::format("input_{}.pb", k);
        if (!fs::exists(p)) throw HarnessError(p.string() + ": missing");
        inputs.push_back(read_tensor(p));
      }
      std::vector<onnx::TensorProto> expected;
      std::vector<std::string> names;
      for (int k = 0; k < gp.output_size(); ++k) {
        const fs::path p = data / fmt::format("output_{}.pb", k);
        if (!fs::exists(p)) throw HarnessError(p.string() + ": missing");
        expected.push_back(read_tensor(p));
        names.push_back(gp.output(k).name());
      }
      const std::vector<float> x = float_values(inputs[0], "input 0");
      ops::Shape x_shape(inputs[0].dims().begin(), inputs[0].dims().end());

      // Inputs after the first become initializers holding their test data.
      for (std::size_t k = 1; k < fed.size(); ++k) {
        onnx::TensorProto t = inputs[k];
        t.set_name(gp.input(fed[k]).name());
        *gp.add_initializer() = std::move(t);
      }
      for (std::size_t k = fed.size(); k-- > 1;) gp.mutable_input()->DeleteSubrange(fed[k], 1);
      std::string bytes;
      model.SerializeToString(&bytes);

      io::OnnxImportOptions options;
      options.input_shape = x_shape;
      graph::Graph g;
      try {
        g = io::import_onnx_bytes(bytes, model_path.string(), options);
      } catch (const gpu::VulkanError&) {
        throw;
      } catch (const std::exception& e) {
        r.verdict = Verdict::refused;
        r.message = e.what();
        return r;
      }
      std::optional<std::string> wrong;
      try {
        wrong = run_and_judge(g, x, names, expected);
      } catch (const HarnessError&) {
        throw;
      } catch (const NotAFloatCase&) {
        throw;
      } catch (const gpu::VulkanError&) {
        throw;
      } catch (const std::exception& e) {
        // The executor (or a kernel's shape rule) refused what the importer let through.
        r.verdict = Verdict::refused;
        r.message = fmt::format("refused by the executor: {}", e.what());
        return r;
      }
      if (wrong) {
        r.verdict = Verdict::wrong;
        r.message = "unfused: " + *wrong;
        return r;
      }
      if (fuse_all) {
        graph::Graph fused = g;
        try {
          fusion::fuse_all(fused);
          wrong = run_and_judge(fused, x, names, expected);
        } catch (const HarnessError&) {
          throw;
        } catch (const std::exception& e) {
          wrong = fmt::format("threw after the unfused run passed: {}", e.what());
        }
        if (wrong) {
          r.verdict = Verdict::wrong;
          r.message = "--fuse all: " + *wrong;
          return r;
        }
      }
    } catch (const NotAFloatCase& e) {
      r.verdict = Verdict::skipped;
      r.message = fmt::format("not a float case: {}", e.what());
    }
    return r;
  }
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "fusescope_onnx_conformance: " << why << "\n"
            << "usage: fusescope_onnx_conformance [--fuse none|all] [--report] CASE_DIR...\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Runner runner;
  bool report = false;
  std::vector<fs::path> cases;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--report") {
      report = true;
    } else if (a == "--fuse") {
      if (i + 1 >= argc) usage("--fuse needs none or all");
      const std::string m = argv[++i];
      if (m != "none" && m != "all") usage(fmt::format("--fuse {}: expected none or all", m));
      runner.fuse_all = m == "all";
    } else if (a.rfind("--", 0) == 0) {
      usage(fmt::format("unknown option {}", a));
    } else {
      cases.emplace_back(a);
    }
  }
  if (cases.empty()) usage("no case directories given");

  std::map<std::string, std::map<Verdict, int>> per_op;
  std::map<Verdict, int> total;
  std::map<std::string, int> unsupported_op;  // refusals because an op type is not imported at all
  const auto start = std::chrono::steady_clock::now();
  bool harness_error = false;
  for (const fs::path& dir : cases) {
    const std::string name = dir.filename().string();
    if (!fs::is_directory(dir)) {
      std::cout << fmt::format("SKIPPED {}: {} is absent (is libonnx-testdata installed? apt-get install "
                               "libonnx-testdata)\n",
                               name.empty() ? dir.string() : name, dir.string());
      ++total[Verdict::skipped];
      continue;
    }
    Result r;
    try {
      r = runner.run_case(dir);
    } catch (const std::exception& e) {
      r.verdict = Verdict::error;
      r.message = e.what();
      harness_error = true;
    }
    ++total[r.verdict];
    ++per_op[r.op.empty() ? "?" : r.op][r.verdict];
    if (r.verdict == Verdict::refused && r.message.find("unsupported ONNX ops:") != std::string::npos)
      ++unsupported_op[r.op.empty() ? "?" : r.op];
    std::cout << verdict_name(r.verdict) << " " << name << " [" << r.op << "]";
    if (!r.message.empty()) std::cout << ": " << r.message;
    std::cout << "\n";
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report) {
    // "refused" counts refusals of a variant of an op fusescope imports; "no op" those of op
    // types it does not import at all; "skipped" the cases that are not float cases.
    std::cout << fmt::format("\n{:<44} {:>5} {:>8} {:>6} {:>6} {:>8}\n", "op", "pass", "refused", "wrong", "no op",
                             "skipped");
    for (const auto& [op, counts] : per_op) {
      // `counts` by name, not captured: clang-14 (the fuzz and sanitizer builds) cannot capture a
      // structured binding.
      auto c = [&counts = counts](Verdict v) { auto it = counts.find(v); return it == counts.end() ? 0 : it->second; };
      const int no_op = unsupported_op.count(op) ? unsupported_op.at(op) : 0;
      std::cout << fmt::format("{:<44} {:>5} {:>8} {:>6} {:>6} {:>8}\n", op, c(Verdict::pass),
                               c(Verdict::refused) - no_op, c(Verdict::wrong) + c(Verdict::error), no_op,
                               c(Verdict::skipped));
    }
    int no_op_total = 0;
    for (const auto& [op, n] : unsupported_op) no_op_total += n;
    std::cout << fmt::format("{:<44} {:>5} {:>8} {:>6} {:>6} {:>8}\n", "total", total[Verdict::pass],
                             total[Verdict::refused] - no_op_total, total[Verdict::wrong] + total[Verdict::error],
                             no_op_total, total[Verdict::skipped]);
  }
  auto t = [&](Verdict v) { return total.count(v) ? total.at(v) : 0; };
  std::cout << fmt::format("total: {} pass, {} refused, {} wrong, {} skipped, {} harness errors "
                           "({} cases, {:.2f} s, fuse {})\n",
                           t(Verdict::pass), t(Verdict::refused), t(Verdict::wrong), t(Verdict::skipped),
                           t(Verdict::error), cases.size(), seconds, runner.fuse_all ? "none+all" : "none");
  if (harness_error) return 2;
  if (t(Verdict::wrong) > 0) return 1;
  if (t(Verdict::pass) > 0) return 0;
  return 77;
}
