// Bad parameters and shapes give an InvalidArgument that names the op, the parameter and what
// was expected — from the shape rules, from the GPU encoders (before anything is recorded, so
// no validation error and no GPU hang can follow) and from the oracle alike.
#include <catch2/catch.hpp>

#include <functional>
#include <limits>

#include "ops/activation_gpu.hpp"
#include "ops/batchnorm_gpu.hpp"
#include "ops/concat_gpu.hpp"
#include "ops/conv2d_gpu.hpp"
#include "ops/elementwise_gpu.hpp"
#include "ops/gemm_gpu.hpp"
#include "ops/pool2d_gpu.hpp"
#include "ops/softmax_gpu.hpp"
#include "reference/conv2d.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

struct BadCase {
  const char* name;
  std::function<void()> run;
  std::vector<std::string> message_mentions;  // every one must appear in the error
};

void check_bad_cases(const std::vector<BadCase>& cases) {
  for (const BadCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::string message;
      try {
        c.run();
      } catch (const ops::InvalidArgument& e) {
        message = e.what();
      }
      INFO("message: " << message);
      REQUIRE(!message.empty());
      for (const auto& m : c.message_mentions) CHECK_THAT(message, Catch::Contains(m));
      require_no_validation_messages();
    }
  }
}

ops::Conv2dParams conv(std::int64_t c, std::int64_t oc, std::int64_t k, std::int64_t pad = 0,
                       std::int64_t dilation = 1, std::int64_t groups = 1) {
  ops::Conv2dParams p;
  p.in_channels = c;
  p.out_channels = oc;
  p.kernel_h = p.kernel_w = k;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.dilation_h = p.dilation_w = dilation;
  p.groups = groups;
  return p;
}

}  // namespace

TEST_CASE("shape rules reject bad parameters with messages that name what and where", "[bad-input]") {
  const std::int64_t huge = std::int64_t{1} << 40;
  check_bad_cases({
      {"kernel larger than padded input",
       [] { ops::conv2d_output_shape(conv(3, 8, 3, 0, 4), {1, 3, 5, 5}, "conv2_block1_1_conv"); },
       {"conv2_block1_1_conv", "kernel 3x3", "dilation 4x4", "does not fit input 5x5"}},
      {"in_channels not divisible by groups",
       [] { ops::conv2d_output_shape(conv(6, 8, 3, 1, 1, 4), {1, 6, 8, 8}); },
       {"conv2d", "in_channels 6", "groups 4"}},
      {"out_channels not divisible by groups",
       [] { ops::conv2d_output_shape(conv(8, 6, 3, 1, 1, 4), {1, 8, 8, 8}); },
       {"out_channels 6", "groups 4"}},
      {"input channels disagree with the weights",
       [] { ops::conv2d_output_shape(conv(3, 8, 3), {1, 4, 8, 8}); },
       {"4 channels", "in_channels = 3"}},
      {"zero-sized input dimension", [] { ops::conv2d_output_shape(conv(3, 8, 1), {1, 3, 0, 8}); },
       {"dimension 2", "is 0", "expected > 0"}},
      {"negative stride",
       [] {
         auto p = conv(3, 8, 3);
         p.stride_h = -1;
         ops::conv2d_output_shape(p, {1, 3, 8, 8});
       },
       {"stride -1x1"}},
      {"negative padding",
       [] { ops::conv2d_output_shape(conv(3, 8, 3, -1), {1, 3, 8, 8}); },
       {"padding", "must not be negative"}},
      {"byte count overflows 64 bits",
       [=] { ops::checked_numel({huge, huge}, "activation buffer"); },
       {"activation buffer", "overflows"}},
      {"mismatched broadcast shapes",
       [] { ops::broadcast_shapes({2, 3}, {4, 3}, "add"); },
       {"add", "2x3", "4x3", "dimension 0"}},
      {"broadcast beyond rank 6",
       [] { ops::broadcast_shapes({1, 1, 1, 1, 1, 1, 2}, {2}, "mul"); },
       {"mul"}},
      {"dilated pool window with no tap on the input",
       [] {
         ops::Pool2dParams p;
         p.kernel_h = p.kernel_w = 2;
         p.stride_h = p.stride_w = 1;
         p.dilation_h = p.dilation_w = 3;
         p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
         ops::pool2d_output_shape(p, {1, 1, 2, 2}, "pool2");
       },
       {"pool2", "no tap"}},
      {"dilated average pool",
       [] {
         ops::Pool2dParams p;
         p.kind = ops::PoolKind::average;
         p.dilation_h = 2;
         ops::pool2d_output_shape(p, {1, 1, 8, 8}, "pool3");
       },
       {"pool3", "dilated average pooling"}},
      {"pool padding as large as the kernel",
       [] {
         ops::Pool2dParams p;
         p.kernel_h = p.kernel_w = 3;
         p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 3;
         ops::pool2d_output_shape(p, {1, 3, 8, 8}, "pool1");
       },
       {"pool1", "padding"}},
      {"pool kernel larger than input",
       [] {
         ops::Pool2dParams p;
         p.kernel_h = p.kernel_w = 9;
         ops::pool2d_output_shape(p, {1, 3, 8, 8}, "pool1");
       },
       {"pool1"}},
      {"concat dims disagree off the axis",
       [] { ops::concat_output_shape({{1, 4, 8, 8}, {1, 4, 7, 8}}, 1, "dpn_concat"); },
       {"dpn_concat"}},
      {"slice past the end",
       [] {
         ops::SliceParams p{1, 60, 8};
         ops::slice_output_shape(p, {1, 64, 4, 4}, "dual_path_split");
       },
       {"dual_path_split"}},
      {"gemm in_features disagree with the input",
       [] {
         ops::GemmParams p;
         p.in_features = 2048;
         p.out_features = 10;
         ops::gemm_output_shape(p, {1, 1024}, "fc1000");
       },
       {"fc1000", "2048"}},
      {"softmax axis out of range",
       [] { ops::softmax_output_shape(ops::SoftmaxParams{3}, {2, 10}, "probs"); },
       {"probs"}},
      {"batchnorm channel mismatch",
       [] { ops::batchnorm_output_shape({16, 1e-5f}, {1, 8, 4, 4}, "conv1_bn"); },
       {"conv1_bn", "8 channels", "expected 16"}},
      {"batchnorm epsilon not positive",
       [] { ops::batchnorm_output_shape({8, 0.0f}, {1, 8, 4, 4}, "conv1_bn"); },
       {"conv1_bn", "epsilon"}},
      {"unknown activation name", [] { ops::parse_activation("relu7"); }, {"relu7", "relu6"}},
  });
}

TEST_CASE("GPU encoders validate every operand before recording anything", "[bad-input][gpu]") {
  gpu::Device& dev = device();
  auto x = output_tensor({1, 3, 8, 8}, "x");
  auto w_wrong = output_tensor({8, 3, 5, 5}, "w");
  auto y = output_tensor({1, 8, 8, 8}, "y");
  auto y_wrong = output_tensor({1, 8, 7, 7}, "y_wrong");
  auto stats_wrong = output_tensor({4, 4}, "stats");
  auto a = output_tensor({2, 3}, "a");
  auto b = output_tensor({4, 3}, "b");
  auto ab = output_tensor({2, 3}, "ab");
  gpu::Recorder rec(dev, "bad-input");
  const ops::Conv2dParams p = conv(3, 8, 3, 1);
  check_bad_cases({
      {"conv weight shape", [&] {
         ops::encode_conv2d({dev, rec}, p, {}, {&x, &w_wrong, nullptr, nullptr, nullptr, &y}, "stem_conv");
       }, {"stem_conv", "weight", "8x3x5x5", "expected 8x3x3x3"}},
      {"conv output shape", [&] {
         auto w = output_tensor({8, 3, 3, 3}, "w_ok");
         ops::encode_conv2d({dev, rec}, p, {}, {&x, &w, nullptr, nullptr, nullptr, &y_wrong}, "stem_conv");
       }, {"stem_conv", "output", "1x8x7x7", "expected 1x8x8x8"}},
      {"conv bias declared but missing", [&] {
         auto w = output_tensor({8, 3, 3, 3}, "w_ok");
         auto pb = p;
         pb.has_bias = true;
         ops::encode_conv2d({dev, rec}, pb, {}, {&x, &w, nullptr, nullptr, nullptr, &y}, "stem_conv");
       }, {"stem_conv", "bias"}},
      {"conv BN statistics of the wrong size", [&] {
         auto w = output_tensor({8, 3, 3, 3}, "w_ok");
         ops::ConvEpilogue epi;
         epi.batchnorm = true;
         ops::encode_conv2d({dev, rec}, p, epi, {&x, &w, nullptr, &stats_wrong, nullptr, &y}, "stem_conv");
       }, {"stem_conv", "batchnorm statistics", "4x4", "expected 4x8"}},
      {"batchnorm statistics", [&] {
         ops::encode_batchnorm({dev, rec}, {3, 1e-5f}, {}, x, stats_wrong, x, "bn0");
       }, {"bn0", "4x4", "expected 4x3"}},
      {"activation output shape", [&] {
         ops::encode_activation({dev, rec}, ops::Activation::relu(), x, y, "relu0");
       }, {"relu0", "output"}},
      {"binary broadcast", [&] {
         ops::encode_binary({dev, rec}, ops::BinaryOp::add, a, b, ab, "residual_add");
       }, {"residual_add", "2x3", "4x3"}},
      {"upload with the wrong number of values", [&] {
         std::vector<float> v(10);
         ops::upload_tensor(dev, {3, 4}, v, "weights");
       }, {"weights", "10 values", "3x4"}},
  });
  CHECK(rec.dispatch_count() == 0);
}

TEST_CASE("the oracle rejects inconsistent tensors too", "[bad-input]") {
  check_bad_cases({
      {"oracle conv weight shape", [] {
         reference::HostTensor x({1, 3, 4, 4});
         reference::HostTensor w({2, 3, 2, 2});
         reference::conv2d(conv(3, 2, 3), x, w, nullptr);
       }, {"conv2d", "weight"}},
  });
}
