"""The seed Dual Path Network's bottleneck (kuangliu's pytorch-cifar DPN `Bottleneck`), shared by
tools/dpn_shapes.py (the dpn-shapes detector) and tools/torch_corpus.py (the CIFAR DPN of the
PyTorch corpus). Its forward pass splits with x[:, :d] and x[:, d:], which torch.onnx.export writes
as Slices whose ends are INT64_MAX."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class DualPathBottleneck(nn.Module):
    """The seed DPN's bottleneck. The output of the last 1x1 conv has out_planes + dense_depth
    channels: the first out_planes are added to the shortcut's first out_planes (residual path),
    the shortcut's remaining channels and the block's last dense_depth are concatenated behind
    them (dense path), so each block widens the dense path by dense_depth."""

    def __init__(self, last_planes, in_planes, out_planes, dense_depth, stride, first_layer, groups):
        super().__init__()
        self.out_planes = out_planes
        self.conv1 = nn.Conv2d(last_planes, in_planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv2 = nn.Conv2d(in_planes, in_planes, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(in_planes)
        self.conv3 = nn.Conv2d(in_planes, out_planes + dense_depth, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes + dense_depth)
        self.shortcut = nn.Sequential()
        if first_layer:
            self.shortcut = nn.Sequential(
                nn.Conv2d(last_planes, out_planes + dense_depth, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_planes + dense_depth))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        x = self.shortcut(x)
        d = self.out_planes
        y = torch.cat([x[:, :d] + y[:, :d], x[:, d:], y[:, d:]], 1)
        return F.relu(y)
