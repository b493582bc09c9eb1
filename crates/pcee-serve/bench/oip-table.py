"""Markdown tables of crates/pcee-serve/bench/oip-table.sh's runs.jsonl: medians over rounds,
the spread ((max − min) / median), and every ratio computed from the medians."""

import json
import statistics
import sys


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs):
    return (max(xs) - min(xs)) / med(xs) if xs else float("nan")


runs = [json.loads(line) for line in open(sys.argv[1])]
peak = {}
for r in runs:
    if r["kind"] == "peak" and r["part"] == "A":
        peak.setdefault((r["api"], r["mode"]), []).append(r["images_per_second"])
v1 = med(peak[("v1-raw", "stage")])
print("| protocol | mode | peak images/s (median) | spread | per round | / v1 raw |")
print("|---|---|---:|---:|---|---:|")
for (api, mode), xs in peak.items():
    rounds = " / ".join(f"{x:.0f}" for x in xs)
    print(f"| {api} | {mode} | {med(xs):.0f} | {spread(xs):.0%} | {rounds} | {med(xs) / v1:.2f} |")
print()
rate = {}
for r in runs:
    if r["kind"] == "rate":
        rate.setdefault(r["api"], []).append(r)
print("| protocol | rate (70 % of full peak) | p50 ms | p99 ms | answered img/s | 503s |")
print("|---|---:|---:|---:|---:|---:|")
for api, rs in rate.items():
    print(f"| {api} | {rs[0]['rate']:.0f} | {med([r['p50_ms'] for r in rs]):.1f} | "
          f"{med([r['p99_ms'] for r in rs]):.1f} | {med([r['images_per_second'] for r in rs]):.0f} | "
          f"{sum(r['overloaded'] for r in rs)} |")
print()
b = {}
for r in runs:
    if r["part"] == "B":
        b.setdefault((r["path"], r["replicas"]), []).append(r["images_per_second"])
direct = med(b.get(("direct", 1), []))
print("| path | replicas | peak images/s (median) | spread | per round | / one replica direct |")
print("|---|---:|---:|---:|---|---:|")
for (path, n), xs in b.items():
    rounds = " / ".join(f"{x:.0f}" for x in xs)
    print(f"| {path} | {n} | {med(xs):.0f} | {spread(xs):.0%} | {rounds} | {med(xs) / direct:.2f} |")
