# Shared by tests/python/test_*.py (run by run_pytest.sh through CTest, python.<name>): the CLI the
# module is set against, a safetensors reader/writer (the CLI's dump format, read here with plain
# numpy so no fusescope code judges fusescope), and error measures with the CLI's definitions.
import json
import os
import struct
import subprocess

import numpy as np
import pytest

import fusescope

CLI = os.environ.get("FUSESCOPE_CLI", "")


def cli(*args, expect=0):
    """Runs the fusescope command; returns (stdout, stderr), asserting its exit code."""
    if not CLI or not os.path.exists(CLI):
        pytest.fail(f"FUSESCOPE_CLI={CLI!r} is not the fusescope executable (run through CTest)")
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=240)
    assert p.returncode == expect, f"fusescope {' '.join(map(str, args))}: exit {p.returncode}\n{p.stderr}"
    return p.stdout, p.stderr


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"])
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def rel_l2(a, b):
    """||a - b|| / ||b|| in float64, b the reference (numerics/error_metrics' definition)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


@pytest.fixture(scope="session")
def small():
    """conv_bn_layer (conv 3x3, no bias -> BN with ReLU) at 16x16: two nodes, a fraction of a second."""
    return fusescope.load("conv_bn_layer", size=16)
