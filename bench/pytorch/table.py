"""Collects the runs of bench/compare.sh into one table: network, δ, batch, mode, images/s of
pcee, images/s of PyTorch, ratio pcee / PyTorch (the median over repetitions of each side's
figure), plus the agreement figures. Prints the table (markdown) and writes table.md and
results.json into the output directory.

Run: bench/.venv/bin/python bench/pytorch/table.py OUT_DIR   (compare.sh does it)
Inputs, in OUT_DIR/runs/: NAME_d{δ}_b{batch}_r{rep}.pcee.json (pcee infer --json, and
.tch.json for the tch build) and .torch.json (bench.py); the ONNX Runtime rows: .ort.json (`pcee
infer --stages --json`) and .ortpy.json (bench/onnx/ort_bench.py, the full graph); in OUT_DIR:
NAME.agree.json (agree.py), NAME.onnx-agree.json (bench/onnx/pytorch_agree.py) and
conditions.json (threads, load). With ONNX Runtime rows it also checks the targets of the ONNX
issue: pcee-ORT ≥ 1.3 × the best PyTorch way (every row), ≥ 0.95 × ORT's Python session on the
full graph (full depth), efficiency (speed-up / ideal) ≥ 0.9 (early exit).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, digits=0):
    return "–" if x is None else f"{x:.{digits}f}"


def main() -> int:
    if len(sys.argv) != 2:
        print("error: usage: table.py OUT_DIR", file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    runs = sorted((out / "runs").glob("*.json"))
    if not runs:
        print(f"error: {out / 'runs'}: no run files; expected the JSON written by compare.sh", file=sys.stderr)
        return 1
    acc = defaultdict(lambda: defaultdict(list))
    for f in runs:
        stem, kind = f.name[:-len(".json")].rsplit(".", 1)
        name, d, b, _rep = stem.rsplit("_", 3)
        key = (name, float(d[1:]), int(b[1:]))
        try:
            r = json.loads(f.read_text())
        except json.JSONDecodeError:
            print(f"warning: {f}: not JSON (a run still in progress or cut short); left out", file=sys.stderr)
            continue
        if kind == "ort":  # pcee infer --stages: pcee's ONNX Runtime backend
            acc[key]["ort_early"].append(r["images_per_second"])
            acc[key]["ort_full"].append(r["full_images_per_second"])
            acc[key]["ort_efficiency"].append(r["efficiency"])
            acc[key]["ort_unreliable"].append(1.0 if r.get("timing_unreliable") else 0.0)
            continue
        if kind == "ortpy":  # ONNX Runtime's Python session on the full graph
            acc[key]["ortpy_full"].append(r["full"]["images_per_second"])
            continue
        if kind in ("pcee", "tch", "pceem"):
            acc[key][f"{kind}_early"].append(r["images_per_second"])
            acc[key][f"{kind}_full"].append(r["full_images_per_second"])
            acc[key]["mean_exit"].append(r["mean_exit"])
            acc[key]["samples"].append(r["samples"])
            if kind == "pcee":
                acc[key]["pcee_efficiency"].append(r["efficiency"])
        elif kind.startswith("torch"):  # torch (default NCHW) or torch-cl (channels_last)
            fmt_ = "CL" if kind == "torch-cl" else "NCHW"
            for m in ("full", "mask", "shrink"):
                if m in r:
                    acc[key][f"torch_{m}_{fmt_}"].append(r[m]["images_per_second"])
    rows = []
    for (name, delta, batch), v in sorted(acc.items()):
        m = {k: med(x) for k, x in v.items()}

        def best(ways):
            got = {w: m[f"torch_{w}"] for w in ways if m.get(f"torch_{w}") is not None}
            if not got:
                return None, None, {}
            w = max(got, key=got.get)
            return got[w], w.replace("_", " "), got

        for mode, ours, (theirs, way, variants) in (
            ("full depth", m.get("pcee_full"), best(["full_NCHW", "full_CL"])),
            ("early exit", m.get("pcee_early"), best(["shrink_NCHW", "mask_NCHW", "shrink_CL", "mask_CL"])),
        ):
            full = mode == "full depth"
            ort = m.get("ort_full" if full else "ort_early")
            ortpy = m.get("ortpy_full") if full else None
            rows.append({
                "pcee_efficiency": None if full else m.get("pcee_efficiency"),
                "pcee_ort": ort,
                "ratio_ort_pytorch": ort / theirs if ort and theirs else None,
                "ort_python_full_graph": ortpy,
                "ratio_ort_ort_python": ort / ortpy if ort and ortpy else None,
                "pcee_ort_efficiency": None if full else m.get("ort_efficiency"),
                "pcee_ort_timing_unreliable": None if full else sum(v.get("ort_unreliable", [])) or 0,
                "network": name, "delta": delta, "batch": batch, "mode": mode,
                "images": int(m["samples"]) if m.get("samples") else None,
                "mean_exit": m.get("mean_exit"),
                "pcee": ours, "pytorch": theirs, "pytorch_way": way,
                "pytorch_variants": variants,
                "ratio": ours / theirs if ours and theirs else None,
                "pcee_tch": m.get("tch_full" if mode == "full depth" else "tch_early"),
                "pcee_malloc_tuned": m.get("pceem_full" if mode == "full depth" else "pceem_early"),
                "repetitions": len(v.get("pcee_early", [])),
            })
    has_tch = any(r["pcee_tch"] for r in rows)
    head = ["network", "δ", "batch", "images", "mode", "pcee img/s", "PyTorch img/s (best way)",
            "ratio pcee/PyTorch", "every PyTorch way, img/s"]
    has_m = any(r["pcee_malloc_tuned"] for r in rows)
    has_ort = any(r["pcee_ort"] for r in rows)
    if has_m:
        head += ["pcee, malloc tuned, img/s", "ratio (malloc tuned)/PyTorch"]
    if has_tch:
        head += ["pcee tch img/s", "ratio tch/PyTorch"]
    if has_ort:
        head += ["pcee efficiency", "pcee ORT img/s", "ratio pcee-ORT/PyTorch", "ORT Python full graph img/s",
                 "ratio pcee-ORT/ORT Python", "pcee ORT efficiency"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["network"], f"{r['delta']:g}", str(r["batch"]), fmt(r["images"]), r["mode"],
                 fmt(r["pcee"]), f"{fmt(r['pytorch'])} ({r['pytorch_way']})", fmt(r["ratio"], 2),
                 ", ".join(f"{w.replace('_', ' ')} {x:.0f}" for w, x in r["pytorch_variants"].items())]
        if has_m:
            t = r["pcee_malloc_tuned"]
            cells += [fmt(t), fmt(t / r["pytorch"], 2) if t and r["pytorch"] else "–"]
        if has_tch:
            t = r["pcee_tch"]
            cells += [fmt(t), fmt(t / r["pytorch"], 2) if t and r["pytorch"] else "–"]
        if has_ort:
            cells += [fmt(r["pcee_efficiency"], 2), fmt(r["pcee_ort"]), fmt(r["ratio_ort_pytorch"], 2),
                      fmt(r["ort_python_full_graph"]), fmt(r["ratio_ort_ort_python"], 2),
                      fmt(r["pcee_ort_efficiency"], 2)]
        lines.append("| " + " | ".join(cells) + " |")
    agree = {}
    for f in sorted(out.glob("*.agree.json")):
        agree[f.name[:-len(".agree.json")]] = json.loads(f.read_text())
    alines = ["| network | images | max abs diff | per exit | argmax agreement (min over exits) | exit mismatches vs pcee (PyTorch logits) |",
              "|---|---|---|---|---|---|"]
    for name, a in agree.items():
        alines.append(f"| {name} | {a['images']} | {a['max_abs_diff']:.2e} | "
                      + " ".join(f"{x:.1e}" for x in a["max_abs_diff_per_exit"])
                      + f" | {min(a['argmax_agreement_per_exit']):.4f} | "
                      + (f"{a['exit_mismatches_pytorch']} (δ = {a['delta']:g})" if "exit_mismatches_pytorch" in a else "–")
                      + " |")
    onnx_agree = {f.name[:-len(".onnx-agree.json")]: json.loads(f.read_text())
                  for f in sorted(out.glob("*.onnx-agree.json"))}
    olines = []
    if onnx_agree:
        olines = ["Agreement of the PyTorch twin exported with examples/python/export_stages.py (bench/onnx/pytorch_agree.py):",
                  "",
                  "| network | images | δ | max abs logit diff ORT vs PyTorch | exit mismatches pcee-ORT vs PyTorch early exit "
                  "(at a bin edge / unexplained) | images with a bin differing | prediction mismatches | "
                  "exit mismatches pcee-ORT vs pcee infer --model |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, a in onnx_agree.items():
            olines.append(f"| {name} | {a['images']} | {a['delta']:g} | {a['max_abs_logit_diff_ort_vs_pytorch']:.2e} | "
                          f"{a['exit_mismatches_pcee_ort_vs_pytorch']} ({a['exit_mismatches_at_bin_edge']} / "
                          f"{a['exit_mismatches_unexplained']}) | {a['bin_edge_cases']} | "
                          f"{a['prediction_mismatches_pcee_ort_vs_pytorch']} | "
                          f"{a.get('exit_mismatches_pcee_ort_vs_pcee_burn', '–')} |")
        olines.append("")
    targets = []
    if has_ort:
        for r in rows:
            where = f"{r['network']} δ {r['delta']:g} batch {r['batch']} {r['mode']}"
            checks = [("pcee-ORT/PyTorch ≥ 1.3", r["ratio_ort_pytorch"], 1.3)]
            if r["mode"] == "full depth":
                checks.append(("pcee-ORT/ORT Python ≥ 0.95", r["ratio_ort_ort_python"], 0.95))
            else:
                checks.append(("pcee ORT efficiency ≥ 0.9", r["pcee_ort_efficiency"], 0.9))
            for what, x, goal in checks:
                targets.append({"row": where, "target": what, "value": x, "met": x is not None and x >= goal})
        met = sum(t["met"] for t in targets)
        tlines = [f"ONNX targets: {met} of {len(targets)} met."]
        missed = [t for t in targets if not t["met"]]
        if missed:
            tlines.append("Missed: " + "; ".join(f"{t['row']}: {t['target']} ({fmt(t['value'], 2)})" for t in missed) + ".")
        olines += tlines + [""]
    cond = json.loads((out / "conditions.json").read_text()) if (out / "conditions.json").exists() else {}
    text = "\n".join([
        f"Threads: {cond.get('threads', '?')} (pcee RAYON_NUM_THREADS, PyTorch set_num_threads); "
        f"{cond.get('torch', '')}; {(cond.get('onnxruntime') + '; ') if cond.get('onnxruntime') else ''}"
        f"OMP_WAIT_POLICY={cond.get('omp_wait_policy', 'default')}; "
        f"load average before/after: {cond.get('load_before', '?')} / {cond.get('load_after', '?')}; "
        f"medians of {max((r['repetitions'] for r in rows), default=0)} alternating repetitions.",
        "",
        *lines,
        "",
        "Agreement (PyTorch vs `pcee logits`, same weights, first test images):",
        "",
        *alines,
        "",
        *olines,
    ])
    print(text)
    (out / "table.md").write_text(text)
    (out / "results.json").write_text(json.dumps({"conditions": cond, "rows": rows, "agreement": agree,
                                                  "onnx_agreement": onnx_agree, "onnx_targets": targets}, indent=2))
    bad = [r for r in rows if r["ratio"] is not None and r["ratio"] < 1.0]
    print(f"{len(rows) - len(bad)} of {len(rows)} rows reach ratio ≥ 1.0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
