"""Markdown tables from load-table.sh's runs.jsonl: medians over rounds of peak throughput and
of p50/p99 latency at each open-loop rate, the ideal speed-up (full FLOPs / mean FLOPs, from
the served exit histogram and the model card) and targets (a) and (b) of issue 16."""
import json
import statistics
import sys
from collections import defaultdict

runs = [json.loads(line) for line in open(sys.argv[1])]
groups = defaultdict(list)
for r in runs:
    groups[(r["model"], r["mode"], r["kind"], r.get("fraction"))].append(r)


def med(rs, key):
    values = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def ideal(model, rs):
    flops = json.load(open(f"assets/models/{model}.json"))["flops_per_exit"]
    exits = [sum(col) for col in zip(*[r["exits"] + [0] * (len(flops) - len(r["exits"])) for r in rs])]
    mean = sum(n * flops[e] for e, n in enumerate(exits)) / sum(exits)
    return flops[-1] / mean, sum(e * n for e, n in enumerate(exits)) / sum(exits)


models = sorted({r["model"] for r in runs})
print("| model | mode | peak images/s | spread | ideal speed-up | mean exit | peak / full peak | (a) ≥ 0.95 × ideal × full |")
print("|---|---|---:|---:|---:|---:|---:|---|")
for model in models:
    full = med(groups[(model, "full", "peak", None)], "images_per_second")
    for mode in ["full", "shrink", "stage"]:
        rs = groups[(model, mode, "peak", None)]
        if not rs:
            continue
        peak = med(rs, "images_per_second")
        values = [r["images_per_second"] for r in rs]
        spread = (max(values) - min(values)) / peak
        speedup, mean_exit = ideal(model, rs) if mode != "full" else (1.0, float("nan"))
        target = ""
        if mode == "stage":
            need = 0.95 * speedup * full
            target = f"{'met' if peak >= need else 'missed'}: {peak:.0f} vs {need:.0f} ({peak / need:.2f})"
        print(f"| {model} | {mode} | {peak:.0f} | {100 * spread:.0f} % | {speedup:.2f} | {mean_exit:.2f} | {peak / full:.2f} | {target} |")
print()
print("| model | rate (fraction of full peak) | full p50 / p99 ms | shrink p50 / p99 ms | stage p50 / p99 ms | answered img/s (full, shrink, stage) | 503s (full, shrink, stage) |")
print("|---|---|---|---|---|---|---|")
for model in models:
    fractions = sorted({r["fraction"] for r in runs if r["model"] == model and r["kind"] == "rate"})
    for f in fractions:
        cells, thr, refused = [], [], []
        rate = None
        for mode in ["full", "shrink", "stage"]:
            rs = groups[(model, mode, "rate", f)]
            if not rs:
                cells.append("-"); thr.append("-"); refused.append("-")
                continue
            rate = rs[0]["rate"]
            cells.append(f"{med(rs, 'p50_ms'):.1f} / {med(rs, 'p99_ms'):.1f}")
            thr.append(f"{med(rs, 'images_per_second'):.0f}")
            refused.append(f"{sum(r['overloaded'] for r in rs)}")
        print(f"| {model} | {rate} img/s ({f:.0%}) | {cells[0]} | {cells[1]} | {cells[2]} | {', '.join(thr)} | {', '.join(refused)} |")
