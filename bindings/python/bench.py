"""Benchmark of the Python package (a script, not a timed test; numbers go to docs/performance.md).

1. `policy.stops(exit, logits)` on a float32 batch [256, 10] and [256, 1000] (and [1, 10], the
   fixed cost of a call): microseconds per call (median over rounds of many calls), against the
   same PCEE rule written by hand in numpy (stable softmax max in float64, the exit's bin by its
   stored edges, the bin's precomputed verdict), whose decisions are checked identical first.
2. `pcee.evaluate` on 1 000 000 samples × 8 exits × 10 classes (float32, synthetic), from the
   arrays in memory and from the .npz file, against `pcee evaluate --json` on the same file
   (the CLI binary: `$PCEE_BIN`, default target/release/pcee), wall-clock, median of 3.

    python bindings/python/bench.py [--samples 1000000] [--rounds 7]
"""

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import pcee

ROOT = Path(__file__).resolve().parents[2]


def synthetic(exits, samples, classes, seed):
    """Logits whose confidence grows with depth, labels, cumulative FLOPs."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, samples)
    logits = rng.standard_normal((exits, samples, classes), dtype=np.float32)
    for l in range(exits):
        logits[l, np.arange(samples), labels] += np.float32(1.0 + l)
    return logits, labels, np.cumsum(np.full(exits, 1e6))


def numpy_stops(policy, exit, z, fires, inner):
    """The PCEE rule by hand: bin of max softmax (float64), that bin's verdict at δ."""
    if exit == policy.exits - 1:
        return np.ones(len(z), dtype=bool)
    z = z.astype(np.float64)
    confidence = 1.0 / np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1)
    return fires[exit][np.searchsorted(inner[exit], confidence, side="right")]


def per_call_us(call, rounds, calls):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        times.append((time.perf_counter() - t0) / calls * 1e6)
    return float(np.median(times))


def bench_stops(batch_size, classes, rounds):
    val = synthetic(3, 20_000, classes, seed=1)
    policy = pcee.calibrate(*val, method="pcee", bins=10, delta=0.9)
    diagrams = policy.diagrams()
    fires = [(d["counts"] > 0) & (np.nan_to_num(d["accuracy"]) >= policy.delta) for d in diagrams]
    inner = [d["edges"][1:-1] for d in diagrams]
    batch = synthetic(3, batch_size, classes, seed=2)[0][0]
    assert (policy.stops(0, batch) == numpy_stops(policy, 0, batch, fires, inner)).all()
    calls = 2000 if classes <= 10 else 200
    ours = per_call_us(lambda: policy.stops(0, batch), rounds, calls)
    hand = per_call_us(lambda: numpy_stops(policy, 0, batch, fires, inner), rounds, calls)
    return ours, hand


def median_seconds(call, rounds=3):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench_evaluate(samples):
    cli = os.environ.get("PCEE_BIN", str(ROOT / "target" / "release" / "pcee"))
    logits, labels, flops = synthetic(8, samples, 10, seed=3)
    policy = pcee.calibrate(*synthetic(8, 20_000, 10, seed=4), method="pcee", delta=0.9)
    with tempfile.TemporaryDirectory() as tmp:
        path, policy_path = Path(tmp) / "test.npz", Path(tmp) / "policy.json"
        np.savez(path, logits=logits, labels=labels, flops=flops)
        policy.save(policy_path)
        command = [cli, "evaluate", "--policy", str(policy_path), "--test", str(path), "--json"]
        expected = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        assert pcee.evaluate(policy, logits, labels, flops)["accuracy"] == pcee.evaluate(policy, path)["accuracy"]
        assert f'"accuracy":{pcee.evaluate(policy, path)["accuracy"]!r}' in expected
        return {
            "pcee.evaluate(arrays)": median_seconds(lambda: pcee.evaluate(policy, logits, labels, flops)),
            "pcee.evaluate(path)": median_seconds(lambda: pcee.evaluate(policy, path)),
            "pcee evaluate --json (CLI)": median_seconds(
                lambda: subprocess.run(command, check=True, capture_output=True)
            ),
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print("| call | pcee (µs/call) | numpy by hand (µs/call) | ratio |")
    print("|---|---:|---:|---:|")
    for batch, classes in ((1, 10), (256, 10), (256, 1000)):
        ours, hand = bench_stops(batch, classes, args.rounds)
        print(f"| `policy.stops` [{batch}, {classes}] | {ours:.1f} | {hand:.1f} | {hand / ours:.1f}× |")
    print(f"\n| evaluate, {args.samples} × 8 × 10 float32 | seconds (median of 3) |")
    print("|---|---:|")
    for name, seconds in bench_evaluate(args.samples).items():
        print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
