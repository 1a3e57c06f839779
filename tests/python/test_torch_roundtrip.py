# needs: pytest numpy torch
# A network built in PyTorch, exported by torch.onnx.export, loaded, fused and run by fusescope:
# PyTorch is the judge. conv(no bias) -> BN -> ReLU -> conv(bias) -> BN, seeded, with BatchNorm
# statistics far from the identity, exported with TrainingMode.PRESERVE (model in eval mode) so
# the BatchNormalization nodes reach fusescope and its own folding is what is tested (EVAL mode
# would make torch fold them itself, as tools/torch_corpus.py explains).
import numpy as np
import pytest
import torch

import fusescope
from conftest import max_abs, rel_l2

# Tolerances: tests/test_pytorch_parity.cpp's for a conv+BN block, rel-L2 1e-6 unfused and fused
# (measured there 5e-8 / 1.7e-7 on lavapipe vs PyTorch 1.13 CPU): both sides compute in fp32 with
# their own summation orders, so they differ by about each one's distance from float64 (~1e-7);
# a wrong fold (a BN row, eps, the shift) costs 1e-2 or more. Max-abs: 1e-5 of the output's
# largest magnitude (fp32's 1.2e-7 relative times the ~100 products summed per element, with headroom).
MAX_REL_L2 = 1e-6
MAX_ABS_OF_PEAK = 1e-5


class ConvBnNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(16)
        self.relu = torch.nn.ReLU()
        self.conv2 = torch.nn.Conv2d(16, 8, 3, stride=2, padding=1, bias=True)
        self.bn2 = torch.nn.BatchNorm2d(8, eps=1e-3)

    def forward(self, x):
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))


def make_net():
    torch.manual_seed(15)
    net = ConvBnNet()
    with torch.no_grad():
        for bn in (net.bn1, net.bn2):
            c = bn.num_features
            bn.weight.uniform_(0.5, 2.0)        # gamma
            bn.bias.normal_(0.0, 0.5)           # beta
            bn.running_mean.normal_(0.0, 0.5)
            bn.running_var.uniform_(0.05, 4.0)  # scales gamma/sqrt(var+eps) from ~0.25 to ~9
    return net.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    net = make_net()
    x = torch.randn(1, 3, 20, 20, generator=torch.Generator().manual_seed(16))
    path = tmp_path_factory.mktemp("torch") / "conv_bn.onnx"
    torch.onnx.export(net, x, str(path), opset_version=13, training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=True, input_names=["input"], output_names=["output"])
    with torch.no_grad():
        y = net(x).numpy()
        y64 = net.double()(x.double()).numpy()
    return path, x.numpy(), y, y64


def test_fused_run_matches_pytorch(exported):
    path, x, y_torch, y64 = exported
    model = fusescope.load(path)
    assert model.input_shape == (1, 3, 20, 20) and model.outputs == ["output"]
    fused = model.fuse("all")
    folds = [c for c in fused.fusion["changes"] if c["pass"] == "fold_batchnorm"]
    assert len(folds) == 2, fused.fusion  # both BatchNorms reached fusescope and were folded
    assert fused.node_count < model.node_count
    y = fused.run(x)["output"]
    assert y.shape == y_torch.shape == (1, 8, 10, 10) and y.dtype == np.float32
    r, m = rel_l2(y, y_torch), max_abs(y, y_torch)
    peak = float(np.abs(y_torch).max())
    print(f"fused vs torch: rel-L2 {r:.2e}, max-abs {m:.2e} (peak {peak:.2f}); "
          f"vs torch float64: fusescope {rel_l2(y, y64):.2e}, torch fp32 {rel_l2(y_torch, y64):.2e}")
    assert r < MAX_REL_L2
    assert m < MAX_ABS_OF_PEAK * peak


def test_unfused_run_matches_pytorch(exported):
    path, x, y_torch, y64 = exported
    y = fusescope.load(path).run(x)["output"]
    print(f"unfused vs torch: rel-L2 {rel_l2(y, y_torch):.2e}, max-abs {max_abs(y, y_torch):.2e}")
    assert rel_l2(y, y_torch) < MAX_REL_L2
    assert max_abs(y, y_torch) < MAX_ABS_OF_PEAK * float(np.abs(y_torch).max())


def test_a_wrong_network_fails_the_same_check(exported):
    # The check can fail: the same export run on another input is far outside the tolerance.
    path, x, y_torch, _ = exported
    y = fusescope.load(path).fuse("all").run(x[:, ::-1].copy())["output"]
    assert rel_l2(y, y_torch) > 100 * MAX_REL_L2
