"""The token network of `examples/tokens` (two int64 inputs): the decisions `pcee infer`
takes through ONNX Runtime are the ones a Python inference loop takes with `Policy.stops` on
the same network's logits (`pcee logits --input`), exit by exit. Needs a `pcee` built with the
`onnx` feature and `ORT_DYLIB_PATH` (scripts/test sets both)."""

import json
import os

import numpy as np
import pytest

import pcee
from conftest import ROOT

TOKENS = ROOT / "examples" / "tokens"


@pytest.fixture
def ort(cli):
    if not os.environ.get("ORT_DYLIB_PATH"):
        pytest.skip("ORT_DYLIB_PATH is not set")
    return cli


def test_infer_through_onnx_runtime_takes_the_python_loops_decisions(ort, tmp_path):
    for split in ("val", "test"):
        ort.ok("logits", "--stages", TOKENS / "stages", "--input", TOKENS / f"{split}.npz",
               "--labels", TOKENS / f"{split}-labels.npy", "--out", tmp_path / f"{split}.npz")
    policy = pcee.calibrate(tmp_path / "val.npz", method="pcee", delta=0.85)
    policy.save(tmp_path / "policy.json")
    report = json.loads(ort.ok(
        "infer", "--stages", TOKENS / "stages", "--policy", tmp_path / "policy.json",
        "--input", TOKENS / "test.npz", "--labels", TOKENS / "test-labels.npy",
        "--repeat", "1", "--json", "--decisions"))
    logits, labels, _ = pcee.read_logits(tmp_path / "test.npz")
    # The loop a Python user writes: every sample still running asks the policy after each head.
    exits = np.full(len(labels), -1)
    for e in range(logits.shape[0]):
        running = np.flatnonzero(exits < 0)
        stops = policy.stops(e, logits[e, running])
        exits[running[stops]] = e
    predictions = logits[exits, np.arange(len(labels))].argmax(axis=1)
    assert [d["exit"] for d in report["decisions"]] == exits.tolist()
    assert [d["prediction"] for d in report["decisions"]] == predictions.tolist()
    assert report["accuracy"] == pytest.approx(np.mean(predictions == labels), abs=1e-12)
    assert 0 < np.mean(exits == 0) < 1  # some stop early, some do not
