"""Agreement check: the PyTorch networks (models.py) against pcee on the same test images.

Compares every exit's logits of the PyTorch network with those `pcee logits --split test
--limit N` wrote (same weights, same first N test images) and reports max |difference| (target
< 1e-4) and the share of images whose argmax agrees. With --decisions (the JSON of `pcee infer
--json --decisions` on the same images and policy), it also replays the policy (policy.py) and
counts images whose exit differs — from pcee's own logits (checks the Python rule) and from the
PyTorch logits (what the PyTorch early-exit runs decide).

Run (from the repository root, in the bench venv):
    bench/.venv/bin/python bench/pytorch/agree.py --model assets/models/msdnet-small.safetensors \
        --logits test.npz [--policy policy.json --decisions infer.json] [--json out.json]
Exit code 1 with one error line on bad input; 3 when max |diff| ≥ the tolerance.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DataError, load_test  # noqa: E402
from models import ModelError, load_model  # noqa: E402
from policy import Policy, PolicyError  # noqa: E402


def torch_logits(net, images: np.ndarray, batch: int) -> np.ndarray:
    outs = [[] for _ in range(net.exits())]
    with torch.inference_mode():
        for i in range(0, len(images), batch):
            state = net.embed(torch.from_numpy(images[i:i + batch]))
            for e in range(net.exits()):
                state = net.stage(e, state)
                outs[e].append(net.exit_head(e, state).numpy())
    return np.stack([np.concatenate(o) for o in outs])  # [L, N, C]


def exits_of(policy: Policy, logits: np.ndarray) -> np.ndarray:
    L, N, _ = logits.shape
    exit_at = np.full(N, L - 1)
    undecided = np.ones(N, dtype=bool)
    for e in range(L):
        stops = policy.stops(e, torch.from_numpy(logits[e])).numpy() & undecided
        exit_at[stops] = e
        undecided &= ~stops
    return exit_at


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help=".safetensors (its .json card beside it)")
    ap.add_argument("--logits", required=True, help="npz from pcee logits --split test --limit N")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--policy", default=None)
    ap.add_argument("--delta", type=float, default=None)
    ap.add_argument("--decisions", default=None, help="JSON of pcee infer --json --decisions")
    ap.add_argument("--json", default=None, help="write the figures here")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    try:
        net = load_model(a.model)
        try:
            npz = np.load(a.logits)
            theirs, labels = npz["logits"].astype(np.float32), npz["labels"]
        except (OSError, KeyError, ValueError) as e:
            raise ModelError(f"{a.logits}: cannot read a logits file with logits and labels ({e})")
        n = theirs.shape[1]
        images, our_labels = load_test(a.data_dir, n)
        if len(images) != n or not np.array_equal(our_labels, labels.astype(np.int64)):
            raise DataError(f"{a.logits}: its labels are not those of the first {n} test images")
        ours = torch_logits(net, images, a.batch)
        if ours.shape != theirs.shape:
            raise ModelError(f"{a.logits}: logits {theirs.shape}, PyTorch gives {ours.shape}")
        diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
        rep = {
            "model": a.model,
            "images": n,
            "exits": int(ours.shape[0]),
            "max_abs_diff": float(diff.max()),
            "max_abs_diff_per_exit": [float(d.max()) for d in diff],
            "mean_abs_diff": float(diff.mean()),
            "max_abs_logit": float(np.abs(theirs).max()),
            "argmax_agreement_per_exit": [float((o.argmax(1) == t.argmax(1)).mean())
                                          for o, t in zip(ours, theirs)],
            "tolerance": a.tolerance,
        }
        if a.policy and a.decisions:
            policy = Policy(a.policy, a.delta)
            d = json.loads(Path(a.decisions).read_text())["decisions"]
            pcee_exits = np.array([x["exit"] for x in d])
            if len(pcee_exits) != n:
                raise PolicyError(f"{a.decisions}: {len(pcee_exits)} decisions for {n} images")
            rep["exit_mismatches_python_rule_on_pcee_logits"] = int((exits_of(policy, theirs) != pcee_exits).sum())
            rep["exit_mismatches_pytorch"] = int((exits_of(policy, ours) != pcee_exits).sum())
            rep["delta"] = policy.delta
    except (ModelError, DataError, PolicyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if a.json:
        Path(a.json).write_text(json.dumps(rep, indent=2))
    per_exit = " ".join(f"{x:.2e}" for x in rep["max_abs_diff_per_exit"])
    extra = ""
    if "exit_mismatches_pytorch" in rep:
        extra = (f"; exit mismatches: Python rule on pcee logits {rep['exit_mismatches_python_rule_on_pcee_logits']}, "
                 f"PyTorch logits {rep['exit_mismatches_pytorch']} of {n}")
    print(f"{Path(a.model).stem}: {n} images, max |diff| {rep['max_abs_diff']:.2e} "
          f"(per exit {per_exit}; largest |logit| {rep['max_abs_logit']:.1f}){extra}")
    return 0 if rep["max_abs_diff"] < a.tolerance else 3


if __name__ == "__main__":
    sys.exit(main())
