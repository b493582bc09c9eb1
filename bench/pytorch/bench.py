"""PyTorch timings of a pcee model on the Fashion-MNIST test images, measured the way `pcee infer`
measures pcee (crates/pcee-nn/src/runtime/measure.rs): images normalised into batch tensors
before timing; every mode warmed up untimed on ≥ 512 images (at least one batch); then
--repeat rounds, each timing one pass of every mode over all images (the order of the modes
rotating from round to round); images/s = images / median pass time. Runs under
torch.inference_mode() with torch.set_num_threads(--threads) (pcee's RAYON_NUM_THREADS).

Modes:
- full:   every stage and every exit head (what pcee's full pass runs), decision at the last exit;
- mask:   the usual PyTorch early exit — compute all stages and heads for the whole batch, then
          pick each image's exit with the policy (no compute saved);
- shrink: real early exit as pcee does it — stage by stage, after each head the policy decides
          and only the remaining rows (index_select) go on; stops when no row is left.
The policy rule is policy.py's reimplementation of the pcee policy file at δ (--delta).
--channels-last runs the network and the images in torch.channels_last memory format (NHWC):
PyTorch's default NCHW 1×1 convolutions with few channels at 28×28 are pathologically slow in
oneDNN (≈ 24 ms for 256×8×28×28 → 4 channels, against 0.7 ms in channels_last), so a fair
baseline is the better of the two formats; compare.sh runs both for MSDNet.

Run (from the repository root, in the bench venv):
    bench/.venv/bin/python bench/pytorch/bench.py --model M.safetensors --policy P.json \
        --delta 0.9 --batch 256 --limit 2000 --repeat 3 --threads 2 [--json out.json]
Prints one JSON object (also written to --json). Exit code 1 with one error line on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DataError, load_test  # noqa: E402
from models import ModelError, load_model  # noqa: E402
from policy import Policy, PolicyError  # noqa: E402

WARMUP_IMAGES = 512


def full(net, policy, x):
    state = net.embed(x)
    logits = None
    for e in range(net.exits()):
        state = net.stage(e, state)
        logits = net.exit_head(e, state)  # every head runs, as in pcee's full pass
    return torch.full((x.shape[0],), net.exits() - 1), logits.argmax(1)


def mask(net, policy, x):
    state = net.embed(x)
    n = x.shape[0]
    exit_at = torch.full((n,), net.exits() - 1)
    pred = torch.zeros(n, dtype=torch.long)
    undecided = torch.ones(n, dtype=torch.bool)
    for e in range(net.exits()):
        state = net.stage(e, state)
        logits = net.exit_head(e, state)
        stops = policy.stops(e, logits) & undecided
        exit_at[stops] = e
        pred[stops] = logits.argmax(1)[stops]
        undecided &= ~stops
    return exit_at, pred


def shrink(net, policy, x):
    state = net.embed(x)
    n = x.shape[0]
    exit_at = torch.full((n,), net.exits() - 1)
    pred = torch.zeros(n, dtype=torch.long)
    alive = torch.arange(n)
    for e in range(net.exits()):
        state = net.stage(e, state)
        logits = net.exit_head(e, state)
        stops = policy.stops(e, logits)
        if stops.any():
            gone = alive[stops]
            exit_at[gone] = e
            pred[gone] = logits.argmax(1)[stops]
            if bool(stops.all()):
                break
            kept = (~stops).nonzero().squeeze(1)
            state = net.select(state, kept)
            alive = alive[kept]
    return exit_at, pred


MODES = {"full": full, "mask": mask, "shrink": shrink}


def run_pass(net, policy, batches, fn):
    exits, preds = [], []
    t0 = time.perf_counter()
    for x in batches:
        e, p = fn(net, policy, x)
        exits.append(e)
        preds.append(p)
    return time.perf_counter() - t0, torch.cat(exits), torch.cat(preds)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--delta", type=float, default=None)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--limit", type=int, default=None, help="first N test images (default all)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--modes", default="full,mask,shrink")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    try:
        if a.batch < 1 or a.repeat < 1 or a.threads < 1:
            raise PolicyError("--batch, --repeat and --threads must be at least 1")
        modes = a.modes.split(",")
        if any(m not in MODES for m in modes):
            raise PolicyError(f"--modes {a.modes}: expected a list of full, mask, shrink")
        torch.set_num_threads(a.threads)
        net = load_model(a.model)
        policy = Policy(a.policy, a.delta)
        if policy.exits != net.exits():
            raise PolicyError(f"{a.policy}: {policy.exits} exits but the model has {net.exits()}")
        images, labels = load_test(a.data_dir, a.limit)
    except (ModelError, DataError, PolicyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    n = len(images)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    if a.channels_last:
        net = net.to(memory_format=torch.channels_last)
    batches = [torch.from_numpy(images[i:i + a.batch]).contiguous(memory_format=fmt)
               for i in range(0, n, a.batch)]
    warm = batches[:max(1, min(len(batches), -(-WARMUP_IMAGES // a.batch)))]
    secs = {m: [] for m in modes}
    results = {}
    with torch.inference_mode():
        for m in modes:
            run_pass(net, policy, warm, MODES[m])
        for r in range(a.repeat):
            order = modes[r % len(modes):] + modes[:r % len(modes)]
            for m in order:
                s, e, p = run_pass(net, policy, batches, MODES[m])
                secs[m].append(s)
                results.setdefault(m, (e, p))
    labels_t = torch.from_numpy(labels)
    out = {
        "model": a.model,
        "policy_method": policy.method,
        "delta": policy.delta,
        "batch": a.batch,
        "samples": n,
        "repeats": a.repeat,
        "threads": torch.get_num_threads(),
        "memory_format": "channels_last" if a.channels_last else "default",
        "torch": torch.__version__,
    }
    for m in modes:
        med = sorted(secs[m])[(len(secs[m]) - 1) // 2]  # lower median, as pcee
        e, p = results[m]
        out[m] = {
            "images_per_second": n / med,
            "pass_seconds": secs[m],
            "accuracy": float((p == labels_t).float().mean()),
            "mean_exit": float(e.float().mean()),
            "mean_flops": float(np.mean([policy.flops[i] for i in e.tolist()])),
        }
    if "mask" in results and "shrink" in results:
        out["mask_shrink_exit_mismatches"] = int((results["mask"][0] != results["shrink"][0]).sum())
    text = json.dumps(out, indent=2)
    if a.json:
        Path(a.json).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
