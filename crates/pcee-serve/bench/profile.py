"""Per-stage profile from saved /metrics texts (load-table.sh's metrics-MODEL-MODE-KIND.txt):
rows run, mean batch, busy seconds, ms per row and GFLOP/s of each stage, and the time spent
gathering rows. Usage: profile.py MODEL METRICS_FILE..."""
import json
import re
import sys

model = sys.argv[1]
flops = json.load(open(f"assets/models/{model}.json"))["flops_per_exit"]
step = [flops[0]] + [b - a for a, b in zip(flops, flops[1:])]
for path in sys.argv[2:]:
    text = open(path).read()

    def values(name):
        out = {}
        for m in re.finditer(name + r'\{stage="(\d+)"\} ([0-9.e+-]+)', text):
            out[int(m.group(1))] = float(m.group(2))
        return out

    rows, count, busy = values("pcee_stage_batch_size_sum"), values("pcee_stage_batch_size_count"), values("pcee_stage_busy_seconds_total")
    gather = re.search(r"pcee_gather_seconds_total ([0-9.e+-]+)", text)
    print(f"{path}: gather {float(gather.group(1)):.2f} s")
    full = "-full-" in path
    print("| stage | rows | mean batch | busy s | ms / row | GFLOP/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in sorted(rows):
        if full and s != len(flops) - 1:
            continue
        work = flops[-1] if full else step[s]
        per_row = busy.get(s, 0) / rows[s] if rows[s] else float("nan")
        label = "all (full network)" if full else str(s)
        print(f"| {label} | {rows[s]:.0f} | {rows[s] / max(count[s], 1):.1f} | {busy.get(s, 0):.2f} | {1e3 * per_row:.3f} | {work / per_row / 1e9:.1f} |")
