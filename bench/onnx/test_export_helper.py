"""Tests of examples/python/export_stages.py that need no torch (CI does not install it):

- its argument checks raise one-line `ExportError`s naming the argument;
- the manifest it writes has exactly the fields of crates/pcee-onnx/src/manifest.rs (read from
  the Rust source, so the two cannot drift apart silently);
- with the `onnx` package, a pcee built with `--features onnx` (PCEE_BIN) and ORT_DYLIB_PATH:
  tiny stage graphs built with onnx.helper, declared and checked by the helper's
  `declare_shapes`/`check_graph`, with the helper's `manifest_dict`, are loaded and run by
  `pcee infer --stages` (the Rust validator is the judge) — skipped otherwise.

The torch.onnx.export path itself is checked locally by bench/onnx/pytorch_agree.py (README).

Run: python -m pytest -q bench/onnx/test_export_helper.py   (numpy and pytest; onnx optional)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "python"))
import export_stages as ex  # noqa: E402

PRE = {"scale": 1 / 255, "mean": 0.286, "std": 0.353}


@pytest.mark.parametrize("call, words", [
    (lambda: ex.check_flops([3.0, 2.0], 2), "flops: not increasing at exit 1"),
    (lambda: ex.check_flops([1.0, 2.0, 3.0], 2), "flops: 3 value(s); expected one per exit (2)"),
    (lambda: ex.check_flops([0.0, 2.0], 2), "flops: exit 0: 0.0; expected a positive finite cost"),
    (lambda: ex.check_flops([1.0, float("nan")], 2), "flops: exit 1: nan"),
    (lambda: ex.check_flops("abc", 1), "flops: 'abc'; expected a list of 1 numbers"),
    (lambda: ex.check_preprocessing({"scale": 1, "mean": 0}), "preprocessing: ['mean', 'scale']; expected a dict with exactly"),
    (lambda: ex.check_preprocessing({"scale": 1, "mean": 0, "std": -1}), "preprocessing: {'scale': 1.0, 'mean': 0.0, 'std': -1.0}"),
    (lambda: ex.check_classes(1), "classes: 1; expected an integer ≥ 2"),
    (lambda: ex.check_classes(True), "classes: True"),
    (lambda: ex.check_head_inputs([[0], [3]], [1, 2]), "head_inputs[1]: 3; stage 1 has 2 output(s)"),
    (lambda: ex.check_head_inputs([[0]], [1, 2]), "head_inputs: 1 entries; expected one list per head (2)"),
    (lambda: ex.check_head_inputs([[], [0]], [1, 2]), "head_inputs[0]: empty"),
    (lambda: ex.check_head_inputs([[0], [1, -1]], [1, 2]), "head_inputs[1]: [1, -1] names a tensor twice"),
])
def test_argument_errors_are_one_line(call, words):
    with pytest.raises(ex.ExportError) as e:
        call()
    assert words in str(e.value)
    assert "\n" not in str(e.value)


def test_target_directory(tmp_path):
    ex.check_target(tmp_path / "new")
    ex.check_target(tmp_path)  # empty
    (tmp_path / "x").write_text("")
    with pytest.raises(ex.ExportError, match="exists and is not a stage-graph directory"):
        ex.check_target(tmp_path)
    (tmp_path / ex.MANIFEST_FILE).write_text("{}")
    ex.check_target(tmp_path)  # an earlier export is replaced


def rust_fields(struct: str) -> set[str]:
    src = (ROOT / "crates/pcee-onnx/src/manifest.rs").read_text()
    body = re.search(r"pub struct " + struct + r" \{(.*?)\n\}", src, re.S)
    assert body, f"struct {struct} not found in manifest.rs"
    return set(re.findall(r"pub (\w+):", body.group(1)))


def test_manifest_fields_are_the_rust_ones():
    spec = {"name": "state0_0", "shape": [4, 28, 28]}
    m = ex.manifest_dict(10, "images", [1, 28, 28], PRE,
                         [{"graph": "stage-0.onnx", "inputs": [{"name": "images", "shape": [1, 28, 28]}], "outputs": [spec]}],
                         [{"graph": "head-0.onnx", "inputs": [spec], "output": {"name": "logits", "shape": [10]}}],
                         [1.0], source="test")
    assert set(m) == rust_fields("Manifest")
    assert set(m["input"]) == rust_fields("TensorSpec")
    assert set(m["preprocessing"]) == rust_fields("Preprocessing")
    assert set(m["stages"][0]) == rust_fields("Stage")
    assert set(m["heads"][0]) == rust_fields("Head")
    src = (ROOT / "crates/pcee-onnx/src/manifest.rs").read_text()
    assert f'pub const FORMAT: &str = "{ex.FORMAT}";' in src
    assert f"pub const VERSION: u32 = {ex.VERSION};" in src
    assert f'pub const MANIFEST_FILE: &str = "{ex.MANIFEST_FILE}";' in src


# -- end to end through pcee's validator and ORT backend (optional) ---------------------------

def _pcee_with_onnx():
    pcee = os.environ.get("PCEE_BIN") or shutil.which("pcee")
    if not pcee or not os.environ.get("ORT_DYLIB_PATH"):
        return None
    ok = subprocess.run([pcee, "export", "--help"], capture_output=True).returncode == 0
    return pcee if ok else None


def _tiny_graphs(onnx, helper, d: Path):
    """stage 0: images → Relu → state0_0 [1, 28, 28]; stage 1: state0_0 → Neg, Relu →
    state1_0; head e: ReduceMean over the map → [B, 1] → Gemm → logits [B, 10]. The graphs
    are written without shapes on the state (as the ViT export leaves them); declare_shapes
    fills them in."""
    f = onnx.TensorProto.FLOAT

    def vi(name, shape):
        return helper.make_tensor_value_info(name, f, shape)

    def save(nodes, inputs, outputs, inits, file):
        g = helper.make_graph(nodes, file, inputs, outputs, inits)
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(d / file))

    save([helper.make_node("Relu", ["images"], ["state0_0"])],
         [vi("images", ["batch", 1, 28, 28])], [vi("state0_0", None)], [], "stage-0.onnx")
    save([helper.make_node("Neg", ["state0_0"], ["n"]), helper.make_node("Relu", ["n"], ["state1_0"])],
         [vi("state0_0", ["batch", 1, 28, 28])], [vi("state1_0", None)], [], "stage-1.onnx")
    rng = np.random.default_rng(0)
    for e, src in enumerate(["state0_0", "state1_0"]):
        w = helper.make_tensor("w", f, [1, 10], rng.normal(size=10).astype(np.float32).tolist())
        b = helper.make_tensor("b", f, [10], rng.normal(size=10).astype(np.float32).tolist())
        save([helper.make_node("ReduceMean", [src], ["m"], axes=[2, 3], keepdims=0),
              helper.make_node("Gemm", ["m", "w", "b"], ["logits"])],
             [vi(src, ["batch", 1, 28, 28])], [vi("logits", ["batch", 10])], [w, b], f"head-{e}.onnx")


def test_pcee_loads_what_the_helper_writes(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    pcee = _pcee_with_onnx()
    if pcee is None:
        pytest.skip("needs PCEE_BIN (or pcee on PATH) built with --features onnx, and ORT_DYLIB_PATH")
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs the Fashion-MNIST data (dataset-fashion-mnist)")
    d = tmp_path / "stages"
    d.mkdir()
    _tiny_graphs(onnx, helper, d)
    state = lambda s: {"name": f"state{s}_0", "shape": [1, 28, 28]}  # noqa: E731
    stages = [{"graph": "stage-0.onnx", "inputs": [{"name": "images", "shape": [1, 28, 28]}], "outputs": [state(0)]},
              {"graph": "stage-1.onnx", "inputs": [state(0)], "outputs": [state(1)]}]
    heads = [{"graph": f"head-{e}.onnx", "inputs": [state(e)], "output": {"name": "logits", "shape": [10]}} for e in range(2)]
    for s, st in enumerate(stages):
        ex.declare_shapes(d / st["graph"], f"stages[{s}]", st["inputs"] + st["outputs"])
        ex.check_graph(d / st["graph"], f"stages[{s}]", st["inputs"], st["outputs"])
    for e, h in enumerate(heads):
        ex.check_graph(d / h["graph"], f"heads[{e}]", h["inputs"], [h["output"]])
    flops = ex.check_flops([1000.0, 2500.0], 2)
    (d / ex.MANIFEST_FILE).write_text(json.dumps(ex.manifest_dict(10, "images", [1, 28, 28], ex.check_preprocessing(PRE),
                                                                stages, heads, flops), indent=2))
    # a policy with the same FLOPs, calibrated on synthetic logits
    rng = np.random.default_rng(1)
    val = tmp_path / "val.npz"
    np.savez(val, logits=rng.normal(size=(2, 200, 10)).astype(np.float32), labels=rng.integers(0, 10, 200),
             flops=np.array(flops))
    pol = tmp_path / "policy.json"
    subprocess.run([pcee, "calibrate", "--val", str(val), "--method", "pcee", "--delta", "0.1", "--output", str(pol)],
                   check=True, capture_output=True)
    r = subprocess.run([pcee, "infer", "--stages", str(d), "--policy", str(pol), "--limit", "64", "--repeat", "1",
                        "--json", "--decisions"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["samples"] == 64 and len(out["decisions"]) == 64
    # the helper's check and pcee's validator refuse the same defect: a wrong per-image shape
    bad = json.loads((d / ex.MANIFEST_FILE).read_text())
    bad["stages"][0]["outputs"][0]["shape"] = [2, 28, 28]
    bad["stages"][1]["inputs"][0]["shape"] = [2, 28, 28]
    bad["heads"][0]["inputs"][0]["shape"] = [2, 28, 28]
    (d / ex.MANIFEST_FILE).write_text(json.dumps(bad))
    with pytest.raises(ex.ExportError, match=r"state0_0 has shape \['\?', 1, 28, 28\]; expected \[batch, 2, 28, 28\]"):
        ex.check_graph(d / "stage-0.onnx", "stages[0]", bad["stages"][0]["inputs"], bad["stages"][0]["outputs"])
    r = subprocess.run([pcee, "infer", "--stages", str(d), "--policy", str(pol), "--limit", "8", "--repeat", "1"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "stage-0.onnx: stages[0].outputs" in r.stderr and "[batch, 2, 28, 28]" in r.stderr, r.stderr
