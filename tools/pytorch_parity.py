#!/usr/bin/python3
"""Golden data for tests/test_pytorch_parity.cpp: the zoo's blocks rebuilt in PyTorch, a peer's
implementation, run with the very same weights.

For each case: fusescope_export_weights writes the model's constants, a seeded input and our
float64 oracle's output to a temporary safetensors file; this script builds the network as the
original code does (nn.Conv2d / nn.BatchNorm2d in eval mode, running statistics from the
"<bn>.stats" rows gamma, beta, running_mean, running_var), checks that PyTorch in float64 agrees
with our oracle (so both sides built the same network), then runs it:
  unfused float32, unfused float64 (module.double()),
  fused float32 -- conv+BN by torch.nn.utils.fusion.fuse_conv_bn_eval, as PyTorch users do, and
  RepVGG / PP-YOLOE blocks by their convert_to_deploy (get_equivalent_kernel_bias with
  _fuse_bn_tensor, _pad_1x1_to_3x3_tensor, the identity kernel and alpha, in float32 as the
  original repos run it).
It writes tests/golden/<case>.safetensors holding only the input, those outputs and one folded
conv's float32 weights -- never the model's weights: the test rebuilds those in C++.

Needs Debian's python3-torch (with numpy); nothing else, and only to regenerate goldens:
  /usr/bin/python3 tools/pytorch_parity.py --exporter build/fusescope_export_weights
See tools/README.md.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_DIR = os.path.join(os.path.dirname(HERE), "tests", "golden")

# ---------------------------------------------------------------------------------------------
# The cases. Inputs are small so the goldens stay tens of KB; whole networks where they are
# cheap to run (the test rebuilds them in C++, so their size costs nothing on disk).
#   fold: the conv whose fused weights are stored, and the branches (conv:bn, ":bn" for an
#         identity BN) that make it; alpha scales branch alpha_branch (PP-YOLOE).
#   fold_channels: how many output channels of the fused kernel to store (0: all).
CASES = [
    dict(name="conv_bn_layer_relu6",
         model="conv_bn_layer:channels=8,num_filters=16,filter_size=3,act=relu6",
         batch=1, height=10, width=10, keep=[],
         fold=dict(conv="conv1", branches=["conv1:conv1_bn"])),
    dict(name="conv_bn_layer_grouped_hard_swish",
         model="conv_bn_layer:channels=8,num_filters=16,filter_size=3,stride=2,groups=4,act=hard_swish",
         batch=1, height=13, width=13, keep=[],
         fold=dict(conv="conv1", branches=["conv1:conv1_bn"])),
    dict(name="conv_bn_layer_depthwise_bias",
         model="conv_bn_layer:channels=16,num_filters=16,filter_size=5,groups=16,bias=true,act=none",
         batch=2, height=7, width=7, keep=[],
         fold=dict(conv="conv1", branches=["conv1:conv1_bn"])),
    dict(name="resnet50_keras",
         model="resnet50-keras", batch=1, height=32, width=32, keep=["predictions_dense"],
         fold=dict(conv="conv2_block1_1_conv", branches=["conv2_block1_1_conv:conv2_block1_1_bn"])),
    dict(name="resnet45",
         model="resnet45", batch=1, height=8, width=16, keep=[],
         fold=dict(conv="layer1.0.conv2", branches=["layer1.0.conv2:layer1.0.bn2"]),
         fold_channels=8),
    dict(name="repvgg_a0",
         model="repvgg-a0", batch=1, height=32, width=32, keep=["gap"],
         fold=dict(conv="stage1.1.rbr_dense.conv",
                   branches=["stage1.1.rbr_dense.conv:stage1.1.rbr_dense.bn",
                             "stage1.1.rbr_1x1.conv:stage1.1.rbr_1x1.bn",
                             ":stage1.1.rbr_identity"]),
         fold_channels=8),
    dict(name="ppyoloe_repvgg_block_alpha_relu",
         model="ppyoloe-repvgg-block:ch_in=16,ch_out=16,alpha=true,act=relu",
         batch=1, height=8, width=8, keep=[],
         fold=dict(conv="conv1.conv", branches=["conv1.conv:conv1.bn", "conv2.conv:conv2.bn"],
                   alpha="alpha", alpha_branch=1)),
    dict(name="ppyoloe_repvgg_block_alpha_silu",
         model="ppyoloe-repvgg-block:ch_in=16,ch_out=24,alpha=true,act=silu",
         batch=1, height=8, width=8, keep=[],
         fold=dict(conv="conv1.conv", branches=["conv1.conv:conv1.bn", "conv2.conv:conv2.bn"],
                   alpha="alpha", alpha_branch=1)),
    dict(name="dpn26",
         model="dpn26", batch=1, height=32, width=32, keep=["avg_pool2d"],
         fold=dict(conv="layer1.0.conv2", branches=["layer1.0.conv2:layer1.0.bn2"])),
]
SEED = 1         # models::ModelOptions::seed: weights
INPUT_SEED = 7   # models::calibration_images(shape, 7); BN statistics use seed + 1000

# ---------------------------------------------------------------------------------------------
# safetensors, the few lines of it we need (F32 / F64, little-endian).
_DTYPES = {"F32": np.float32, "F64": np.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=_DTYPES[info["dtype"]])
        tensors[name] = arr.reshape(info["shape"]).copy()
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    header, offset, chunks = {"__metadata__": metadata}, 0, []
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        raw = arr.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Layers built from the exported constants by name. Every constant must be used once, so a
# module that does not match our graph fails loudly instead of silently ignoring weights.
class Weights:
    def __init__(self, tensors, metadata):
        self.tensors = {k: v for k, v in tensors.items() if k != "input" and not k.startswith("oracle.")}
        self.metadata = metadata
        self.used = set()

    def take(self, name):
        if name not in self.tensors:
            raise KeyError(f"exported file has no constant {name!r}")
        self.used.add(name)
        return torch.from_numpy(self.tensors[name].copy())

    def conv(self, name, cin, cout, k, stride=1, padding=0, groups=1, bias=False):
        m = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups, bias=bias)
        with torch.no_grad():
            m.weight.copy_(self.take(name + ".weight"))
            if bias:
                m.bias.copy_(self.take(name + ".bias"))
        return m

    def bn(self, name, c, eps):
        ours = float(self.metadata["eps." + name])
        if abs(ours - eps) > 1e-6 * eps:
            raise ValueError(f"{name}: our builder's eps {ours} is not the original's {eps}")
        m = nn.BatchNorm2d(c, eps=eps)
        stats = self.take(name + ".stats")
        with torch.no_grad():
            m.weight.copy_(stats[0])
            m.bias.copy_(stats[1])
            m.running_mean.copy_(stats[2])
            m.running_var.copy_(stats[3])
        return m

    def linear(self, name, cin, cout):
        m = nn.Linear(cin, cout)
        with torch.no_grad():
            m.weight.copy_(self.take(name + ".weight"))
            m.bias.copy_(self.take(name + ".bias"))
        return m

    def check_all_used(self):
        unused = sorted(set(self.tensors) - self.used)
        if unused:
            raise ValueError(f"constants the PyTorch module never read: {unused[:8]}")


def parse_args(spec, defaults):
    name, _, rest = spec.partition(":")
    values = dict(defaults)
    for item in filter(None, rest.split(",")):
        k, _, v = item.partition("=")
        if k not in values:
            raise KeyError(f"{name}: unknown argument {k}")
        values[k] = type(defaults[k])(v) if not isinstance(defaults[k], bool) else v in ("1", "true", "on")
    return values


def fuse_pair(parent, conv_attr, bn_attr):
    """conv -> bn in `parent` becomes one conv, by PyTorch's own fuse_conv_bn_eval."""
    setattr(parent, conv_attr, fuse_conv_bn_eval(getattr(parent, conv_attr), getattr(parent, bn_attr)))
    setattr(parent, bn_attr, nn.Identity())


# ---- PaddlePaddle's conv_bn_layer (PaddleClas / PaddleOCR) ----------------------------------
ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hard_swish": nn.Hardswish, "silu": nn.SiLU,
               "swish": nn.SiLU, "none": nn.Identity}


class ConvBnLayer(nn.Module):
    # conv2d(bias_attr=False) then batch_norm(act=act, epsilon=1e-5)
    def __init__(self, W, spec, in_channels):
        super().__init__()
        a = parse_args(spec, dict(filter_size=3, num_filters=32, stride=1, padding=-1, groups=1,
                                  act="relu", bias=False, name="conv1", channels=in_channels))
        padding = a["padding"] if a["padding"] >= 0 else (a["filter_size"] - 1) // 2
        name = a["name"]
        self.out_name = name + "_bn"
        self.conv = W.conv(name, a["channels"], a["num_filters"], a["filter_size"], a["stride"], padding,
                           a["groups"], a["bias"])
        self.bn = W.bn(name + "_bn", a["num_filters"], 1e-5)
        self.act = ACTIVATIONS[a["act"]]()

    def forward(self, x):
        return {self.out_name: self.act(self.bn(self.conv(x)))}

    def fuse(self):
        fuse_pair(self, "conv", "bn")


# ---- Keras ResNet50 (keras/applications/resnet.py: block1, stack1) ----------------------------
KERAS_EPS = 1.001e-5


class KerasBlock1(nn.Module):
    def __init__(self, W, cin, filters, stride, conv_shortcut, name):
        super().__init__()
        self.conv_shortcut = conv_shortcut
        if conv_shortcut:
            self.conv0 = W.conv(name + "_0_conv", cin, 4 * filters, 1, stride, bias=True)
            self.bn0 = W.bn(name + "_0_bn", 4 * filters, KERAS_EPS)
        self.conv1 = W.conv(name + "_1_conv", cin, filters, 1, stride, bias=True)
        self.bn1 = W.bn(name + "_1_bn", filters, KERAS_EPS)
        self.conv2 = W.conv(name + "_2_conv", filters, filters, 3, 1, padding=1, bias=True)  # 'same'
        self.bn2 = W.bn(name + "_2_bn", filters, KERAS_EPS)
        self.conv3 = W.conv(name + "_3_conv", filters, 4 * filters, 1, bias=True)
        self.bn3 = W.bn(name + "_3_bn", 4 * filters, KERAS_EPS)

    def forward(self, x):
        shortcut = self.bn0(self.conv0(x)) if self.conv_shortcut else x
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        return F.relu(shortcut + x)  # layers.Add()([shortcut, x]), Activation('relu')

    def fuse(self):
        for i in (["0"] if self.conv_shortcut else []) + ["1", "2", "3"]:
            fuse_pair(self, "conv" + i, "bn" + i)


class KerasResNet50(nn.Module):
    def __init__(self, W, spec):
        super().__init__()
        classes = parse_args(spec, dict(classes=1000))["classes"]
        self.conv1_pad = nn.ZeroPad2d(3)
        self.conv1_conv = W.conv("conv1_conv", 3, 64, 7, 2, bias=True)
        self.conv1_bn = W.bn("conv1_bn", 64, KERAS_EPS)
        self.pool1_pad = nn.ZeroPad2d(1)
        self.pool1_pool = nn.MaxPool2d(3, 2)
        blocks, cin = [], 64
        for stage, filters, n, stride in ((2, 64, 3, 1), (3, 128, 4, 2), (4, 256, 6, 2), (5, 512, 3, 2)):
            for i in range(1, n + 1):
                blocks.append(KerasBlock1(W, cin, filters, stride if i == 1 else 1, i == 1,
                                          f"conv{stage}_block{i}"))
                cin = 4 * filters
        self.blocks = nn.ModuleList(blocks)
        self.predictions = W.linear("predictions_dense", cin, classes)

    def forward(self, x):
        x = F.relu(self.conv1_bn(self.conv1_conv(self.conv1_pad(x))))
        x = self.pool1_pool(self.pool1_pad(x))
        for b in self.blocks:
            x = b(x)
        logits = self.predictions(x.mean(dim=(2, 3)))  # GlobalAveragePooling2D, Dense
        return {"predictions_dense": logits, "predictions": torch.softmax(logits, dim=-1)}

    def fuse(self):
        fuse_pair(self, "conv1_conv", "conv1_bn")
        for b in self.blocks:
            b.fuse()


# ---- PaddleOCR ResNet45 (ppocr/modeling/backbones/rec_resnet_45.py) ---------------------------
class BasicBlock45(nn.Module):
    def __init__(self, W, name, inplanes, planes, stride, downsample):
        super().__init__()
        self.conv1 = W.conv(name + ".conv1", inplanes, planes, 1)                    # conv1x1
        self.bn1 = W.bn(name + ".bn1", planes, 1e-5)
        self.relu = nn.ReLU()
        self.conv2 = W.conv(name + ".conv2", planes, planes, 3, stride, padding=1)   # conv3x3
        self.bn2 = W.bn(name + ".bn2", planes, 1e-5)
        self.downsample = None
        if downsample:
            self.downsample = nn.Sequential(W.conv(name + ".downsample.0", inplanes, planes, 1, stride),
                                            W.bn(name + ".downsample.1", planes, 1e-5))

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        out = out + residual
        return self.relu(out)

    def fuse(self):
        fuse_pair(self, "conv1", "bn1")
        fuse_pair(self, "conv2", "bn2")
        if self.downsample is not None:
            fuse_pair(self.downsample, "0", "1")


class ResNet45(nn.Module):
    def __init__(self, W, spec):
        super().__init__()
        self.conv1 = W.conv("conv1", 3, 32, 3, 1, padding=1)
        self.bn1 = W.bn("bn1", 32, 1e-5)
        self.relu = nn.ReLU()
        blocks, inplanes = [], 32
        for li, (n, stride, planes) in enumerate(zip([3, 4, 6, 6, 3], [2, 1, 2, 1, 1], [32, 64, 128, 256, 512])):
            for i in range(n):
                s = stride if i == 0 else 1
                blocks.append(BasicBlock45(W, f"layer{li + 1}.{i}", inplanes, planes, s,
                                           i == 0 and (stride != 1 or inplanes != planes)))
                inplanes = planes
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for b in self.blocks:
            x = b(x)
        return {"layer5.2.relu": x}

    def fuse(self):
        fuse_pair(self, "conv1", "bn1")
        for b in self.blocks:
            b.fuse()


# ---- RepVGG (DingXiaoH/RepVGG, repvgg.py) ----------------------------------------------------
def conv_bn(W, name, cin, cout, k, stride, padding):
    result = nn.Sequential()
    result.add_module("conv", W.conv(name + ".conv", cin, cout, k, stride, padding))
    result.add_module("bn", W.bn(name + ".bn", cout, 1e-5))
    return result


class RepVGGBlock(nn.Module):
    def __init__(self, W, name, in_channels, out_channels, stride):
        super().__init__()
        self.in_channels, self.groups = in_channels, 1
        self.nonlinearity = nn.ReLU()
        self.se = nn.Identity()
        self.rbr_identity = (W.bn(name + ".rbr_identity", in_channels, 1e-5)
                             if out_channels == in_channels and stride == 1 else None)
        self.rbr_dense = conv_bn(W, name + ".rbr_dense", in_channels, out_channels, 3, stride, 1)
        self.rbr_1x1 = conv_bn(W, name + ".rbr_1x1", in_channels, out_channels, 1, stride, 0)

    def forward(self, inputs):
        if hasattr(self, "rbr_reparam"):
            return self.nonlinearity(self.se(self.rbr_reparam(inputs)))
        id_out = 0 if self.rbr_identity is None else self.rbr_identity(inputs)
        return self.nonlinearity(self.se(self.rbr_dense(inputs) + self.rbr_1x1(inputs) + id_out))

    def get_equivalent_kernel_bias(self):
        kernel3x3, bias3x3 = self._fuse_bn_tensor(self.rbr_dense)
        kernel1x1, bias1x1 = self._fuse_bn_tensor(self.rbr_1x1)
        kernelid, biasid = self._fuse_bn_tensor(self.rbr_identity)
        return kernel3x3 + self._pad_1x1_to_3x3_tensor(kernel1x1) + kernelid, bias3x3 + bias1x1 + biasid

    def _pad_1x1_to_3x3_tensor(self, kernel1x1):
        if kernel1x1 is None:
            return 0
        return torch.nn.functional.pad(kernel1x1, [1, 1, 1, 1])

    def _fuse_bn_tensor(self, branch):
        if branch is None:
            return 0, 0
        if isinstance(branch, nn.Sequential):
            kernel = branch.conv.weight
            running_mean, running_var = branch.bn.running_mean, branch.bn.running_var
            gamma, beta, eps = branch.bn.weight, branch.bn.bias, branch.bn.eps
        else:
            assert isinstance(branch, nn.BatchNorm2d)
            if not hasattr(self, "id_tensor"):
                input_dim = self.in_channels // self.groups
                kernel_value = np.zeros((self.in_channels, input_dim, 3, 3), dtype=np.float32)
                for i in range(self.in_channels):
                    kernel_value[i, i % input_dim, 1, 1] = 1
                self.id_tensor = torch.from_numpy(kernel_value).to(branch.weight.device)
            kernel = self.id_tensor
            running_mean, running_var = branch.running_mean, branch.running_var
            gamma, beta, eps = branch.weight, branch.bias, branch.eps
        std = (running_var + eps).sqrt()
        t = (gamma / std).reshape(-1, 1, 1, 1)
        return kernel * t, beta - running_mean * gamma / std

    def switch_to_deploy(self):
        kernel, bias = self.get_equivalent_kernel_bias()
        conv = self.rbr_dense.conv
        self.rbr_reparam = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                                     conv.padding, conv.dilation, conv.groups, bias=True)
        self.rbr_reparam.weight.data = kernel
        self.rbr_reparam.bias.data = bias
        for para in self.parameters():
            para.detach_()
        self.__delattr__("rbr_dense")
        self.__delattr__("rbr_1x1")
        if hasattr(self, "rbr_identity"):
            self.__delattr__("rbr_identity")
        if hasattr(self, "id_tensor"):
            self.__delattr__("id_tensor")


class RepVGG(nn.Module):
    def __init__(self, W, spec, num_blocks, width_multiplier):
        super().__init__()
        num_classes = parse_args(spec, dict(num_classes=1000))["num_classes"]
        self.in_planes = min(64, int(64 * width_multiplier[0]))
        self.stage0 = RepVGGBlock(W, "stage0", 3, self.in_planes, 2)
        stages = []
        for s, (planes, n) in enumerate(zip((64, 128, 256, 512), num_blocks)):
            planes = int(planes * width_multiplier[s])
            blocks = []
            for i in range(n):
                blocks.append(RepVGGBlock(W, f"stage{s + 1}.{i}", self.in_planes, planes, 2 if i == 0 else 1))
                self.in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.stage1, self.stage2, self.stage3, self.stage4 = stages
        self.gap = nn.AdaptiveAvgPool2d(output_size=1)
        self.linear = W.linear("linear", int(512 * width_multiplier[3]), num_classes)

    def forward(self, x):
        out = self.stage0(x)
        out = self.stage4(self.stage3(self.stage2(self.stage1(out))))
        pooled = self.gap(out)
        return {"gap": pooled, "linear": self.linear(pooled.view(pooled.size(0), -1))}

    def fuse(self):  # repvgg_model_convert
        for module in self.modules():
            if hasattr(module, "switch_to_deploy"):
                module.switch_to_deploy()


# ---- PP-YOLOE RepVggBlock (PaddleDetection ppdet/modeling/backbones/cspresnet.py) -------------
class PaddleConvBNLayer(nn.Module):
    def __init__(self, W, name, ch_in, ch_out, filter_size, padding):
        super().__init__()
        self.conv = W.conv(name + ".conv", ch_in, ch_out, filter_size, 1, padding)
        self.bn = W.bn(name + ".bn", ch_out, 1e-5)
        self.act = nn.Identity()  # act=None

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class PPYoloeRepVggBlock(nn.Module):
    def __init__(self, W, spec):
        super().__init__()
        a = parse_args(spec, dict(ch_in=64, ch_out=64, alpha=True, act="relu"))
        self.ch_in, self.ch_out = a["ch_in"], a["ch_out"]
        self.conv1 = PaddleConvBNLayer(W, "conv1", self.ch_in, self.ch_out, 3, 1)
        self.conv2 = PaddleConvBNLayer(W, "conv2", self.ch_in, self.ch_out, 1, 0)
        self.act = ACTIVATIONS[a["act"]]()
        self.alpha = nn.Parameter(W.take("alpha")) if a["alpha"] else None

    def forward(self, x):
        if hasattr(self, "conv"):
            y = self.conv(x)
        elif self.alpha is not None:
            y = self.conv1(x) + self.alpha * self.conv2(x)
        else:
            y = self.conv1(x) + self.conv2(x)
        return {"act": self.act(y)}

    def fuse(self):  # convert_to_deploy
        if not hasattr(self, "conv"):
            self.conv = nn.Conv2d(self.ch_in, self.ch_out, 3, 1, padding=1)
        kernel, bias = self.get_equivalent_kernel_bias()
        self.conv.weight.data = kernel
        self.conv.bias.data = bias
        self.__delattr__("conv1")
        self.__delattr__("conv2")

    def get_equivalent_kernel_bias(self):
        kernel3x3, bias3x3 = self._fuse_bn_tensor(self.conv1)
        kernel1x1, bias1x1 = self._fuse_bn_tensor(self.conv2)
        if self.alpha is not None:
            return (kernel3x3 + self.alpha * self._pad_1x1_to_3x3_tensor(kernel1x1),
                    bias3x3 + self.alpha * bias1x1)
        return kernel3x3 + self._pad_1x1_to_3x3_tensor(kernel1x1), bias3x3 + bias1x1

    def _pad_1x1_to_3x3_tensor(self, kernel1x1):
        if kernel1x1 is None:
            return 0
        return F.pad(kernel1x1, [1, 1, 1, 1])

    def _fuse_bn_tensor(self, branch):
        if branch is None:
            return 0, 0
        kernel = branch.conv.weight
        running_mean, running_var = branch.bn.running_mean, branch.bn.running_var
        gamma, beta, eps = branch.bn.weight, branch.bn.bias, branch.bn.eps
        std = (running_var + eps).sqrt()
        t = (gamma / std).reshape((-1, 1, 1, 1))
        return kernel * t, beta - running_mean * gamma / std


# ---- DPN for CIFAR-10 (kuangliu/pytorch-cifar, models/dpn.py) ---------------------------------
class DPNBottleneck(nn.Module):
    def __init__(self, W, name, last_planes, in_planes, out_planes, dense_depth, stride, first_layer):
        super().__init__()
        self.out_planes, self.dense_depth = out_planes, dense_depth
        self.conv1 = W.conv(name + ".conv1", last_planes, in_planes, 1)
        self.bn1 = W.bn(name + ".bn1", in_planes, 1e-5)
        self.conv2 = W.conv(name + ".conv2", in_planes, in_planes, 3, stride, padding=1, groups=32)
        self.bn2 = W.bn(name + ".bn2", in_planes, 1e-5)
        self.conv3 = W.conv(name + ".conv3", in_planes, out_planes + dense_depth, 1)
        self.bn3 = W.bn(name + ".bn3", out_planes + dense_depth, 1e-5)
        self.shortcut = nn.Sequential()
        if first_layer:
            self.shortcut = nn.Sequential(
                W.conv(name + ".shortcut.0", last_planes, out_planes + dense_depth, 1, stride),
                W.bn(name + ".shortcut.1", out_planes + dense_depth, 1e-5))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        x = self.shortcut(x)
        d = self.out_planes
        out = torch.cat([x[:, :d, :, :] + out[:, :d, :, :], x[:, d:, :, :], out[:, d:, :, :]], 1)
        return F.relu(out)

    def fuse(self):
        for i in "123":
            fuse_pair(self, "conv" + i, "bn" + i)
        if len(self.shortcut) == 2:
            fuse_pair(self.shortcut, "0", "1")


class DPN(nn.Module):
    def __init__(self, W, spec, num_blocks):
        super().__init__()
        in_planes, out_planes = (96, 192, 384, 768), (256, 512, 1024, 2048)
        dense_depth = (16, 32, 24, 128)
        self.conv1 = W.conv("conv1", 3, 64, 3, 1, padding=1)
        self.bn1 = W.bn("bn1", 64, 1e-5)
        self.last_planes = 64
        layers = []
        for s, stride in enumerate((1, 2, 2, 2)):
            blocks = []
            for i in range(num_blocks[s]):
                blocks.append(DPNBottleneck(W, f"layer{s + 1}.{i}", self.last_planes, in_planes[s], out_planes[s],
                                            dense_depth[s], stride if i == 0 else 1, i == 0))
                self.last_planes = out_planes[s] + (i + 2) * dense_depth[s]
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = W.linear("linear", out_planes[3] + (num_blocks[3] + 1) * dense_depth[3], 10)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        pooled = F.avg_pool2d(out, 4)
        return {"avg_pool2d": pooled, "linear": self.linear(pooled.view(pooled.size(0), -1))}

    def fuse(self):
        fuse_pair(self, "conv1", "bn1")
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            for b in layer:
                b.fuse()


def build(W, spec, input_channels):
    name = spec.partition(":")[0]
    if name == "conv_bn_layer":
        return ConvBnLayer(W, spec, input_channels)
    if name == "resnet50-keras":
        return KerasResNet50(W, spec)
    if name == "resnet45":
        return ResNet45(W, spec)
    if name == "repvgg-a0":
        return RepVGG(W, spec, (2, 4, 14, 1), (0.75, 0.75, 0.75, 2.5))
    if name == "repvgg-b0":
        return RepVGG(W, spec, (4, 6, 16, 1), (1.0, 1.0, 1.0, 2.5))
    if name == "ppyoloe-repvgg-block":
        return PPYoloeRepVggBlock(W, spec)
    if name == "dpn26":
        return DPN(W, spec, (2, 2, 2, 2))
    if name == "dpn92":  # kuangliu/pytorch-cifar's DPN92: the same planes, blocks (3, 4, 20, 3)
        return DPN(W, spec, (3, 4, 20, 3))
    raise KeyError(f"no PyTorch twin for {name}")


# ---------------------------------------------------------------------------------------------
def rel_l2(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def fused_kernel(model, conv_name):
    """The fused float32 kernel and bias standing where `conv_name` stood."""
    if isinstance(model, RepVGG):
        block = model.get_submodule(conv_name.rsplit(".rbr_dense.conv", 1)[0])
        conv = block.rbr_reparam
    elif isinstance(model, PPYoloeRepVggBlock):
        conv = model.conv
    else:
        conv = {n: m for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}[module_path(model, conv_name)]
    return conv.weight.detach().numpy().copy(), conv.bias.detach().numpy().copy()


def module_path(model, conv_name):
    # Our graph names are the original's layer names; map them onto this script's module paths.
    if isinstance(model, ConvBnLayer):
        return "conv"
    if isinstance(model, KerasResNet50):
        if conv_name == "conv1_conv":
            return "conv1_conv"
        names = [f"conv{s}_block{i}" for s, n in ((2, 3), (3, 4), (4, 6), (5, 3)) for i in range(1, n + 1)]
        prefix, _, idx = conv_name.rpartition("_conv")[0].rpartition("_")
        return f"blocks.{names.index(prefix)}.conv{idx}"
    if isinstance(model, ResNet45):
        if conv_name == "conv1":
            return "conv1"
        layer, block, conv = conv_name.split(".")[:3]
        offsets = np.cumsum([0, 3, 4, 6, 6, 3])
        return f"blocks.{offsets[int(layer[5:]) - 1] + int(block)}.{conv}"
    return conv_name  # DPN: module paths are our names


def run_case(case, exporter, tmpdir):
    exported = os.path.join(tmpdir, case["name"] + ".weights.safetensors")
    cmd = [exporter, "--model", case["model"], "--batch", str(case["batch"]), "--height", str(case["height"]),
           "--width", str(case["width"]), "--seed", str(SEED), "--input-seed", str(INPUT_SEED), "--out", exported]
    for k in case["keep"]:
        cmd += ["--keep", k]
    subprocess.run(cmd, check=True)
    tensors, meta = read_safetensors(exported)
    x32 = torch.from_numpy(tensors["input"])
    judged = meta["outputs"].split(",") + case["keep"]

    W = Weights(tensors, meta)
    model = build(W, case["model"], x32.shape[1]).eval()
    W.check_all_used()

    with torch.no_grad():
        unfused32 = {k: v.numpy().copy() for k, v in model(x32).items()}
        model64 = build(Weights(tensors, meta), case["model"], x32.shape[1]).eval().double()
        unfused64 = {k: v.numpy().copy() for k, v in model64(x32.double()).items()}
        # Both sides built the same network: PyTorch float64 against our float64 oracle (written
        # as float32, so agreement is to ~1e-7, where a wrong layer would be off by O(1)).
        for v in judged:
            e = rel_l2(tensors["oracle." + v], unfused64[v])
            if not e < 1e-6:
                raise AssertionError(f"{case['name']}: PyTorch float64 {v} is {e:.3g} from our oracle")
        model.fuse()
        fused32 = {k: v.numpy().copy() for k, v in model(x32).items()}
    weight, bias = fused_kernel(model, case["fold"]["conv"])
    keep_channels = case.get("fold_channels", 0) or weight.shape[0]
    fold = case["fold"]

    metadata = {k: meta[k] for k in ("model", "seed", "batch", "height", "width", "input_seed", "input_name",
                                     "outputs", "keep")}
    metadata.update({
        "judged": ",".join(judged),
        "torch_version": torch.__version__,
        "fold.conv": fold["conv"],
        "fold.branches": ",".join(fold["branches"]),
        "fold.alpha": fold.get("alpha", ""),
        "fold.alpha_branch": str(fold.get("alpha_branch", -1)),
        "fold.channels": str(keep_channels),
    })
    out = [("input", tensors["input"])]
    report = []
    for v in judged:
        out += [(f"pytorch.unfused32.{v}", unfused32[v]), (f"pytorch.fused32.{v}", fused32[v]),
                (f"pytorch.unfused64.{v}", unfused64[v])]
        report.append(f"{v}: fp32 unfused {rel_l2(unfused32[v], unfused64[v]):.3g}, "
                      f"fused {rel_l2(fused32[v], unfused64[v]):.3g} from float64; "
                      f"oracle vs torch64 {rel_l2(tensors['oracle.' + v], unfused64[v]):.2g}")
    out += [(f"pytorch.folded32.{fold['conv']}.weight", weight[:keep_channels]),
            (f"pytorch.folded32.{fold['conv']}.bias", bias)]
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    path = os.path.join(GOLDEN_DIR, case["name"] + ".safetensors")
    write_safetensors(path, out, metadata)
    print(f"{case['name']}: {os.path.getsize(path)} bytes; " + "; ".join(report), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exporter", required=True, help="path to the fusescope_export_weights binary")
    parser.add_argument("--case", action="append", help="only these cases (default: all)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    cases = [c for c in CASES if not args.case or c["name"] in args.case]
    if args.case and len(cases) != len(args.case):
        sys.exit(f"unknown case; the cases are: {', '.join(c['name'] for c in CASES)}")
    with tempfile.TemporaryDirectory(prefix="fusescope-parity-") as tmpdir:
        for case in cases:
            run_case(case, args.exporter, tmpdir)


if __name__ == "__main__":
    main()
