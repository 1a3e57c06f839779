# needs: pytest numpy
# fusescope's Python face against its command line: the same model, input and device must give
# the same tensors bit for bit (one executor behind both), in the shapes and dtype promised.
import threading
import time

import numpy as np
import pytest

import fusescope
from conftest import cli, max_abs, read_safetensors, rel_l2, write_safetensors


def test_version_and_devices():
    assert fusescope.__version__.count(".") == 2
    devices = fusescope.devices()
    assert len(devices) >= 1
    out, _ = cli("devices", "--json")
    import json
    assert devices == json.loads(out)["devices"]  # the same list, field for field
    assert fusescope.device()["name"] in [d["name"] for d in devices]


def test_model_describes_itself(small):
    assert small.name == "conv_bn_layer"
    assert small.input_name == "image"
    assert small.input_shape == (1, 16, 16, 16)
    assert small.fuse_mode == "none" and small.node_count == 2
    fused = small.fuse("all")
    assert fused.fuse_mode == "all" and fused.fold == "float64"
    assert fused.node_count == 1, fused.fusion  # conv + BN(ReLU) -> one conv
    assert fused.fusion["nodes_before"] == 2 and fused.fusion["nodes_after"] == 1
    assert any(c["pass"] == "fold_batchnorm" for c in fused.fusion["changes"])
    assert small.node_count == 2  # fuse() returned a new model
    assert small.fuse("bn").fuse("none").node_count == 2  # fuse() starts from the loaded network
    assert "conv_bn_layer" in repr(fused) and "fuse all" in repr(fused)


@pytest.mark.parametrize("mode", ["none", "all"])
def test_run_equals_the_cli_bit_for_bit(small, mode, tmp_path):
    # Default input (None) = the CLI's seeded input; the same executor -> identical bits.
    out = small.fuse(mode).run()
    assert list(out) == small.fuse(mode).outputs
    y = out[small.outputs[0]]
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.shape == (1, 32, 16, 16)
    assert np.isfinite(y).all() and (y >= 0).all()  # BN's ReLU
    dump = tmp_path / "cli.safetensors"
    cli("run", "conv_bn_layer", "--size", "16", "--fuse", mode, "-o", dump)
    np.testing.assert_array_equal(y, read_safetensors(dump)[small.outputs[0]])


def test_fused_agrees_with_unfused(small):
    # Folding BN into the weights (float64, rounded once) changes fp32 rounding only: the demo's
    # and `compare`'s figure for this block is rel-L2 ~4e-7; 1e-5 leaves 20x headroom and is far
    # below a real fault (a wrong BN row or shift moves the output by 1e-2 or more).
    x = np.random.default_rng(3).standard_normal(small.input_shape, dtype=np.float32)
    name = small.outputs[0]
    unfused = small.run(x)[name]
    fused = small.fuse("all").run(x)[name]
    assert 0 < rel_l2(fused, unfused) < 1e-5
    assert max_abs(fused, unfused) < 1e-4 * float(np.abs(unfused).max())


def test_input_forms_agree(small, tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(small.input_shape).astype(np.float32)
    name = small.outputs[0]
    ref = small.run(x)[name]
    np.testing.assert_array_equal(small.run({"image": x})[name], ref)
    np.testing.assert_array_equal(small.run(x.astype(np.float64))[name], ref)  # cast to float32
    np.testing.assert_array_equal(small.run(x.tolist())[name], ref)
    np.testing.assert_array_equal(small.run(np.asfortranarray(x))[name], ref)  # made contiguous
    path = tmp_path / "x.safetensors"
    write_safetensors(path, {"image": x})
    np.testing.assert_array_equal(small.run(path)[name], ref)  # a path, as --input reads it
    np.testing.assert_array_equal(small.run(str(path))[name], ref)
    assert not np.array_equal(small.run()[name], ref)  # None is the seeded input, not x


def test_taps_return_the_tapped_tensors(small, tmp_path):
    conv_out = small.tensors[0]
    out = small.run(taps=[conv_out])
    assert set(out) == {small.outputs[0], conv_out}
    assert out[conv_out].shape == (1, 32, 16, 16) and out[conv_out].dtype == np.float32
    # The conv's output has negatives (the BN's ReLU comes after): it is not the output again.
    assert (out[conv_out] < 0).any()
    everything = small.run(taps="all")
    assert set(everything) == set(small.tensors)
    dump = tmp_path / "taps.safetensors"
    cli("run", "conv_bn_layer", "--size", "16", "--taps", "all", "-o", dump)
    cli_tensors = read_safetensors(dump)
    for name in small.tensors:
        np.testing.assert_array_equal(everything[name], cli_tensors[name], err_msg=name)
    np.testing.assert_array_equal(small.run(taps=conv_out)[conv_out], out[conv_out])


def test_precision_and_layout(small):
    name = small.outputs[0]
    x = np.random.default_rng(7).standard_normal(small.input_shape, dtype=np.float32)
    ref = small.run(x)[name]
    # NHWC storage is a different memory order for the same sums: within fp32 rounding (1e-6 is
    # ~10 float32 ulps of relative error; a wrong transpose is O(1)).
    assert rel_l2(small.run(x, layout="nhwc")[name], ref) < 1e-6
    if not fusescope.device()["storage_16bit"]:
        pytest.skip("the device has no 16-bit storage")
    half = small.run(x, precision="fp16s")[name]
    # fp16 storage rounds every stored value to 11 significant bits (relative 2^-12 ~ 2.4e-4 at
    # most per element, a few of them compounding through the conv): between 1e-5 (it did round)
    # and 5e-3.
    assert 1e-5 < rel_l2(half, ref) < 5e-3


def test_export_round_trip(small, tmp_path):
    fused = small.fuse("all")
    path = tmp_path / "fused.onnx"
    fused.export(path)
    assert path.stat().st_size > 0
    again = fusescope.load(path)
    # The export writes the conv's ReLU epilogue as a Relu node after the Conv (io/onnx_export.hpp),
    # and no BatchNormalization: the BN is in the folded weights.
    assert again.node_count == 2 and again.input_shape == fused.input_shape
    assert again.fuse("all").node_count == 1 and again.fuse("bn").fusion["changes"] == []
    x = np.random.default_rng(9).standard_normal(small.input_shape, dtype=np.float32)
    name = small.outputs[0]
    # The exported weights are the folded fp32 weights, read back: the same arithmetic.
    np.testing.assert_array_equal(again.run(x)[name], fused.run(x)[name])


def test_the_gil_is_released_while_the_device_runs():
    model = fusescope.load("conv_bn_layer", size=96)
    model.run()  # pipelines made and cached
    ticks = 0
    done = threading.Event()

    def work():
        for _ in range(4):
            model.run()
        done.set()

    t = threading.Thread(target=work)
    start = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0)
    t.join()
    elapsed = time.perf_counter() - start
    # Held through a run, the GIL would stop this loop for the whole of it (no Python bytecode
    # runs in the worker to hand it back): a handful of ticks. Released, the loop spins freely.
    assert ticks > 100, f"{ticks} ticks in {elapsed:.3f} s"
