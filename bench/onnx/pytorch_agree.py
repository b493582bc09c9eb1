"""Agreement of a PyTorch-defined network exported with examples/python/export_stages.py and run
by pcee's ONNX Runtime backend with real early exit, against the same network in PyTorch.

The network is bench/pytorch's twin of a shipped pcee model (models.py: MSDNet or the ViT in
PyTorch, loading the same .safetensors). On the first N Fashion-MNIST test images, each
normalised once by the manifest's preprocessing exactly as pcee does it ((pixel · scale − mean)
/ std in float64, then float32) and fed identically to both sides:

1. `pcee infer --stages DIR --policy P --json --decisions` — pcee's early exit through ONNX
   Runtime (every image's exit, prediction and confidence);
2. the twin's own early exit in PyTorch (bench/pytorch/bench.py's `shrink`: after each head the
   policy rule of bench/pytorch/policy.py decides, only the remaining rows go on) — same
   policy file, same δ;
3. every exit's logits of the exported graphs (onnxruntime's Python session on the same graph
   files, the same libonnxruntime that pcee loads) against the twin's logits: max |difference|,
   target < 1e-4;
4. optionally (`--model-decisions`), `pcee infer --model` on the same weights (burn).

Counts: exit and prediction mismatches between pcee-ORT and PyTorch; confidence differences
at the exit taken; and bin-edge cases — images whose confidence lands in a different bin of
the policy (or on the other side of δ for `confidence`) in ORT and in PyTorch at some exit
they reached. A mismatch that is not a bin-edge case is unexplained (exit code 3).

Run (from the repository root, bench venv; pcee built with --features onnx):
    bench/.venv/bin/python bench/onnx/pytorch_agree.py --model assets/models/msdnet-large.safetensors \\
        --stages large-torch-stages/ --policy large-policy.json [--delta 0.9] [--limit 1000] \\
        [--pcee target/release/pcee] [--model-decisions] [--json out.json]
ORT_DYLIB_PATH defaults to the venv's onnxruntime library. Exit code 1 with one error line on
bad input, 3 when the logits differ by ≥ the tolerance or a mismatch is unexplained.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


def _import(path: Path):
    """A module by file (bench/pytorch is not put on sys.path: its profile.py would shadow the
    standard library's, which torch imports lazily)."""
    spec = importlib.util.spec_from_file_location(f"pcee_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


models = _import(ROOT / "bench/pytorch/models.py")
data = _import(ROOT / "bench/pytorch/data.py")
policy_mod = _import(ROOT / "bench/pytorch/policy.py")


class AgreeError(Exception):
    pass


def ort_dylib() -> str:
    import onnxruntime

    libs = sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*")))
    if not libs:
        raise AgreeError("onnxruntime: no libonnxruntime.so in the installed wheel; set ORT_DYLIB_PATH")
    return libs[0]


def raw_test(data_dir, n):
    """The first n test images as raw uint8 [n, 28, 28] and their labels."""
    d = Path(data_dir or data.DEFAULT_DATA_DIR)
    images = data._read_idx(data._find(d, "t10k-images-idx3-ubyte"), 3)[:n]
    labels = data._read_idx(data._find(d, "t10k-labels-idx1-ubyte"), 1)[:n]
    return images, labels.astype(np.int64)


def preprocess(images: np.ndarray, pre: dict, shape) -> np.ndarray:
    """As crates/pcee-onnx's Preprocessing::apply: float64 arithmetic, then float32."""
    x = (images.astype(np.float64) * pre["scale"] - pre["mean"]) / pre["std"]
    return x.astype(np.float32).reshape(len(images), *shape)


def torch_logits(net, x: np.ndarray, batch: int) -> np.ndarray:
    outs = [[] for _ in range(net.exits())]
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            state = net.embed(torch.from_numpy(x[i:i + batch]))
            for e in range(net.exits()):
                state = net.stage(e, state)
                outs[e].append(net.exit_head(e, state).numpy())
    return np.stack([np.concatenate(o) for o in outs])


def torch_early_exit(net, policy, x: np.ndarray, batch: int):
    """The twin's own early exit (bench.py's shrink): exits and predictions."""
    n = len(x)
    exits = np.full(n, net.exits() - 1)
    preds = np.zeros(n, dtype=np.int64)
    with torch.inference_mode():
        for i in range(0, n, batch):
            xb = torch.from_numpy(x[i:i + batch])
            state = net.embed(xb)
            alive = torch.arange(i, i + len(xb))
            for e in range(net.exits()):
                state = net.stage(e, state)
                logits = net.exit_head(e, state)
                stops = policy.stops(e, logits)
                if stops.any():
                    gone = alive[stops].numpy()
                    exits[gone] = e
                    preds[gone] = logits.argmax(1)[stops].numpy()
                    if bool(stops.all()):
                        break
                    kept = (~stops).nonzero().squeeze(1)
                    state = net.select(state, kept)
                    alive = alive[kept]
    return exits, preds


def ort_logits(stages_dir: Path, manifest: dict, x: np.ndarray, batch: int, threads: int) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    open_ = lambda g: ort.InferenceSession(str(stages_dir / g), opts, providers=["CPUExecutionProvider"])  # noqa: E731
    stages = [open_(s["graph"]) for s in manifest["stages"]]
    heads = [open_(h["graph"]) for h in manifest["heads"]]
    outs = [[] for _ in heads]
    for i in range(0, len(x), batch):
        state = {manifest["input"]["name"]: x[i:i + batch]}
        for e, (st, hd) in enumerate(zip(manifest["stages"], manifest["heads"])):
            names = [t["name"] for t in st["outputs"]]
            vals = stages[e].run(names, {t["name"]: state[t["name"]] for t in st["inputs"]})
            state = dict(zip(names, vals))
            outs[e].append(heads[e].run([hd["output"]["name"]], {t["name"]: state[t["name"]] for t in hd["inputs"]})[0])
    return np.stack([np.concatenate(o) for o in outs])


def confidence(z: np.ndarray) -> np.ndarray:
    """float64 max softmax, as crates/pcee/src/score.rs and policy.py."""
    z = z.astype(np.float64)
    return 1.0 / np.exp(z - z.max(axis=-1, keepdims=True)).sum(axis=-1)


def side(policy, conf: np.ndarray) -> np.ndarray:
    """What the rule looks at: the bin (pcee, pcee-ws) or whether conf ≥ δ (confidence)."""
    if policy.table is None:
        return (conf >= policy.delta).astype(np.int64)
    return np.stack([policy.bin_of(e, torch.from_numpy(c)).numpy() for e, c in enumerate(conf)])


def run_pcee(pcee: str, args: list[str], env: dict) -> list[dict]:
    r = subprocess.run([pcee, "infer", *args, "--repeat", "1", "--json", "--decisions"],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise AgreeError(f"{pcee} infer {' '.join(args)}: {r.stderr.strip()}")
    return json.loads(r.stdout)["decisions"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the .safetensors the twin loads (its .json card beside it)")
    ap.add_argument("--stages", required=True, help="the stage-graph directory export_stages.py wrote from that twin")
    ap.add_argument("--policy", required=True)
    ap.add_argument("--delta", type=float, default=None)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--pcee", default=os.environ.get("PCEE_BIN", str(ROOT / "target/release/pcee")))
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--model-decisions", action="store_true", help="also compare with pcee infer --model (burn)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    try:
        if a.limit < 1 or a.batch < 1:
            raise AgreeError("--limit and --batch must be at least 1")
        stages_dir = Path(a.stages)
        try:
            manifest = json.loads((stages_dir / "pcee-stages.json").read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise AgreeError(f"{stages_dir}/pcee-stages.json: cannot be read ({e})")
        net = models.load_model(a.model)
        policy = policy_mod.Policy(a.policy, a.delta)
        if policy.exits != net.exits() or len(manifest["heads"]) != net.exits():
            raise AgreeError(f"{a.policy}: {policy.exits} exits; the twin has {net.exits()}, the graphs {len(manifest['heads'])}")
        images, labels = raw_test(a.data_dir, a.limit)
        n = len(images)
        x = preprocess(images, manifest["preprocessing"], manifest["input"]["shape"])
        env = dict(os.environ)
        env.setdefault("ORT_DYLIB_PATH", ort_dylib())
        delta = ["--delta", repr(policy.delta)]
        common = ["--policy", a.policy, *delta, "--limit", str(n), "--batch", str(a.batch)]
        if a.data_dir:
            common += ["--data-dir", a.data_dir]
        ort_dec = run_pcee(a.pcee, ["--stages", str(stages_dir), *common], env)
        if len(ort_dec) != n:
            raise AgreeError(f"pcee infer --stages: {len(ort_dec)} decisions for {n} images")
        ort_exit = np.array([d["exit"] for d in ort_dec])
        ort_pred = np.array([d["prediction"] for d in ort_dec])
        ort_conf = np.array([d["confidence"] for d in ort_dec])

        t_logits = torch_logits(net, x, a.batch)
        t_exit, t_pred = torch_early_exit(net, policy, x, a.batch)
        o_logits = ort_logits(stages_dir, manifest, x, a.batch, a.threads)
    except (AgreeError, models.ModelError, data.DataError, policy_mod.PolicyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    diff = np.abs(o_logits.astype(np.float64) - t_logits.astype(np.float64))
    t_conf_all, o_conf_all = confidence(t_logits), confidence(o_logits)  # [L, N]
    L = net.exits()
    # exits both sides asked the policy about (up to the first one where they may diverge);
    # the last exit always takes the rest, so a different bin there changes nothing
    asked = np.arange(L)[:, None] <= np.minimum(ort_exit, t_exit)[None, :]
    edge = ((side(policy, t_conf_all) != side(policy, o_conf_all)) & asked)[:L - 1].any(axis=0)
    mism = ort_exit != t_exit
    pred_mism = ort_pred != t_pred
    t_conf_at = t_conf_all[t_exit, np.arange(n)]
    same = ~mism
    rep = {
        "model": a.model,
        "stages": str(stages_dir),
        "images": n,
        "method": policy.method,
        "delta": policy.delta,
        "bins": policy.bins,
        "max_abs_logit_diff_ort_vs_pytorch": float(diff.max()),
        "max_abs_logit_diff_per_exit": [float(d.max()) for d in diff],
        "tolerance": a.tolerance,
        "exit_mismatches_pcee_ort_vs_pytorch": int(mism.sum()),
        "prediction_mismatches_pcee_ort_vs_pytorch": int(pred_mism.sum()),
        "bin_edge_cases": int(edge.sum()),
        "exit_mismatches_at_bin_edge": int((mism & edge).sum()),
        "exit_mismatches_unexplained": int((mism & ~edge).sum()),
        "max_abs_confidence_diff_at_exit": float(np.abs(ort_conf[same] - t_conf_at[same]).max()) if same.any() else None,
        "exit_fractions_pcee_ort": (np.bincount(ort_exit, minlength=L) / n).tolist(),
        "exit_fractions_pytorch": (np.bincount(t_exit, minlength=L) / n).tolist(),
        "accuracy_pcee_ort": float((ort_pred == labels).mean()),
        "accuracy_pytorch": float((t_pred == labels).mean()),
        "python_rule_on_ort_logits_vs_pcee_ort": int((_exits_of(policy, o_logits) != ort_exit).sum()),
    }
    if a.model_decisions:
        try:
            burn = run_pcee(a.pcee, ["--model", a.model, *common], env)
        except AgreeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        rep["exit_mismatches_pcee_ort_vs_pcee_burn"] = int((np.array([d["exit"] for d in burn]) != ort_exit).sum())
        rep["prediction_mismatches_pcee_ort_vs_pcee_burn"] = int((np.array([d["prediction"] for d in burn]) != ort_pred).sum())
    if a.json:
        Path(a.json).write_text(json.dumps(rep, indent=2))
    per = " ".join(f"{d:.1e}" for d in rep["max_abs_logit_diff_per_exit"])
    burn_txt = ""
    if "exit_mismatches_pcee_ort_vs_pcee_burn" in rep:
        burn_txt = f"; vs pcee infer --model: {rep['exit_mismatches_pcee_ort_vs_pcee_burn']} exit mismatches"
    print(f"{Path(a.model).stem}: {n} images, δ {policy.delta:g} ({policy.method}); logits ORT vs PyTorch max |diff| "
          f"{rep['max_abs_logit_diff_ort_vs_pytorch']:.2e} (per exit {per}); exits pcee-ORT vs PyTorch early exit: "
          f"{rep['exit_mismatches_pcee_ort_vs_pytorch']} mismatches ({rep['exit_mismatches_at_bin_edge']} at a bin edge, "
          f"{rep['exit_mismatches_unexplained']} unexplained; {rep['bin_edge_cases']} images with a bin differing), "
          f"{rep['prediction_mismatches_pcee_ort_vs_pytorch']} prediction mismatches{burn_txt}")
    ok = rep["max_abs_logit_diff_ort_vs_pytorch"] < a.tolerance and rep["exit_mismatches_unexplained"] == 0
    return 0 if ok else 3


def _exits_of(policy, logits: np.ndarray) -> np.ndarray:
    L, N, _ = logits.shape
    exit_at = np.full(N, L - 1)
    undecided = np.ones(N, dtype=bool)
    for e in range(L):
        stops = policy.stops(e, torch.from_numpy(logits[e])).numpy() & undecided
        exit_at[stops] = e
        undecided &= ~stops
    return exit_at


if __name__ == "__main__":
    sys.exit(main())
