# needs: pytest numpy
# .compare() is `fusescope compare --json`: one Study, one JSON writer. Same model, same input,
# same device -> the same document, key for key and (the runs being deterministic) number for number.
import json

import pytest

import fusescope
from conftest import cli


def keys(doc):
    """The document's shape: every key path, lists entered element by element."""
    if isinstance(doc, dict):
        return {k: keys(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [keys(v) for v in doc]
    return type(doc).__name__ if doc is not None else "null"


def close(a, b, path=""):
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        # The JSON's text of a double reads back exactly; 1e-12 relative only forgives a
        # different last digit in a shortest-round-trip print.
        assert b == pytest.approx(a, rel=1e-12, abs=1e-300), path
    else:
        assert a == b, path


@pytest.mark.parametrize("fuse", ["bn", "all"])
def test_compare_is_the_clis_json(small, fuse, tmp_path):
    report = small.fuse(fuse).compare()
    path = tmp_path / "compare.json"
    cli("compare", "conv_bn_layer", "--size", "16", "--fuse", fuse, "--json", path)
    expected = json.loads(path.read_text())
    assert keys(report) == keys(expected)
    assert set(report) >= {"model", "device", "fuse", "layers", "output", "fusions", "at_risk_channels"}
    close(report, expected)
    assert report["fuse"] == fuse and report["model"] == "conv_bn_layer"
    assert [row["layer"] for row in report["layers"]] == small.tensors
    # fp32, BN folded in float64: the block's fused/unfused drift is ~4e-7 (README's demo table);
    # 1e-5 is a fault, not rounding.
    assert 0 < report["output"]["rel_l2"] < 1e-5
    assert report["layers"][-1]["fused_vs_oracle"]["rel_l2"] < 1e-5


def test_compare_without_oracle_matches_no_oracle(small, tmp_path):
    report = small.fuse("all").compare(oracle=False)
    path = tmp_path / "compare.json"
    cli("compare", "conv_bn_layer", "--size", "16", "--fuse", "all", "--no-oracle", "--json", path)
    assert keys(report) == keys(json.loads(path.read_text()))
    assert all("unfused_vs_oracle" not in row for row in report["layers"])


def test_compare_two_conv_algorithms_is_the_clis_json(small, tmp_path):
    # compare --fuse none --candidate-algorithm: the unfused network on direct against itself on gemm.
    report = small.compare(algorithm="direct", candidate_algorithm="gemm")
    path = tmp_path / "compare.json"
    cli("compare", "conv_bn_layer", "--size", "16", "--fuse", "none", "--algorithm", "direct",
        "--candidate-algorithm", "gemm", "--json", path)
    expected = json.loads(path.read_text())
    assert keys(report) == keys(expected)
    close(report, expected)
    assert report["algorithm"] == "direct" and report["candidate_algorithm"] == "gemm"
    assert report["fuse"] == "none"
    # fp32 conv in another summation order: within the shader suite's conv tolerance (1e-5).
    assert report["layers"][0]["local"]["rel_l2"] < 1e-5
