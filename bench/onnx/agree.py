"""ONNX export agreement, the Python half of bench/onnx/agree.sh (numpy + onnxruntime only).

Two subcommands:

  logits   Runs a stage-graph directory (`pcee export`) with ONNX Runtime's own Python
           sessions — not pcee's Rust backend — on the first N Fashion-MNIST test images (t10k
           file order, as `pcee logits/infer --split test --limit N`), preprocessed as the
           manifest says (x = (pixel · scale − mean) / std in float64, then float32), every stage
           then every head, and writes a logits file: `logits` float32 [exits, N, classes],
           `labels` int64 [N], `flops` float64 [exits] (the manifest's).

  compare  Compares two logits files of the same images (burn's from `pcee logits`, ONNX
           Runtime's from `logits`): max |Δlogit| per exit; and the decisions of `pcee infer
           --model … --json --decisions` against `pcee infer --stages … --json --decisions`
           under the same policy, counting rows whose exit or prediction differ. Each differing
           row is explained by replaying the policy (confidence, pcee, pcee-ws; width or mass
           bins) on both logits: `bin edge` when at the first exit where the two backends'
           rules disagree their confidences fall in different bins (or on both sides of δ for
           confidence thresholding), `argmax tie` when the exit agrees and the top two logits
           are within 1e-4, otherwise `unexplained`. Prints one JSON object.

Errors: one line on stderr, `error: <file>: <what>; expected …`, exit code 1.
Run `python3 bench/onnx/agree.py logits --help` / `compare --help`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import numpy as np

DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"


class Failure(Exception):
    """One line naming the file and what was expected."""


def read_idx(directory: Path, name: str, rank: int) -> np.ndarray:
    path = directory / f"{name}.gz"
    if not path.exists():
        path = directory / name
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise Failure(f"{path}: {e.strerror}; expected the Fashion-MNIST IDX file (package dataset-fashion-mnist or --data-dir)")
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 + 4 * rank or raw[:4] != bytes([0, 0, 8, rank]):
        raise Failure(f"{path}: magic {raw[:4].hex()}; expected 000008{rank:02x}")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if data.size != int(np.prod(dims)):
        raise Failure(f"{path}: {data.size} data bytes; expected {int(np.prod(dims))} for {dims}")
    return data.reshape(dims)


def ort_logits(args) -> None:
    import onnxruntime as ort

    stages = Path(args.stages)
    manifest_path = stages / "pcee-stages.json"
    try:
        m = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as e:
        raise Failure(f"{manifest_path}: {e}; expected a pcee export directory")
    if m.get("format") != "pcee-stages":
        raise Failure(f"{manifest_path}: format {m.get('format')!r}; expected 'pcee-stages'")
    d = Path(args.data_dir)
    images = read_idx(d, "t10k-images-idx3-ubyte", 3)[: args.limit]
    labels = read_idx(d, "t10k-labels-idx1-ubyte", 1)[: args.limit]
    if args.limit > len(images):
        raise Failure(f"--limit: {args.limit}; expected at most {len(images)} test images")
    pre = m["preprocessing"]
    x = ((images.astype(np.float64) * pre["scale"] - pre["mean"]) / pre["std"]).astype(np.float32)
    x = x.reshape([-1] + list(m["input"]["shape"]))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1

    def session(graph: str):
        try:
            return ort.InferenceSession(str(stages / graph), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise Failure(f"{stages / graph}: {str(e).splitlines()[0]}")

    stage_sessions = [(session(s["graph"]), s) for s in m["stages"]]
    head_sessions = [(session(h["graph"]), h) for h in m["heads"]]
    out = [[] for _ in head_sessions]
    for i in range(0, len(x), args.batch):
        state = {m["input"]["name"]: x[i:i + args.batch]}
        for e, ((sess, spec), (head, hspec)) in enumerate(zip(stage_sessions, head_sessions)):
            names = [t["name"] for t in spec["outputs"]]
            feeds = {t["name"]: state[t["name"]] for t in spec["inputs"]}
            state = dict(zip(names, sess.run(names, feeds)))
            hfeeds = {t["name"]: state[t["name"]] for t in hspec["inputs"]}
            out[e].append(head.run([hspec["output"]["name"]], hfeeds)[0])
    logits = np.stack([np.concatenate(o) for o in out]).astype(np.float32)
    np.savez(args.out, logits=logits, labels=labels.astype(np.int64),
             flops=np.asarray(m["flops"], dtype=np.float64))
    print(f"wrote {args.out} ({logits.shape[0]} exits × {logits.shape[1]} images)")


def load_npz(path: str):
    try:
        f = np.load(path)
        return f["logits"].astype(np.float64), f["labels"]
    except (OSError, KeyError, ValueError) as e:
        raise Failure(f"{path}: {e}; expected a logits file with `logits` and `labels`")


def load_json(path: str):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise Failure(f"{path}: {e}; expected the JSON object pcee printed")


def confidences(z: np.ndarray) -> np.ndarray:
    """max softmax in float64, as crates/pcee/src/score.rs: 1 / Σ exp(z − max z)."""
    return 1.0 / np.exp(z - z.max(axis=-1, keepdims=True)).sum(axis=-1)


class Rule:
    """The exit rule of a pcee policy file at δ (docs/design.md §3, the policy file §4)."""

    def __init__(self, path: str, delta: float):
        p = load_json(path)
        self.method, self.delta, self.exits = p.get("method"), delta, p["exits"]
        if self.method not in ("confidence", "pcee", "pcee-ws"):
            raise Failure(f"{path}: method {self.method!r}; expected confidence, pcee or pcee-ws")
        if p.get("temperatures"):
            raise Failure(f"{path}: temperature-scaled policy; expected one without --temperature")
        self.bins = int(p["bins"])
        self.window = int(p.get("window", 1)) if self.method == "pcee-ws" else 0
        self.mass = p.get("binning", "width") == "mass"

    def bin_of(self, e: int, c: np.ndarray) -> np.ndarray:
        if self.mass:
            edges = np.asarray(self.exits[e]["edges"], dtype=np.float64)
            return np.searchsorted(edges[1:-1], c, side="right")
        return np.clip(np.floor(c * self.bins), 0, self.bins - 1).astype(np.int64)

    def fires(self, e: int, c: np.ndarray) -> np.ndarray:
        if e + 1 >= len(self.exits):
            return np.ones_like(c, dtype=bool)
        if self.method == "confidence":
            return c >= self.delta
        n = np.asarray(self.exits[e]["counts"], dtype=np.float64)
        k = np.asarray(self.exits[e]["correct"], dtype=np.float64)
        fire = []
        for b in range(len(n)):
            lo, hi = max(0, b - self.window), min(len(n) - 1, b + self.window)
            nn, kk = n[lo:hi + 1].sum(), k[lo:hi + 1].sum()
            fire.append(n[b] > 0 and nn > 0 and kk / nn >= self.delta)
        return np.asarray(fire)[self.bin_of(e, c)]

    def decide(self, conf: np.ndarray) -> np.ndarray:
        """[N] exit index of each row from confidences [exits, N]."""
        fired = np.stack([self.fires(e, conf[e]) for e in range(len(conf))])
        return fired.argmax(axis=0)


def compare(args) -> None:
    burn, labels_b = load_npz(args.burn)
    onnx, labels_o = load_npz(args.ort)
    if burn.shape != onnx.shape or not np.array_equal(labels_b, labels_o):
        raise Failure(f"{args.ort}: logits {onnx.shape}; expected {burn.shape} with the labels of {args.burn}")
    diff = np.abs(burn - onnx)
    by_b, by_o = load_json(args.infer_burn), load_json(args.infer_ort)
    db, do = by_b.get("decisions"), by_o.get("decisions")
    if not db or not do or len(db) != len(do) or len(db) != burn.shape[1]:
        raise Failure(f"{args.infer_ort}: decisions of {len(do or [])} images vs {len(db or [])}; "
                      f"expected {burn.shape[1]} each (pcee infer --json --decisions, same --limit)")
    rule = Rule(args.policy, float(by_b["delta"]))
    conf_b, conf_o = confidences(burn), confidences(onnx)
    exit_b = np.array([d["exit"] for d in db])
    exit_o = np.array([d["exit"] for d in do])
    pred_b = np.array([d["prediction"] for d in db])
    pred_o = np.array([d["prediction"] for d in do])
    differ = np.nonzero((exit_b != exit_o) | (pred_b != pred_o))[0]
    rows = []
    for i in differ:
        why = "unexplained"
        for e in range(burn.shape[0]):
            fb, fo = rule.fires(e, conf_b[e, i:i + 1])[0], rule.fires(e, conf_o[e, i:i + 1])[0]
            if fb != fo:
                same_bin = rule.method != "confidence" and rule.bin_of(e, conf_b[e, i:i + 1])[0] == rule.bin_of(e, conf_o[e, i:i + 1])[0]
                why = "unexplained" if same_bin else "bin edge"
                break
            if fb:
                top = np.sort(burn[e, i])[-2:]
                if top[1] - top[0] < 1e-4:
                    why = "argmax tie"
                break
        rows.append({"image": int(i), "exit_burn": int(exit_b[i]), "exit_ort": int(exit_o[i]),
                     "confidence_burn": [float(c) for c in conf_b[:, i]],
                     "confidence_ort": [float(c) for c in conf_o[:, i]], "why": why})
    ev = load_json(args.evaluate) if args.evaluate else None
    report = {
        "images": int(burn.shape[1]),
        "max_abs_logit_diff": float(diff.max()),
        "max_abs_logit_diff_per_exit": [float(v) for v in diff.max(axis=(1, 2))],
        "argmax_agree": float((burn.argmax(-1) == onnx.argmax(-1)).mean()),
        "method": by_b.get("method"), "delta": by_b.get("delta"),
        "exit_fractions_burn": by_b.get("exit_fractions"),
        "exit_fractions_ort": by_o.get("exit_fractions"),
        "decisions_differ": len(rows),
        "bin_edge": sum(r["why"] == "bin edge" for r in rows),
        "argmax_tie": sum(r["why"] == "argmax tie" for r in rows),
        "unexplained": sum(r["why"] == "unexplained" for r in rows),
        # The Python replay of the rule against what each backend decided (checks the replay).
        "replay_mismatch_burn": int((rule.decide(conf_b) != exit_b).sum()),
        "replay_mismatch_ort": int((rule.decide(conf_o) != exit_o).sum()),
        "evaluate_fractions_equal_ort": None if ev is None else ev.get("exit_fractions") == by_o.get("exit_fractions"),
        "rows": rows,
    }
    print(json.dumps(report))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    lg = sub.add_parser("logits", help="every exit's logits of a stage-graph directory with onnxruntime")
    lg.add_argument("--stages", required=True, help="directory written by pcee export")
    lg.add_argument("--limit", type=int, default=2000, help="first N test images (default 2000)")
    lg.add_argument("--out", required=True, help="logits file to write (.npz)")
    lg.add_argument("--batch", type=int, default=256)
    lg.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    lg.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    cp = sub.add_parser("compare", help="logits and decisions of burn against ONNX Runtime")
    cp.add_argument("--burn", required=True, help="pcee logits --split test --limit N")
    cp.add_argument("--ort", required=True, help="agree.py logits on the same images")
    cp.add_argument("--policy", required=True, help="the policy both infer runs used")
    cp.add_argument("--infer-burn", required=True, help="pcee infer --model … --json --decisions")
    cp.add_argument("--infer-ort", required=True, help="pcee infer --stages … --json --decisions")
    cp.add_argument("--evaluate", help="pcee evaluate --json on --burn with the policy (optional)")
    args = ap.parse_args(argv)
    try:
        if args.command == "logits":
            if args.limit < 1 or args.batch < 1 or args.threads < 1:
                raise Failure("--limit/--batch/--threads: expected positive integers")
            ort_logits(args)
        else:
            compare(args)
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
