"""Where the time of ONNX Runtime on stage graphs goes: per-graph session-call time against the
whole network as one graph, in ONNX Runtime's own Python session (intra-op threads = --threads).

For a stage-graph directory (examples/python/export_stages.py --out) and the same network as
one graph (--full), at each --batch: the median time of one `run` of every stage graph and head
graph (inputs prepared once, outputs discarded), their sum, one `run` of the full graph, the
difference (what splitting into 2L sessions costs: per-call overhead, lost cross-graph fusion,
outputs copied out of ORT and fed back in), and the per-call overhead of an empty-ish graph
(head 0 at batch 1). Also times one numpy gather of half the rows of every state tensor (the
copy pcee's ORT backend makes between stages when some images left).

Run: bench/.venv/bin/python bench/onnx/ort_profile.py --stages DIR --full FILE.onnx [--batch 1 256]
     [--threads 2] [--calls 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def session(path, threads, spinning=True):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.log_severity_level = 3
    if not spinning:
        o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])


def timed(fn, calls):
    for _ in range(max(3, calls // 10)):
        fn()
    t = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stages", required=True)
    ap.add_argument("--full", required=True)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 256])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--no-spinning", action="store_true", help="session.intra_op.allow_spinning = 0")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    d = Path(a.stages)
    m = json.loads((d / "pcee-stages.json").read_text())
    spin = not a.no_spinning
    stages = [session(d / s["graph"], a.threads, spin) for s in m["stages"]]
    heads = [session(d / h["graph"], a.threads, spin) for h in m["heads"]]
    full = session(a.full, a.threads, spin)
    rng = np.random.default_rng(0)
    report = {"stages": str(d), "full": a.full, "threads": a.threads, "spinning": spin,
              "onnxruntime": ort.__version__, "batches": {}}
    for b in a.batch:
        first = m.get("input") or m["inputs"][0]  # manifest version 1 or 2 (one float32 input)
        x = rng.normal(size=(b, *first["shape"])).astype(np.float32)
        state = {first["name"]: x}
        per_stage, per_head, gather = [], [], []
        for e, (st, hd) in enumerate(zip(m["stages"], m["heads"])):
            feed = {t["name"]: state[t["name"]] for t in st["inputs"]}
            names = [t["name"] for t in st["outputs"]]
            per_stage.append(timed(lambda: stages[e].run(names, feed), a.calls))
            state = dict(zip(names, stages[e].run(names, feed)))
            hfeed = {t["name"]: state[t["name"]] for t in hd["inputs"]}
            per_head.append(timed(lambda: heads[e].run(None, hfeed), a.calls))
            if b > 1:
                kept = np.arange(0, b, 2)
                gather.append(timed(lambda: [np.take(v, kept, axis=0) for v in state.values()], a.calls))
        fname = full.get_inputs()[0].name
        t_full = timed(lambda: full.run(None, {fname: x}), a.calls)
        parts = sum(per_stage) + sum(per_head)
        r = {
            "stage_ms": [1e3 * t for t in per_stage],
            "head_ms": [1e3 * t for t in per_head],
            "sum_of_graphs_ms": 1e3 * parts,
            "full_graph_ms": 1e3 * t_full,
            "split_cost_ms": 1e3 * (parts - t_full),
            "split_cost_fraction": (parts - t_full) / t_full,
            "gather_half_rows_ms": [1e3 * t for t in gather],
            "calls_per_pass": 2 * len(stages),
        }
        report["batches"][str(b)] = r
        print(f"batch {b}: {len(stages)} stages + {len(heads)} heads: sum {r['sum_of_graphs_ms']:.3f} ms vs full graph "
              f"{r['full_graph_ms']:.3f} ms (split costs {r['split_cost_ms']:+.3f} ms, {100 * r['split_cost_fraction']:+.0f} %); "
              f"stages " + " ".join(f"{t:.3f}" for t in r["stage_ms"]) + " ms; heads "
              + " ".join(f"{t:.3f}" for t in r["head_ms"]) + " ms"
              + (f"; gather of half the rows {sum(r['gather_half_rows_ms']):.3f} ms over all stages" if gather else ""))
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
