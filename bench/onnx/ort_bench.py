"""ONNX Runtime's own Python session on a pcee model exported whole (examples/python/
export_stages.py --full), timed the way `pcee infer` and bench/pytorch/bench.py time theirs:
images normalised into batches first, every mode warmed up untimed on ≥ 512 images, then
--repeat rounds each timing one pass of every mode over all images (order rotating), images/s
= images / lower median pass time.

Modes:
- full:          the whole graph, one `InferenceSession.run` per batch (every stage and every
                 head: what pcee's full pass computes), prediction = argmax of the last exit;
- stages_full:   (with --stages DIR) the stage graphs and head graphs chained from Python, every
                 stage and head — the session calls pcee's ORT backend makes at full depth;
- stages_shrink: (with --stages DIR and --policy) early exit over the stage graphs from Python:
                 after each head the policy (bench/pytorch/policy.py) decides, the remaining
                 rows are gathered (numpy take) and only they go on — pcee's ORT backend's
                 algorithm, in Python.
Session options: intra_op_num_threads = --threads, inter_op_num_threads = 1, sequential
execution, ONNX Runtime's default graph optimisation (all) and spinning.

Run (from the repository root, bench venv):
    bench/.venv/bin/python bench/onnx/ort_bench.py --full-graph large-full.onnx --batch 256 \\
        --limit 2048 --repeat 3 --threads 2 [--stages DIR --policy P --delta 0.9 --modes full,stages_full,stages_shrink] [--json out.json]
Prints one JSON object (also written to --json). Exit code 1 with one error line on bad input.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
WARMUP_IMAGES = 512


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"pcee_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


data = _import(ROOT / "bench/pytorch/data.py")


class BenchError(Exception):
    pass


def session(path, threads):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's own exception types
        raise BenchError(f"{path}: ONNX Runtime cannot load it ({' '.join(str(e).split())[:200]})")


class Full:
    def __init__(self, path, threads):
        self.s = session(path, threads)
        self.input = self.s.get_inputs()[0].name
        self.last = self.s.get_outputs()[-1].name
        self.exits = len(self.s.get_outputs())

    def __call__(self, x):
        z = self.s.run(None, {self.input: x})[-1]  # every exit's logits are outputs
        return np.full(len(x), self.exits - 1), z.argmax(1)


class Stages:
    def __init__(self, directory, threads, policy=None):
        d = Path(directory)
        self.m = json.loads((d / "pcee-stages.json").read_text())
        self.stages = [session(d / s["graph"], threads) for s in self.m["stages"]]
        self.heads = [session(d / h["graph"], threads) for h in self.m["heads"]]
        self.policy = policy
        self.exits = len(self.heads)

    def _stage(self, e, state):
        st = self.m["stages"][e]
        names = [t["name"] for t in st["outputs"]]
        return dict(zip(names, self.stages[e].run(names, {t["name"]: state[t["name"]] for t in st["inputs"]})))

    def _head(self, e, state):
        hd = self.m["heads"][e]
        return self.heads[e].run([hd["output"]["name"]], {t["name"]: state[t["name"]] for t in hd["inputs"]})[0]

    def full(self, x):
        state = {self.m["input"]["name"]: x}
        for e in range(self.exits):
            state = self._stage(e, state)
            z = self._head(e, state)
        return np.full(len(x), self.exits - 1), z.argmax(1)

    def shrink(self, x):
        import torch

        n = len(x)
        exit_at = np.full(n, self.exits - 1)
        pred = np.zeros(n, dtype=np.int64)
        alive = np.arange(n)
        state = {self.m["input"]["name"]: x}
        for e in range(self.exits):
            state = self._stage(e, state)
            z = self._head(e, state)
            stops = self.policy.stops(e, torch.from_numpy(z)).numpy()
            if stops.any():
                exit_at[alive[stops]] = e
                pred[alive[stops]] = z.argmax(1)[stops]
                if stops.all():
                    break
                kept = np.flatnonzero(~stops)
                state = {k: np.take(v, kept, axis=0) for k, v in state.items()}
                alive = alive[kept]
        return exit_at, pred


def run_pass(fn, batches):
    exits, preds = [], []
    t0 = time.perf_counter()
    for x in batches:
        e, p = fn(x)
        exits.append(e)
        preds.append(p)
    return time.perf_counter() - t0, np.concatenate(exits), np.concatenate(preds)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full-graph", help="the whole network as one ONNX graph (export_stages.py --full)")
    ap.add_argument("--stages", help="a stage-graph directory (for the stages_* modes)")
    ap.add_argument("--policy", help="a pcee policy file (for stages_shrink)")
    ap.add_argument("--delta", type=float, default=None)
    ap.add_argument("--modes", default="full")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    try:
        modes = a.modes.split(",")
        if any(m not in ("full", "stages_full", "stages_shrink") for m in modes):
            raise BenchError(f"--modes {a.modes}: expected a list of full, stages_full, stages_shrink")
        if a.batch < 1 or a.repeat < 1 or a.threads < 1:
            raise BenchError("--batch, --repeat and --threads must be at least 1")
        fns = {}
        if "full" in modes:
            if not a.full_graph:
                raise BenchError("--full-graph: needed for mode full")
            fns["full"] = Full(a.full_graph, a.threads)
        if "stages_full" in modes or "stages_shrink" in modes:
            if not a.stages:
                raise BenchError("--stages: needed for the stages_* modes")
            policy = None
            if "stages_shrink" in modes:
                if not a.policy:
                    raise BenchError("--policy: needed for mode stages_shrink")
                policy = _import(ROOT / "bench/pytorch/policy.py").Policy(a.policy, a.delta)
            st = Stages(a.stages, a.threads, policy)
            if "stages_full" in modes:
                fns["stages_full"] = st.full
            if "stages_shrink" in modes:
                fns["stages_shrink"] = st.shrink
        images, labels = data.load_test(a.data_dir, a.limit)
    except (BenchError, data.DataError, OSError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    n = len(images)
    batches = [np.ascontiguousarray(images[i:i + a.batch]) for i in range(0, n, a.batch)]
    warm = batches[:max(1, min(len(batches), -(-WARMUP_IMAGES // a.batch)))]
    for m in modes:
        run_pass(fns[m], warm)
    secs = {m: [] for m in modes}
    results = {}
    for r in range(a.repeat):
        for m in modes[r % len(modes):] + modes[:r % len(modes)]:
            s, e, p = run_pass(fns[m], batches)
            secs[m].append(s)
            results.setdefault(m, (e, p))
    out = {"full_graph": a.full_graph, "stages": a.stages, "batch": a.batch, "samples": n, "repeats": a.repeat,
           "threads": a.threads, "onnxruntime": ort.__version__}
    for m in modes:
        med = sorted(secs[m])[(len(secs[m]) - 1) // 2]  # lower median, as pcee
        e, p = results[m]
        out[m] = {"images_per_second": n / med, "pass_seconds": secs[m],
                  "accuracy": float((p == labels).mean()), "mean_exit": float(e.mean())}
    text = json.dumps(out, indent=2)
    if a.json:
        Path(a.json).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
