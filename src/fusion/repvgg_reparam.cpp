#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "fusion/passes.hpp"
#include "fusion/rewrite.hpp"

namespace fusescope::fusion {

namespace {

// One summand of a RepVGG block: BN(conv(x)), BN(x) (identity), optionally times alpha.
struct Branch {
  graph::NodeId conv = -1;  // -1: identity branch
  graph::NodeId bn = -1;
  graph::NodeId mul = -1;   // PP-YOLOE's alpha multiply, when present
  double alpha = 1.0;
  graph::ValueId input = graph::kNoValue;
};

std::optional<Branch> classify(const graph::Graph& g, graph::ValueId v, graph::NodeId parent) {
  Branch b;
  graph::NodeId p = g.value(v).producer;
  if (p < 0 || sole_consumer(g, v) != parent) return std::nullopt;
  if (const auto* bin = g.node(p).as<graph::BinaryAttrs>(); bin && bin->op == ops::BinaryOp::mul) {
    const graph::Node& mul = g.node(p);
    const graph::ValueId a = mul.inputs[0], c = mul.inputs[1];
    const graph::ValueId scalar = g.value(c).constant ? c : (g.value(a).constant ? a : graph::kNoValue);
    if (scalar == graph::kNoValue || ops::numel(g.value(scalar).shape) != 1) return std::nullopt;
    b.mul = p;
    b.alpha = g.value(scalar).data[0];
    v = scalar == c ? a : c;
    p = g.value(v).producer;
    if (p < 0 || sole_consumer(g, v) != b.mul) return std::nullopt;
  }
  const auto* bn = g.node(p).as<graph::BatchNormAttrs>();
  if (bn == nullptr || bn->activation.kind != ops::ActivationKind::none) return std::nullopt;
  b.bn = p;
  const graph::ValueId bn_in = g.node(p).inputs[0];
  const graph::NodeId q = g.value(bn_in).producer;
  if (q >= 0 && sole_consumer(g, bn_in) == p) {
    if (const auto* conv = g.node(q).as<graph::ConvAttrs>();
        conv && !conv->epilogue.batchnorm && !conv->epilogue.residual &&
        conv->epilogue.activation.kind == ops::ActivationKind::none) {
      b.conv = q;
      b.input = g.node(q).inputs[0];
      return b;
    }
  }
  b.input = bn_in;  // identity: BN straight on the block input
  return b;
}

// Leaves of a tree of adds whose inner nodes feed only the next add up.
void collect_summands(const graph::Graph& g, graph::NodeId add, std::vector<graph::ValueId>& leaves,
                      std::vector<graph::NodeId>& adds) {
  adds.push_back(add);
  for (graph::ValueId in : g.node(add).inputs) {
    const graph::NodeId p = g.value(in).producer;
    const auto* bin = p >= 0 ? g.node(p).as<graph::BinaryAttrs>() : nullptr;
    if (bin && bin->op == ops::BinaryOp::add && sole_consumer(g, in) == add) {
      collect_summands(g, p, leaves, adds);
    } else {
      leaves.push_back(in);
    }
  }
}

// A RepVGG block whose sum ends at node t: its branches (each BN-folded into a 3x3 kernel), the
// adds between them and the dense 3x3 conv whose parameters and name the merged conv takes.
struct Block {
  std::vector<Branch> branches;
  std::vector<graph::NodeId> adds;
  graph::NodeId dense = -1;
  graph::ValueId input = graph::kNoValue;
};

std::optional<Block> match_block(const graph::Graph& g, std::size_t t) {
  const auto* top = g.nodes()[t].as<graph::BinaryAttrs>();
  if (top == nullptr || top->op != ops::BinaryOp::add) return std::nullopt;
  std::vector<graph::ValueId> leaves;
  std::vector<graph::NodeId> adds;
  collect_summands(g, static_cast<graph::NodeId>(t), leaves, adds);
  if (leaves.size() < 2) return std::nullopt;
  std::vector<Branch> branches;
  bool ok = true;
  for (graph::ValueId leaf : leaves) {
    // The parent of a leaf is whichever add reads it.
    graph::NodeId parent = -1;
    for (graph::NodeId a : adds) {
      const auto& ins = g.node(a).inputs;
      if (std::find(ins.begin(), ins.end(), leaf) != ins.end()) parent = a;
    }
    auto b = classify(g, leaf, parent);
    if (!b) {
      ok = false;
      break;
    }
    branches.push_back(*b);
  }
  if (!ok) return std::nullopt;
  const graph::ValueId x = branches[0].input;
  const graph::ConvAttrs* dense = nullptr;
  graph::NodeId dense_id = -1;
  for (const Branch& b : branches) {
    if (b.input != x) ok = false;
    if (b.conv >= 0) {
      const auto* c = g.node(b.conv).as<graph::ConvAttrs>();
      if (c->params.kernel_h == 3 && c->params.kernel_w == 3 && dense == nullptr) {
        dense = c;
        dense_id = b.conv;
      }
    }
  }
  if (!ok || dense == nullptr) return std::nullopt;
  const ops::Conv2dParams dp = dense->params;
  if (dp.dilation_h != 1 || dp.dilation_w != 1 || dp.pad_top != dp.pad_bottom || dp.pad_left != dp.pad_right ||
      dp.pad_top < 1 || dp.pad_left < 1)
    return std::nullopt;
  const std::int64_t oc = dp.out_channels;
  // Every other branch must be a 1x1 (padding one less), the same stride and groups, or an
  // identity of a block with in == out channels and stride 1.
  for (const Branch& b : branches) {
    if (b.conv == dense_id) continue;
    if (b.conv >= 0) {
      const auto& p = g.node(b.conv).as<graph::ConvAttrs>()->params;
      const bool one_by_one = p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == dp.stride_h &&
                              p.stride_w == dp.stride_w && p.groups == dp.groups &&
                              p.out_channels == oc && p.pad_top == dp.pad_top - 1 &&
                              p.pad_bottom == dp.pad_bottom - 1 && p.pad_left == dp.pad_left - 1 &&
                              p.pad_right == dp.pad_right - 1 && p.dilation_h == 1 && p.dilation_w == 1;
      const bool another_3x3 = p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == dp.stride_h &&
                               p.stride_w == dp.stride_w && p.groups == dp.groups &&
                               p.out_channels == oc && p.pad_top == dp.pad_top &&
                               p.pad_left == dp.pad_left && p.pad_bottom == dp.pad_bottom &&
                               p.pad_right == dp.pad_right && p.dilation_h == 1 && p.dilation_w == 1;
      if (!one_by_one && !another_3x3) ok = false;
    } else if (dp.in_channels != oc || dp.stride_h != 1 || dp.stride_w != 1) {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;

  Block block;
  block.branches = std::move(branches);
  block.adds = std::move(adds);
  block.dense = dense_id;
  block.input = x;
  return block;
}

// One branch's contribution to the merged 3x3 kernel [oc, icg, 3, 3] and bias [oc], in float64:
// its BN folded in, a 1x1 kernel at the centre, the identity as 1 at the centre of its own
// channel, alpha applied.
void add_branch(const graph::Graph& g, const Branch& b, std::int64_t oc, std::int64_t icg, std::vector<double>& kernel,
                std::vector<double>& bias) {
  const graph::Node& bn_node = g.node(b.bn);
  const auto& stats = g.value(bn_node.inputs[1]).data;
  const double eps = bn_node.as<graph::BatchNormAttrs>()->params.epsilon;
  for (std::int64_t o = 0; o < oc; ++o) {
    const auto oi = static_cast<std::size_t>(o);
    const auto c = static_cast<std::size_t>(oc);
    const double s = stats[oi] / std::sqrt(static_cast<double>(stats[3 * c + oi]) + eps);
    double conv_bias = 0;
    if (b.conv >= 0) {
      const graph::Node& cn = g.node(b.conv);
      const auto& p = cn.as<graph::ConvAttrs>()->params;
      const auto& w = g.value(cn.inputs[1]).data;
      if (p.has_bias) conv_bias = g.value(cn.inputs[2]).data[oi];
      for (std::int64_t i = 0; i < icg; ++i) {
        for (std::int64_t ky = 0; ky < p.kernel_h; ++ky) {
          for (std::int64_t kx = 0; kx < p.kernel_w; ++kx) {
            // A 1x1 kernel sits at the centre of the 3x3.
            const std::int64_t y = p.kernel_h == 1 ? 1 : ky, xx = p.kernel_w == 1 ? 1 : kx;
            const double wv = w[static_cast<std::size_t>(((o * icg + i) * p.kernel_h + ky) * p.kernel_w + kx)];
            kernel[static_cast<std::size_t>(((o * icg + i) * 3 + y) * 3 + xx)] += b.alpha * wv * s;
          }
        }
      }
    } else {
      // Identity: output o reads its own channel, index o mod (in/groups) within its group.
      kernel[static_cast<std::size_t>(((o * icg + o % icg) * 3 + 1) * 3 + 1)] += b.alpha * s;
    }
    bias[oi] += b.alpha * (static_cast<double>(stats[c + oi]) + (conv_bias - stats[2 * c + oi]) * s);
  }
}

std::string branch_label(const graph::Graph& g, const Branch& b) {
  std::string label = b.conv < 0 ? fmt::format("identity: {}", g.node(b.bn).name)
                                 : fmt::format("{}x{}: {} + {}", g.node(b.conv).as<graph::ConvAttrs>()->params.kernel_h,
                                               g.node(b.conv).as<graph::ConvAttrs>()->params.kernel_w,
                                               g.node(b.conv).name, g.node(b.bn).name);
  if (b.mul >= 0) label += fmt::format(" x alpha {:g}", b.alpha);
  return label;
}

}  // namespace

std::vector<RepvggBlockKernels> repvgg_block_kernels(const graph::Graph& g) {
  std::vector<RepvggBlockKernels> out;
  std::vector<bool> inside(g.nodes().size(), false);  // adds of a block already found
  // From the end, like the pass: the outermost add of each sum is met first.
  for (std::size_t t = g.nodes().size(); t-- > 0;) {
    if (inside[t]) continue;
    const auto block = match_block(g, t);
    if (!block) continue;
    for (graph::NodeId a : block->adds) inside[static_cast<std::size_t>(a)] = true;
    const ops::Conv2dParams& dp = g.node(block->dense).as<graph::ConvAttrs>()->params;
    RepvggBlockKernels k;
    k.node = g.node(block->dense).name;
    k.out_channels = dp.out_channels;
    k.in_channels_per_group = dp.in_channels / dp.groups;
    const auto n = static_cast<std::size_t>(k.out_channels * k.in_channels_per_group * 9);
    for (const Branch& b : block->branches) {
      RepvggBranchKernel bk;
      bk.label = branch_label(g, b);
      bk.kernel.assign(n, 0.0);
      bk.bias.assign(static_cast<std::size_t>(k.out_channels), 0.0);
      add_branch(g, b, k.out_channels, k.in_channels_per_group, bk.kernel, bk.bias);
      k.branches.push_back(std::move(bk));
    }
    out.insert(out.begin(), std::move(k));  // network order
  }
  return out;
}

FusionReport reparameterize_repvgg(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  // Walk from the end so the outermost add of each sum is met first.
  for (std::size_t t = g.nodes().size(); t-- > 0;) {
    if (dead[t]) continue;
    const auto block = match_block(g, t);
    if (!block) continue;
    const std::vector<Branch>& branches = block->branches;
    const std::vector<graph::NodeId>& adds = block->adds;
    const graph::NodeId dense_id = block->dense;
    const graph::ValueId x = block->input;
    const ops::Conv2dParams dp = g.node(dense_id).as<graph::ConvAttrs>()->params;
    const std::int64_t oc = dp.out_channels, icg = dp.in_channels / dp.groups;

    // Sum the branches' folded kernels and biases in float64, round once.
    std::vector<double> kernel(static_cast<std::size_t>(oc * icg * 9), 0.0), bias(static_cast<std::size_t>(oc), 0.0);
    std::vector<std::string> replaced;
    for (const Branch& b : branches) {
      add_branch(g, b, oc, icg, kernel, bias);
      for (graph::NodeId n : {b.conv, b.bn, b.mul}) {
        if (n < 0) continue;
        replaced.insert(replaced.end(), g.node(n).provenance.begin(), g.node(n).provenance.end());
      }
    }
    std::string alpha_note;
    for (const Branch& b : branches)
      if (b.mul >= 0) alpha_note = fmt::format(", alpha {:g} on the 1x1 branch", b.alpha);

    const std::string name = g.node(dense_id).name;
    graph::ConvAttrs attrs;
    attrs.params = dp;
    attrs.params.has_bias = true;
    std::vector<float> k32(kernel.begin(), kernel.end()), b32(bias.begin(), bias.end());
    const graph::ValueId wk = add_unique_constant(g, name + ".reparam.weight", {oc, icg, 3, 3}, std::move(k32));
    const graph::ValueId bk = add_unique_constant(g, name + ".reparam.bias", {oc}, std::move(b32));
    for (const Branch& b : branches)
      for (graph::NodeId n : {b.conv, b.bn, b.mul})
        if (n >= 0) dead[static_cast<std::size_t>(n)] = true;
    for (graph::NodeId a : adds) {
      if (a == static_cast<graph::NodeId>(t)) continue;
      replaced.insert(replaced.end(), g.node(a).provenance.begin(), g.node(a).provenance.end());
      dead[static_cast<std::size_t>(a)] = true;
    }
    graph::Node& top_node = g.nodes()[t];
    replaced.insert(replaced.end(), top_node.provenance.begin(), top_node.provenance.end());
    top_node.name = name;
    top_node.attrs = attrs;
    top_node.inputs = {x, wk, bk, graph::kNoValue, graph::kNoValue};
    top_node.provenance = replaced;
    report.changes.push_back({"reparameterize_repvgg", name, replaced,
                              fmt::format("{} branches summed into one 3x3 conv{}", branches.size(), alpha_note)});
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
