#!/usr/bin/env python3
"""Distribution shift on a shipped model (issue 17): the failure table, the monitor's
false-alarm and detection figures, and the after-re-calibration table, as Markdown.

Only drives the `pcee` binary (logits, calibrate, evaluate, diagram, monitor) and reads its
output; no numbers are computed here beyond medians and formatting.

    python3 bench/shift/measure.py --pcee target/release/pcee --model assets/models/msdnet-large.safetensors \
        --work /tmp/shift --out /tmp/shift/tables.md
"""

import argparse
import json
import os
import subprocess
import sys

CORRUPTIONS = ["gaussian-noise", "blur", "contrast", "rotation"]
SEVERITIES = [1, 2, 3, 4, 5]
METHODS = ["confidence", "pcee", "pcee-lcb"]


def run(pcee, *args):
    out = subprocess.run([pcee, *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"pcee {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def logits(a, split, name, corruption=None, severity=None):
    path = os.path.join(a.work, f"{name}.npz")
    if not os.path.exists(path):
        extra = ["--corruption", corruption, "--severity", str(severity)] if corruption else []
        run(a.pcee, "logits", "--model", a.model, "--split", split, *extra, "--out", path)
    return path


def policy(a, val, method, delta):
    path = os.path.join(a.work, f"policy-{method}-{delta}.json")
    run(a.pcee, "calibrate", "--val", val, "--method", method, "--delta", str(delta), "--output", path)
    return path


def accuracy(a, pol, test):
    return json.loads(run(a.pcee, "evaluate", "--policy", pol, "--test", test, "--json"))


def ece_per_exit(a, test):
    text = run(a.pcee, "diagram", "--logits", test, "--out", os.path.join(a.work, "diagram"))
    rows = [line.split() for line in text.splitlines()[1:] if line[:1].isdigit()]
    return [float(r[5]) for r in rows]  # ECE width column


def monitor(a, pol, streams, *extra):
    args = ["monitor", "--policy", pol]
    for s in streams:
        args += ["--stream", s]
    return json.loads(run(a.pcee, *args, *extra, "--json"))


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pcee", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--delta", type=float, default=0.9)
    p.add_argument("--replays", type=int, default=200)
    p.add_argument("--detect-replays", type=int, default=50)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    val = logits(a, "val", "val")
    clean = logits(a, "test", "test")
    sets = [("clean", clean)] + [
        (f"{c} {s}", logits(a, "test", f"{c}-{s}", c, s)) for c in CORRUPTIONS for s in SEVERITIES
    ]
    out = []
    # Reference: the full network (confidence at δ = 1 never fires before the last exit).
    deltas = [0.85, a.delta]
    policy(a, val, "confidence", 1.0)
    out.append("### Failure under shift: test accuracy (achieved − δ, points) · mean FLOPs, policies calibrated on clean validation\n")
    out.append(failure_table(a, val, sets, deltas))
    pol = policy(a, val, "pcee", a.delta)
    out.append(f"\n### The monitor on pcee δ = {a.delta} (window 200, α = 0.05)\n")
    clean_summary = monitor(a, pol, [clean], "--replays", str(a.replays))
    val_summary = monitor(a, pol, [val], "--replays", str(a.replays))
    out.append(f"- False alarms, clean test stream shuffled {a.replays} times: {len(clean_summary['labels_to_alarm'])} "
               f"(rate {100 * clean_summary['alarm_rate']:.1f} % ± {100 * clean_summary['alarm_rate_se']:.1f}); "
               f"clean validation stream (the calibration images themselves): {len(val_summary['labels_to_alarm'])}.")
    out.append("\n| clean test, then | severity | replays alarmed | median labels after the shift to the alarm | 10th–90th percentile |")
    out.append("|---|---|---|---|---|")
    for c in CORRUPTIONS:
        for s in [3, 4, 5]:
            r = monitor(a, pol, [clean, dict(sets)[f"{c} {s}"]], "--replays", str(a.detect_replays))
            l = sorted(r["labels_to_alarm"])
            q = lambda f: l[min(len(l) - 1, max(0, int(f * len(l) + 0.999) - 1))] if l else "-"
            out.append(f"| {c} | {s} | {len(l)}/{r['replays']} | {median(l)} | {q(0.1)}–{q(0.9)} |")
    out.append(f"\n### After re-calibration from the last n labelled images at the first alarm (clean test, then severity 3; {a.detect_replays} replays)\n")
    out.append("| shift | n | as loaded: acc · below δ · FLOPs | re-calibrated | confidence τ = δ |")
    out.append("|---|---|---|---|---|")
    for c in CORRUPTIONS:
        for n in [100, 250, 500, 1000]:
            r = monitor(a, pol, [clean, dict(sets)[f"{c} 3"]], "--replays", str(a.detect_replays), "--recalibrate", str(n))
            rc = r["recalibration"]
            if rc is None:
                out.append(f"| {c} 3 | {n} | no alarm | | |")
                continue
            cell = lambda w: f"{100 * w['mean_accuracy']:.1f} · {100 * w['below_delta']:.0f}% · {100 * w['flops_fraction']:.0f}%"
            out.append(f"| {c} 3 | {n} | {cell(rc['static_policy'])} | {cell(rc['recalibrated'])} | {cell(rc['confidence'])} |")
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(out))


def failure_table(a, val, sets, deltas):
    full_policy = os.path.join(a.work, "policy-confidence-1.0.json")
    header = "| shift | full network | " + " | ".join(f"{m} δ={d}" for d in deltas for m in METHODS) + " | ECE per exit (width) |"
    lines = [header, "|---" * (3 + len(deltas) * len(METHODS)) + "|"]
    policies = {(m, d): policy(a, val, m, d) for d in deltas for m in METHODS}
    for name, path in sets:
        full = accuracy(a, full_policy, path)["accuracy"]
        cells = []
        for d in deltas:
            for m in METHODS:
                e = accuracy(a, policies[(m, d)], path)
                cells.append(f"{100 * e['accuracy']:.1f} ({100 * (e['accuracy'] - d):+.1f}) · {100 * e['flops_fraction']:.0f}%")
        ece = " ".join(f"{x:.3f}" for x in ece_per_exit(a, path))
        lines.append(f"| {name} | {100 * full:.1f} | " + " | ".join(cells) + f" | {ece} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
