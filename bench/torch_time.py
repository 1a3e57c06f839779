#!/usr/bin/python3
"""PyTorch CPU times for bench/run (a benchmark helper, not a test): a zoo network rebuilt in
PyTorch by tools/pytorch_parity.py with fusescope's own weights (fusescope_export_weights), run
unfused and fused (fuse_conv_bn_eval; RepVGG by convert_to_deploy), float32, eval mode,
torch.no_grad(), all cores. Prints one JSON line:
  {"model":…, "unfused_ms":…, "fused_ms":…, "runs":N, "threads":T, "torch":version}
with the median wall time of N forward passes after one warm-up each.
  /usr/bin/python3 bench/torch_time.py --exporter build/fusescope_export_weights --model resnet50-keras
         --size 224x224 [--runs 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))

import torch  # noqa: E402
import pytorch_parity as twin  # noqa: E402


def median_ms(fn, x, runs):
    with torch.no_grad():
        fn(x)  # warm-up: allocations, oneDNN primitive creation
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn(x)
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exporter", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--size", required=True, help="HxW")
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    h, w = (int(v) for v in a.size.lower().split("x"))
    threads = max(1, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="fusescope-torch-time-") as tmp:
        path = os.path.join(tmp, "weights.safetensors")
        subprocess.run([a.exporter, "--model", a.model, "--height", str(h), "--width", str(w), "--out", path],
                       check=True, stdout=subprocess.DEVNULL)
        tensors, meta = twin.read_safetensors(path)
    x = torch.from_numpy(tensors["input"])
    model = twin.build(twin.Weights(tensors, meta), a.model, x.shape[1]).eval()
    unfused = median_ms(model, x, a.runs)
    with torch.no_grad():
        model.fuse()
    fused = median_ms(model, x, a.runs)
    print(json.dumps({"model": a.model, "unfused_ms": unfused, "fused_ms": fused, "runs": a.runs,
                      "threads": threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
