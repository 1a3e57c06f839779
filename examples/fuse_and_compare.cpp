// Load a network (a zoo name or an .onnx file), fold its BatchNorms and fuse what can be fused,
// run both on a Vulkan device on one input (an image, or a seeded one), and print how far each
// layer of the fused network drifts from the unfused one and from the float64 oracle — what
// `fusescope compare` prints, from a dozen lines of your own code.
//
//   fuse_and_compare [MODEL] [IMAGE]        MODEL default conv_bn_layer; .onnx files need a
//                                           fixed input shape
// Exits 1 when the fused output is further than rel-L2 1e-4 from the oracle (an fp32 network
// of this size lands near 1e-7; 1e-4 means something is wrong, not noisy).
#include <cstdio>
#include <exception>

#include "gpu/device.hpp"
#include "workbench/model_source.hpp"
#include "workbench/study.hpp"

int main(int argc, char** argv) try {
  using namespace fusescope;
  workbench::ModelSource source;
  source.model = argc > 1 ? argv[1] : "conv_bn_layer";
  if (argc > 2) source.input = argv[2];  // PNG/JPEG, resized and ImageNet-normalised

  graph::Graph reference = workbench::load_model(source);
  std::vector<float> input = workbench::load_input(source, reference);

  gpu::Device device;  // $FUSESCOPE_DEVICE, else the best device there is
  workbench::StudyOptions options;
  options.candidate.fuse = workbench::FuseMode::all;  // BN folded in float64, activations and adds fused
  workbench::Study study(device, std::move(reference), std::move(input), options);
  study.run();

  const workbench::StudyReport& r = study.report();
  std::printf("%s on %s: %zu nodes -> %zu fused\n", r.model.c_str(), r.device.c_str(), r.fusion.nodes_before,
              r.fusion.nodes_after);
  std::printf("%-32s %-12s %12s %12s %12s\n", "layer", "op", "fused/unf", "unf/oracle", "fused/oracle");
  for (const workbench::LayerRow& row : r.layers) {
    if (!row.fused_present) continue;  // an intermediate folded into a fused node
    std::printf("%-32s %-12s %12.3e %12.3e %12.3e\n", row.layer.c_str(), row.op.c_str(), row.fused_vs_unfused.rel_l2,
                row.unfused_vs_oracle.rel_l2, row.fused_vs_oracle.rel_l2);
  }
  double output_drift = 0;  // the row of the (first) graph output; a detector has several outputs
  for (const workbench::LayerRow& row : r.layers)
    if (row.layer == r.output_name) output_drift = row.fused_vs_oracle.rel_l2;
  std::printf("output %s: fused vs float64 oracle rel-L2 %.3e\n", r.output_name.c_str(), output_drift);
  return output_drift <= 1e-4 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "fuse_and_compare: %s\n", e.what());
  return 1;
}
