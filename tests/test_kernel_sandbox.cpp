// The shader sandbox, headless (issue 14): run-time GLSL compilation with the build's flags,
// per-node kernel overrides with their interface check, and the verdicts an edit gets — the
// conv2d case table (`fusescope kernel-check`) and the node's error against the float64 oracle
// in a network. The edits are files under tests/sandbox/: a correct rewrite with another loop
// order, a wrong weight index, a bias added twice or never read, a syntax error, a bias bound as a texel buffer and
// a push-constant block without the dispatch slice.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "gpu/error.hpp"
#include "gpu/glsl_compiler.hpp"
#include "gpu/shader_override.hpp"
#include "gpu/shader_sources.hpp"
#include "gpu/spirv_interface.hpp"
#include "gpu/spirv_registry.hpp"
#include "graph/executor.hpp"
#include "models/zoo.hpp"
#include "ops/conv2d_gpu.hpp"
#include "test_support.hpp"
#include "workbench/candidate.hpp"
#include "workbench/kernel_cases.hpp"
#include "workbench/kernel_override_check.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

std::string sandbox_file(const std::string& name) {
  return std::string(FUSESCOPE_SOURCE_DIR) + "/tests/sandbox/" + name;
}

std::shared_ptr<const gpu::ShaderOverride> edit(const std::string& name) {
  return gpu::ShaderOverride::from_file(sandbox_file(name));
}

std::size_t differing_bits(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return n;
}

// conv_bn_layer (3x3 conv without bias, BN, ReLU), folded: one conv node with a bias (the folded
// BN shift) and a ReLU epilogue — the network the CLI tests run too.
graph::Graph folded_conv_bn_layer() {
  graph::Graph g = workbench::fused_copy(models::build_model("conv_bn_layer"), workbench::FuseMode::all,
                                         fusion::FoldPrecision::float64);
  REQUIRE(g.nodes().at(0).as<graph::ConvAttrs>() != nullptr);
  REQUIRE(g.nodes().at(0).as<graph::ConvAttrs>()->params.has_bias);
  return g;
}

}  // namespace

TEST_CASE("sandbox: every embedded kernel and variant recompiled at run time is the embedded SPIR-V",
          "[sandbox]") {
  // The same compiler (libshaderc is glslc's library), flags and defines as the build: if a
  // flag or define drifted, a kernel edited from its own source would not be the kernel that ran.
  for (const gpu::SpirvBlob* blob : gpu::embedded_shaders()) {
    const gpu::KernelName k = gpu::split_kernel_name(blob->name);
    INFO(blob->name);
    gpu::GlslCompileOptions options;
    options.variant = k.variant;
    const std::vector<std::uint32_t> words =
        gpu::compile_compute_glsl(gpu::builtin_kernel_source(blob->name), k.stem + ".comp", options);
    CHECK(words == std::vector<std::uint32_t>(blob->words, blob->words + blob->word_count));
  }
}

TEST_CASE("sandbox: the variants line is read as the build reads it", "[sandbox]") {
  CHECK(gpu::declared_variants(gpu::builtin_kernel_source("conv2d")) ==
        std::vector<std::string>{"f16s", "f16", "texel", "texel_f16s", "texel_f16"});
  CHECK(gpu::declared_variants("// nothing here\nvoid main() {}\n").empty());
  CHECK(gpu::split_kernel_name("conv2d_f16s").stem == "conv2d");
  CHECK(gpu::split_kernel_name("conv2d_f16s").variant == "f16s");
  CHECK(gpu::split_kernel_name("conv2d_subgroup").variant.empty());
  // Longest suffix first: "_texel_f16" is not "_f16" of a kernel "conv2d_texel".
  CHECK(gpu::split_kernel_name("conv2d_texel_f16").stem == "conv2d");
  CHECK(gpu::split_kernel_name("conv2d_texel_f16").variant == "texel_f16");
  CHECK(gpu::split_kernel_name("conv2d_texel").variant == "texel");
  CHECK_THROWS_WITH(gpu::builtin_kernel_source("conv3d"), Catch::Contains("no built-in kernel named 'conv3d'") &&
                                                              Catch::Contains("conv2d_gemm"));
}

TEST_CASE("sandbox: the interface read from SPIR-V", "[sandbox]") {
  const gpu::SpirvBlob& conv = gpu::find_shader("conv2d");
  const gpu::SpirvInterface direct = gpu::reflect_spirv_interface({conv.words, conv.word_count});
  REQUIRE(direct.descriptors.size() == 6);
  for (std::uint32_t b = 0; b < 6; ++b) {
    CHECK(direct.descriptors[b].set == 0);
    CHECK(direct.descriptors[b].binding == b);
    CHECK(direct.descriptors[b].kind == gpu::DescriptorKind::storage_buffer);
  }
  CHECK(direct.has_push_constants);
  CHECK(direct.push_constant_bytes == 21 * 4);  // ops/conv2d_gpu.cpp's ConvPush
  const gpu::SpirvBlob& sg = gpu::find_shader("conv2d_subgroup");
  const gpu::SpirvInterface subgroup = gpu::reflect_spirv_interface({sg.words, sg.word_count});
  REQUIRE(subgroup.descriptors.size() == 6);
  CHECK(subgroup.descriptors[0].kind == gpu::DescriptorKind::uniform_texel_buffer);
  CHECK(subgroup.descriptors[1].kind == gpu::DescriptorKind::uniform_texel_buffer);
  CHECK(subgroup.descriptors[2].kind == gpu::DescriptorKind::storage_buffer);
  CHECK(gpu::interface_mismatches(direct, direct).empty());
  CHECK(!gpu::interface_mismatches(direct, subgroup).empty());
  const std::uint32_t not_spirv[] = {1, 2, 3, 4, 5, 6};
  CHECK_THROWS_WITH(gpu::reflect_spirv_interface(not_spirv), Catch::Contains("not a SPIR-V module"));
}

TEST_CASE("sandbox: compiler messages carry file and line", "[sandbox]") {
  const auto d = gpu::parse_glsl_messages(
      "edit.comp:12: error: 'x' : undeclared identifier\nedit.comp:3: warning: something\nedit.comp: error: "
      "no line\n2 errors generated.\n");
  REQUIRE(d.size() == 3);
  CHECK(d[0].file == "edit.comp");
  CHECK(d[0].line == 12);
  CHECK(d[0].severity == "error");
  CHECK(d[0].message == "'x' : undeclared identifier");
  CHECK(d[1].severity == "warning");
  CHECK(d[2].line == 0);
}

TEST_CASE("sandbox: the built-in conv2d source recompiled at run time gives bit-identical results", "[sandbox]") {
  const auto builtin_source = std::make_shared<const gpu::ShaderOverride>(
      std::string(gpu::builtin_kernel_source("conv2d")), "conv2d.comp");
  for (const workbench::Conv2dCase& c : workbench::conv2d_cases("shapes")) {
    INFO(c.name);
    const auto builtin = workbench::run_conv2d_case(device(), c);
    const auto recompiled = workbench::run_conv2d_case(device(), c, ops::ConvAlgorithm::direct, builtin_source);
    CHECK(builtin.pass);
    CHECK(differing_bits(builtin.output, recompiled.output) == 0);
  }
  require_no_validation_messages();
}

TEST_CASE("sandbox: a correct rewrite (another loop order) passes every conv2d case", "[sandbox]") {
  const auto rewrite = edit("conv2d_loop_order.comp");
  for (const workbench::Conv2dCase& c : workbench::conv2d_cases("all")) {
    const auto r = workbench::run_conv2d_case(device(), c, ops::ConvAlgorithm::direct, rewrite);
    INFO(c.name << ": " << numerics::to_string(r.error) << " " << r.failure);
    CHECK(r.pass);
    // Not the built-in kernel in disguise: it sums in another order, so some bits differ.
  }
  const workbench::Conv2dCase big = workbench::conv2d_cases("shapes").at(8);  // 128 channels 3x3
  CHECK(differing_bits(workbench::run_conv2d_case(device(), big).output,
                       workbench::run_conv2d_case(device(), big, ops::ConvAlgorithm::direct, rewrite).output) > 0);
  require_no_validation_messages();
}

TEST_CASE("sandbox: broken edits fail the conv2d cases they break", "[sandbox]") {
  SECTION("a wrong weight index fails every case with a non-trivial KxK kernel") {
    const auto broken = edit("conv2d_wrong_index.comp");
    int failed = 0;
    for (const workbench::Conv2dCase& c : workbench::conv2d_cases("all")) {
      const auto r = workbench::run_conv2d_case(device(), c, ops::ConvAlgorithm::direct, broken);
      const bool transposes = c.params.kernel_h > 1 || c.params.kernel_w > 1;
      INFO(c.name << ": " << numerics::to_string(r.error));
      // A square kernel that fits the input: its taps meet real pixels off the diagonal (on a 1x1
      // input only the centre tap does, which the swap leaves in place).
      if (c.params.kernel_h == c.params.kernel_w && c.params.kernel_h > 1 && c.input[2] >= c.params.kernel_h &&
          c.input[3] >= c.params.kernel_w)
        CHECK(!r.pass);
      if (!transposes) CHECK(r.pass);
      failed += !r.pass;
    }
    CHECK(failed > 20);
  }
  SECTION("a bias added twice fails exactly the cases with a bias") {
    const auto broken = edit("conv2d_bias_twice.comp");
    for (const workbench::Conv2dCase& c : workbench::conv2d_cases("all")) {
      const auto r = workbench::run_conv2d_case(device(), c, ops::ConvAlgorithm::direct, broken);
      INFO(c.name << ": " << numerics::to_string(r.error));
      CHECK(r.pass == !c.params.has_bias);
      if (c.params.has_bias) CHECK(r.error.rel_l2 > 100 * r.rel_l2_limit);  // O(0.1..1), not rounding
    }
  }
  require_no_validation_messages();
}

TEST_CASE("sandbox: a syntax error names its line; the previous kernel keeps running", "[sandbox]") {
  graph::Graph g = folded_conv_bn_layer();
  const std::string conv = g.nodes().at(0).name;
  std::mt19937 rng(1401);
  const std::vector<float> x = random_values(rng, ops::numel(g.value(g.inputs()[0]).shape));
  graph::ExecutorOptions eo;
  eo.conv_algorithm = ops::ConvAlgorithm::direct;  // the node runs conv2d.comp, which the edits replace
  eo.kernel_overrides[conv] = edit("conv2d_loop_order.comp");
  graph::Executor e(device(), g, eo);
  e.set_input(x);
  e.run();
  const std::string out = g.value(g.outputs()[0]).name;
  const std::vector<float> before = e.read(out);

  try {
    edit("conv2d_syntax_error.comp");
    FAIL("a shader with a syntax error compiled");
  } catch (const gpu::GlslCompileError& err) {
    INFO(err.what());
    REQUIRE(!err.diagnostics().empty());
    CHECK(err.diagnostics()[0].line == 63);
    CHECK(err.diagnostics()[0].file.ends_with("conv2d_syntax_error.comp"));
    CHECK(std::string(err.what()).find("conv2d_syntax_error.comp:63: error:") != std::string::npos);
  }
  SECTION("an interface that does not fit is refused, nothing replaced") {
    auto refused = eo.kernel_overrides;
    refused[conv] = edit("conv2d_bias_texel.comp");
    CHECK_THROWS_AS(e.set_kernel_overrides(refused), gpu::KernelInterfaceMismatch);
  }
  SECTION("a pipeline the driver cannot create is refused, nothing replaced") {
    auto refused = eo.kernel_overrides;
    refused[conv] = edit("conv2d_bias_twice.comp");
    device().fail_next_pipeline_create();
    CHECK_THROWS_AS(e.set_kernel_overrides(refused), gpu::PipelineCreationFailed);
  }
  SECTION("a node the graph does not have is refused, nothing replaced") {
    auto refused = eo.kernel_overrides;
    refused["no_such_node"] = edit("conv2d_bias_twice.comp");
    CHECK_THROWS_WITH(e.set_kernel_overrides(refused), Catch::Contains("node 'no_such_node'"));
  }
  CHECK(e.options().kernel_overrides.at(conv)->file_name().ends_with("conv2d_loop_order.comp"));
  e.reset();
  e.run();
  CHECK(differing_bits(e.read(out), before) == 0);
  require_no_validation_messages();
}

TEST_CASE("sandbox: an override for a node that runs no kernel is refused", "[sandbox]") {
  graph::Graph g = folded_conv_bn_layer();
  const graph::ValueId y = g.outputs().at(0);
  const graph::ValueId flat = g.add_node("flatten1", "", graph::FlattenAttrs{}, {y});
  g.mark_output(flat);
  graph::ExecutorOptions eo;
  eo.kernel_overrides["flatten1"] = edit("conv2d_loop_order.comp");
  CHECK_THROWS_WITH(graph::Executor(device(), g, eo),
                    Catch::Contains("node flatten1 (flatten): runs no kernel") &&
                        Catch::Contains("conv2d_loop_order.comp has nothing to replace"));
}

TEST_CASE("sandbox: overrides whose bindings or push constants differ are refused, naming them", "[sandbox]") {
  graph::Graph g = folded_conv_bn_layer();
  const std::string conv = g.nodes().at(0).name;
  graph::ExecutorOptions eo;
  eo.conv_algorithm = ops::ConvAlgorithm::direct;
  eo.kernel_overrides[conv] = edit("conv2d_bias_texel.comp");
  CHECK_THROWS_WITH(graph::Executor(device(), g, eo),
                    Catch::Contains(fmt::format("node {} (conv2d)", conv)) &&
                        Catch::Contains("binding 2: expected a storage buffer, found a uniform texel buffer"));
  eo.kernel_overrides[conv] = edit("conv2d_short_push.comp");
  CHECK_THROWS_WITH(graph::Executor(device(), g, eo),
                    Catch::Contains("push-constant block: expected 84 bytes, found 76"));
  // An edit that never reads a constant the encoder selects with (here HAS_BIAS: it would drop
  // every conv's bias), or one from an older source without a constant added since.
  eo.kernel_overrides[conv] = edit("conv2d_no_bias.comp");
  CHECK_THROWS_WITH(graph::Executor(device(), g, eo),
                    Catch::Contains("specialization constant HAS_BIAS (id 1): the kernel uses it and the edit does not"));
  // The direct kernel's edit where the node runs the subgroup kernel: its storage buffers are
  // not the subgroup kernel's texel buffers.
  eo.conv_algorithm = ops::ConvAlgorithm::subgroup;
  eo.kernel_overrides[conv] = edit("conv2d_loop_order.comp");
  if (ops::subgroup_conv_fits(device(), g.nodes().at(0).as<graph::ConvAttrs>()->params, g.value(g.inputs()[0]).shape)) {
    CHECK_THROWS_WITH(graph::Executor(device(), g, eo),
                      Catch::Contains("cannot replace kernel conv2d_subgroup") &&
                          Catch::Contains("binding 0: expected a uniform texel buffer"));
  }
  require_no_validation_messages();
}

TEST_CASE("sandbox: a node's edited kernel judged against the float64 oracle in its network", "[sandbox]") {
  graph::Graph g = folded_conv_bn_layer();
  const std::string conv = g.nodes().at(0).name;
  std::mt19937 rng(1402);
  const std::vector<float> x = random_values(rng, ops::numel(g.value(g.inputs()[0]).shape));
  graph::ExecutorOptions eo;
  eo.conv_algorithm = ops::ConvAlgorithm::direct;
  SECTION("a correct rewrite stays within the tolerance") {
    eo.kernel_overrides[conv] = edit("conv2d_loop_order.comp");
    const auto checks = workbench::check_kernel_overrides(device(), g, x, eo);
    REQUIRE(checks.size() == 1);
    INFO(checks[0].vs_oracle.rel_l2);
    CHECK(checks[0].within_tolerance);
    CHECK(checks[0].vs_oracle.rel_l2 < 1e-6);
    CHECK(checks[0].network_output_vs_builtin.rel_l2 < 1e-6);
  }
  SECTION("a broken edit jumps past the tolerance, with its worst elements") {
    for (const char* file : {"conv2d_wrong_index.comp", "conv2d_bias_twice.comp"}) {
      INFO(file);
      eo.kernel_overrides[conv] = edit(file);
      const auto checks = workbench::check_kernel_overrides(device(), g, x, eo);
      REQUIRE(checks.size() == 1);
      CHECK(!checks[0].within_tolerance);
      CHECK(checks[0].vs_oracle.rel_l2 > 1e-2);
      REQUIRE(!checks[0].worst.empty());
      CHECK(checks[0].worst[0].index.size() == 4);
      CHECK(checks[0].network_output_vs_builtin.rel_l2 > 1e-2);
    }
  }
  require_no_validation_messages();
}
