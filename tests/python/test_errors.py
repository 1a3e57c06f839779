# needs: pytest numpy
# Bad input raises fusescope.InvalidInput (a ValueError), the device's failures DeviceError (a
# RuntimeError), each carrying the message the CLI prints for the same mistake.
import os
import subprocess
import sys

import numpy as np
import pytest

import fusescope
from conftest import CLI, cli


def cli_message(*args):
    """What `fusescope ARGS` prints after "fusescope: invalid input: " (exit 2)."""
    _, err = cli(*args, expect=2)
    first = err.splitlines()[0]
    prefix = "fusescope: invalid input: "
    assert first.startswith(prefix), err
    return first[len(prefix):]


def test_exception_classes():
    assert issubclass(fusescope.InvalidInput, ValueError)
    assert issubclass(fusescope.DeviceError, RuntimeError)
    assert issubclass(fusescope.DeviceLost, fusescope.DeviceError)


def test_missing_file_says_what_the_cli_says():
    with pytest.raises(fusescope.InvalidInput) as e:
        fusescope.load("/nonexistent/model.onnx")
    assert "/nonexistent/model.onnx: no such file" in str(e.value)
    assert str(e.value) == cli_message("run", "/nonexistent/model.onnx")
    with pytest.raises(ValueError) as e:
        fusescope.load("conv_bn_layer", size=8, input="/nonexistent.png")
    assert str(e.value) == cli_message("run", "conv_bn_layer", "--size", "8", "--input", "/nonexistent.png")


def test_bad_shape(small, tmp_path):
    path = tmp_path / "m.onnx"
    small.export(path)
    with pytest.raises(ValueError) as e:
        fusescope.load(path, shape="1x16x16")
    assert str(e.value) == cli_message("run", path, "--shape", "1x16x16")
    assert "--shape 1x16x16: expected NxCxHxW" in str(e.value)
    with pytest.raises(ValueError, match=r"--shape 1x16x16: expected NxCxHxW"):
        fusescope.load(path, shape=(1, 16, 16))  # a tuple reads as the same text
    with pytest.raises(ValueError, match=r"--size 0: sizes must be positive"):
        fusescope.load("conv_bn_layer", size=0)
    # An array of the wrong shape (same element count, other order) is refused, not reinterpreted.
    with pytest.raises(ValueError, match=r"input 'image' has shape 1x16x16x16x1, expected 1x16x16x16"):
        small.run(np.zeros((1, 16, 16, 16, 1), np.float32))
    with pytest.raises(ValueError, match=r"has shape 16x16x16, expected 1x16x16x16"):
        small.run(np.zeros((16, 16, 16), np.float32))


def test_bad_words_carry_the_flags_messages(small):
    with pytest.raises(ValueError) as e:
        fusescope.load("resnet51")
    assert str(e.value) == cli_message("run", "resnet51")
    with pytest.raises(ValueError) as e:
        small.fuse("sideways")
    assert str(e.value) == "--fuse sideways: expected none, bn, all or runtime"
    with pytest.raises(ValueError, match=r"--fold float16: expected float64 or float32"):
        small.fuse("bn", fold="float16")
    with pytest.raises(ValueError) as e:
        small.run(layout="bogus")
    assert str(e.value) == cli_message("run", "conv_bn_layer", "--layout", "bogus")
    with pytest.raises(ValueError, match=r"--precision fp8: expected fp32, fp16s or fp16"):
        small.run(precision="fp8")
    with pytest.raises(ValueError) as e:
        small.run(taps=["nope"])
    assert str(e.value) == cli_message("run", "conv_bn_layer", "--taps", "nope")
    with pytest.raises(ValueError, match=r"no tensor named"):
        small.fuse("all").run(taps=[small.tensors[0]])  # the conv's output was fused away
    with pytest.raises(ValueError, match=r"compare needs bn, all or runtime"):
        small.compare()
    with pytest.raises(ValueError, match=r"the dict names \['x'\]"):
        small.run({"x": np.zeros(small.input_shape, np.float32)})


def test_python_mistakes_are_type_errors(small):
    with pytest.raises(TypeError, match="unexpected keyword argument 'sise'"):
        fusescope.load("conv_bn_layer", sise=8)
    with pytest.raises(TypeError, match="seed must be an int"):
        fusescope.load("conv_bn_layer", seed="1")
    with pytest.raises(TypeError):
        small.run(object())


def run_in_fresh_process(code, **env):
    """A separate interpreter: fault injection is read when the process's device is made."""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240,
                       env={**os.environ, **env})
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_device_failures_are_device_errors():
    # Too little device memory for the activations (1x32x128x128 fp32 = 2 MiB > the 1 MiB cap).
    out = run_in_fresh_process(
        "import fusescope\n"
        "m = fusescope.load('conv_bn_layer', size=128)\n"
        "try:\n"
        "    m.run()\n"
        "except fusescope.DeviceError as e:\n"
        "    print(type(e).__name__, e)\n",
        FUSESCOPE_FAULT_DEVICE_MEMORY="1M")
    assert out.startswith("DeviceError ") and "out of device memory" in out, out
    # The device lost at the first submission: DeviceLost; the next call gets a new device.
    out = run_in_fresh_process(
        "import fusescope\n"
        "m = fusescope.load('conv_bn_layer', size=8)\n"
        "try:\n"
        "    m.run()\n"
        "except fusescope.DeviceLost as e:\n"
        "    print('lost:', e)\n"
        "print(sorted(m.run()))\n",
        FUSESCOPE_FAULT_DEVICE_LOST="1")
    assert "lost: the GPU device was lost: " in out and "VK_ERROR_DEVICE_LOST" in out, out
    assert out.splitlines()[-1] == str(sorted(fusescope.load("conv_bn_layer", size=8).outputs)), out
