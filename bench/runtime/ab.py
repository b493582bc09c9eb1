#!/usr/bin/env python3
"""Paired before/after timing of `pcee infer`: runs OLD and NEW alternately (A B A B …) on the
same arguments, each with `--json`, and prints the median of each figure the runs report
themselves (early-exit and full-network samples per second, efficiency) and the pair-by-pair
ratios NEW/OLD, so a drift of the machine's speed during the call hits both sides alike.

    bench/runtime/ab.py OLD_PCEE NEW_PCEE PAIRS -- infer --stages DIR --policy P --batch 256 …
    bench/runtime/ab.py PCEE PCEE PAIRS -- infer --stages A … ++ infer --stages B …

After `++`, the arguments of NEW when they differ from OLD's (the same binary on two inputs).
One warm-up pair is run first and not counted. Standard library only.
"""
import json
import statistics
import subprocess
import sys


def run(binary: str, args: list[str]) -> dict:
    out = subprocess.run([binary, *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    if len(sys.argv) < 5 or sys.argv[4] != "--":
        sys.exit(__doc__)
    old, new, pairs, rest = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[5:]
    args = {"old": rest, "new": rest}
    if "++" in rest:
        cut = rest.index("++")
        args = {"old": rest[:cut], "new": rest[cut + 1 :]}
    run(old, args["old"]), run(new, args["new"])
    keys = ["images_per_second", "full_images_per_second", "efficiency"]
    got = {"old": {k: [] for k in keys}, "new": {k: [] for k in keys}}
    unreliable = {"old": 0, "new": 0}
    for _ in range(pairs):
        for side, binary in (("old", old), ("new", new)):
            r = run(binary, args[side])
            for k in keys:
                got[side][k].append(r.get(k) or float("nan"))
            unreliable[side] += bool(r.get("timing_unreliable"))
    print(f"{pairs} pairs; rounds flagged timing_unreliable: old {unreliable['old']}, new {unreliable['new']}")
    print(f"{'figure':<24} {'old (median)':>14} {'new (median)':>14} {'new/old per pair: median (min–max)':>36}")
    for k in keys:
        o, n = got["old"][k], got["new"][k]
        ratios = [b / a for a, b in zip(o, n) if a == a and b == b and a]
        spread = f"{statistics.median(ratios):.3f} ({min(ratios):.3f}–{max(ratios):.3f})" if ratios else "-"
        print(f"{k:<24} {statistics.median(o):>14.3f} {statistics.median(n):>14.3f} {spread:>36}")


if __name__ == "__main__":
    main()
