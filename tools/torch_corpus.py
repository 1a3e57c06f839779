#!/usr/bin/python3
"""The PyTorch corpus (issue 13): torchvision's CNNs and a CIFAR Dual Path Network, exported as a
user would export them, with goldens from PyTorch and ONNX Runtime.

For each model: seeded random weights (weights=None; nothing is downloaded), BatchNorm and
LayerNorm affine parameters and ConvNeXt's layer scales drawn at random too (their defaults, 1/0
and 1e-6, would hide a wrong fold or a lost scale), BatchNorm running statistics calibrated on
real photographs from Debian's opencv-doc (a few forward passes in train mode with a cumulative
average, then eval), so every BN has statistics worth folding. Then, for opset 13 and 17:

  <out>/<model>.op<N>.onnx              torch.onnx.export, the model in eval mode
  <out>/<model>.op<N>.golden.safetensors  "input" (one seeded photograph, normalised) and
                                          "torch" (PyTorch's float32 output)
  <out>/<model>.op<N>.ort.safetensors   ONNX Runtime's output (tools/ort/run_model.mjs, graph
                                          optimizations disabled: the model as written)
  <out>/<model>.op<N>.json              the case's record: op types, BN counts, ORT-vs-PyTorch
                                          rel-L2, the script's sha256 (written last)

tools/torch_corpus_check.cpp (CTest: torch_corpus.*) reads them. Most models are exported with
TrainingMode.EVAL, where torch.onnx.export itself folds each conv's BatchNorm before writing the
file; resnet50_bn and the DPN are exported with TrainingMode.PRESERVE (the model still in eval
mode), which keeps every BatchNormalization node for fusescope to fold.

Needs Debian's python3-torch and python3-torchvision (with numpy, onnx and PIL), node and
tools/ort/install.sh for the ORT goldens. Threads are kept to two: the CI machine has two cores.
  /usr/bin/python3 tools/torch_corpus.py --out build/corpus [--models a,b] [--opsets 13,17]
Exit status: 0 written; 77 when torch/torchvision/onnx (or the images) are missing; 1 on errors.
"""
import argparse
import glob
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMAGES = "/usr/share/doc/opencv-doc/examples/data"

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision
    from PIL import Image

    from dual_path import DualPathBottleneck  # tools/dual_path.py
except ImportError as e:  # python3-torch / python3-torchvision / python3-pil not installed
    print(f"SKIPPED: {e} (Debian packages python3-torch, python3-torchvision; scripts/install-deps.sh)")
    sys.exit(SKIP)


# ---------------------------------------------------------------------------------------------
# A kuangliu-style CIFAR Dual Path Network (DPN26's layout): each bottleneck's output is split
# into a residual part, added to the shortcut's first `out_planes` channels, and a dense part,
# concatenated after the shortcut's remaining channels — x[:, :d] and x[:, d:] in the forward
# pass, which torch exports as Slice with ends INT64_MAX.
class CifarDPN(nn.Module):
    def __init__(self, in_planes=(96, 192, 384, 768), out_planes=(256, 512, 1024, 2048),
                 num_blocks=(2, 2, 2, 2), dense_depth=(16, 32, 24, 128), num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        last = 64
        stages = []
        for i in range(4):
            blocks = []
            for j in range(num_blocks[i]):
                stride = (1 if i == 0 else 2) if j == 0 else 1
                blocks.append(DualPathBottleneck(last, in_planes[i], out_planes[i], dense_depth[i], stride, j == 0, 32))
                last = out_planes[i] + (j + 2) * dense_depth[i]
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(last, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = F.avg_pool2d(x, 4)
        return self.linear(x.flatten(1))


# ---------------------------------------------------------------------------------------------
# The corpus. size: the square input (small: every model runs four times on a CPU Vulkan driver
# in the test); vgg11_bn's AdaptiveAvgPool2d(7) exports only when its 7x7 divides the feature map,
# i.e. at 224 (feature map 7x7). keep_bn: export with TrainingMode.PRESERVE (BN nodes stay).
def tv(name, **kw):
    return lambda: getattr(torchvision.models, name)(weights=None, **kw)


MODELS = [
    dict(name="resnet18", build=tv("resnet18"), size=64),
    dict(name="resnet50", build=tv("resnet50"), size=64),
    dict(name="resnet50_bn", build=tv("resnet50"), size=64, keep_bn=True),
    dict(name="resnext50_32x4d", build=tv("resnext50_32x4d"), size=64),
    dict(name="mobilenet_v2", build=tv("mobilenet_v2"), size=64),
    dict(name="mobilenet_v3_large", build=tv("mobilenet_v3_large"), size=64),
    dict(name="efficientnet_b0", build=tv("efficientnet_b0"), size=64),
    dict(name="shufflenet_v2_x1_0", build=tv("shufflenet_v2_x1_0"), size=64),
    dict(name="squeezenet1_1", build=tv("squeezenet1_1"), size=64),
    dict(name="densenet121", build=tv("densenet121"), size=64),
    dict(name="googlenet", build=tv("googlenet", aux_logits=False, init_weights=True), size=64),
    dict(name="mnasnet1_0", build=tv("mnasnet1_0"), size=64),
    dict(name="regnet_y_400mf", build=tv("regnet_y_400mf"), size=64),
    dict(name="convnext_tiny", build=tv("convnext_tiny"), size=64),
    dict(name="vgg11_bn", build=tv("vgg11_bn"), size=224),
    dict(name="dpn_cifar", build=CifarDPN, size=32, keep_bn=True),
]

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)


def load_images(size, count, skip=0):
    paths = sorted(glob.glob(os.path.join(IMAGES, "*.jpg")))
    if len(paths) < count + skip:
        print(f"SKIPPED: {IMAGES}: {len(paths)} JPEG images, need {count + skip} (Debian package opencv-doc)")
        sys.exit(SKIP)
    out = []
    for p in paths[skip:skip + count]:
        img = Image.open(p).convert("RGB").resize((size, size), Image.BILINEAR)
        a = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
        out.append((a - MEAN) / STD)
    return torch.from_numpy(np.stack(out))


def randomize_affine(model, gen):
    """Norm-layer affines and layer scales at random: defaults (1, 0, 1e-6) would make a lost
    gamma, beta or layer scale invisible."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)) and m.weight is not None:
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.2, 0.2, generator=gen)
        if hasattr(m, "layer_scale") and isinstance(m.layer_scale, nn.Parameter):  # ConvNeXt's CNBlock
            with torch.no_grad():
                m.layer_scale.uniform_(0.1, 0.5, generator=gen)


def calibrate_batchnorm(model, images):
    """Running statistics from real images: train mode with momentum None (a cumulative average
    over the batches), then eval."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    with torch.no_grad():
        for i in range(0, len(images), 4):
            model(images[i:i + 4])
    model.eval()
    return len(bns)


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr, dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        blobs.append(arr.tobytes())
        offset += arr.nbytes
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"])
    return out


def export_case(spec, opset, out_dir, node):
    import onnx  # only for the input name and a sanity check
    name, size = spec["name"], spec["size"]
    seed = 1300 + sum(map(ord, name))
    torch.manual_seed(seed)
    model = spec["build"]()
    gen = torch.Generator().manual_seed(seed)
    randomize_affine(model, gen)
    bns = calibrate_batchnorm(model, load_images(size, 8))
    x = load_images(size, 1, skip=8)  # one more photograph, not seen in calibration
    with torch.no_grad():
        y = model(x)
    stem = os.path.join(out_dir, f"{name}.op{opset}")
    mode = torch.onnx.TrainingMode.PRESERVE if spec.get("keep_bn") else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, x, stem + ".onnx.tmp", opset_version=opset, training=mode,
                      do_constant_folding=True, input_names=["input"], output_names=["output"])
    os.replace(stem + ".onnx.tmp", stem + ".onnx")
    proto = onnx.load(stem + ".onnx", load_external_data=False)
    ops = sorted({n.op_type for n in proto.graph.node})
    n_bn = sum(n.op_type == "BatchNormalization" for n in proto.graph.node)
    meta = dict(model=name, opset=opset, seed=seed, size=size, input_shape="x".join(map(str, x.shape)),
                batchnorms_in_model=bns, batchnorms_in_file=n_bn, export_mode=str(mode),
                torch=torch.__version__, torchvision=torchvision.__version__)
    write_safetensors(stem + ".golden.safetensors", {"input": x.numpy(), "torch": y.numpy()}, meta)
    # ONNX Runtime on the exported file (graph optimizations off: the model as written).
    with tempfile.TemporaryDirectory() as tmp:
        feed = os.path.join(tmp, "in.safetensors")
        write_safetensors(feed, {"input": x.numpy()}, {})
        r = subprocess.run([node, os.path.join(HERE, "ort", "run_model.mjs"), "--model", stem + ".onnx",
                            "--input", feed, "--output", stem + ".ort.safetensors"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{name} opset {opset}: ONNX Runtime failed: {r.stderr.strip()}")
    ort = read_safetensors(stem + ".ort.safetensors")["output"]
    ref = y.numpy()
    ort_vs_torch = float(np.linalg.norm(ort - ref) / np.linalg.norm(ref))
    return dict(model=name, opset=opset, file=os.path.basename(stem + ".onnx"), input_shape=list(x.shape),
                ops=ops, batchnorms_in_file=n_bn, export_mode=str(mode), ort_vs_torch_rel_l2=ort_vs_torch)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "corpus"))
    ap.add_argument("--models", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--opsets", default="13,17")
    ap.add_argument("--node", default="node")
    ap.add_argument("--if-stale", action="store_true",
                    help="do nothing when every case is there and this script has not changed since")
    args = ap.parse_args()
    torch.set_num_threads(2)
    try:
        import onnx  # noqa: F401
    except ImportError as e:
        print(f"SKIPPED: {e} (Debian package python3-onnx)")
        return SKIP
    ort_ok = subprocess.run([args.node, "-e", "require(process.argv[1])", os.path.join(HERE, "ort", "node_modules",
                                                                                     "onnxruntime-node")],
                            capture_output=True).returncode == 0
    if not ort_ok:
        print("SKIPPED: ONNX Runtime for node is not installed (tools/ort/install.sh)")
        return SKIP
    wanted = [m for m in args.models.split(",") if m]
    unknown = set(wanted) - {m["name"] for m in MODELS}
    if unknown:
        print(f"unknown models: {', '.join(sorted(unknown))}; known: {', '.join(m['name'] for m in MODELS)}")
        return 1
    os.makedirs(args.out, exist_ok=True)
    # The models' code is this script and tools/dual_path.py: either changing regenerates.
    digest = hashlib.sha256()
    for source in (os.path.abspath(__file__), os.path.join(HERE, "dual_path.py")):
        with open(source, "rb") as f:
            digest.update(f.read())
    script_hash = digest.hexdigest()
    opsets = [int(o) for o in args.opsets.split(",")]
    todo = [(s, o) for s in MODELS for o in opsets if not wanted or s["name"] in wanted]

    def up_to_date(spec, opset):
        stem = os.path.join(args.out, f"{spec['name']}.op{opset}")
        if not all(os.path.exists(stem + ext) for ext in (".onnx", ".golden.safetensors", ".ort.safetensors")):
            return False
        try:
            with open(stem + ".json") as f:
                return json.load(f).get("script_sha256") == script_hash
        except (OSError, ValueError):
            return False

    if args.if_stale:
        todo = [(s, o) for s, o in todo if not up_to_date(s, o)]
        if not todo:
            print(f"{args.out}: up to date")
            return 0
    start = time.time()
    for spec, opset in todo:
        t0 = time.time()
        case = export_case(spec, opset, args.out, args.node)
        case["script_sha256"] = script_hash
        # Written last: a case whose record exists is complete (an interrupted run redoes the rest).
        record = os.path.join(args.out, f"{case['model']}.op{opset}.json")
        with open(record + ".tmp", "w") as f:
            json.dump(case, f, indent=1)
        os.replace(record + ".tmp", record)
        print(f"{case['model']:20s} opset {opset}: {case['batchnorms_in_file']:3d} BN nodes, ORT vs torch "
              f"rel-L2 {case['ort_vs_torch_rel_l2']:.2e} ({time.time() - t0:.1f} s)", flush=True)
    print(f"{len(todo)} cases in {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
