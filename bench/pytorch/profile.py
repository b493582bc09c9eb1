"""Where PyTorch spends its time on a pcee model, part by part, to set beside pcee's own profile
(`cargo bench -p pcee-nn --bench infer -- --profile MODEL=x`): the embedding (stem), every
stage and every exit head at batch --batch, each the median of --runs timed runs on real test
images (the state carried from the previous part, as the network runs), with MFLOPs per image
and GFLOP/s. With --ops, also torch.profiler's self-time per operator over one full pass.
With --convs (MSDNet), every convolution shape of the plan instead, timed layer by layer —
conv, BatchNorm (eval), ReLU — on random inputs, as bench/tch's conv-bench does for burn.

Run: bench/.venv/bin/python bench/pytorch/profile.py --model M.safetensors --threads 2 \
        [--batch 256] [--runs 20] [--ops | --convs]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DataError, load_test  # noqa: E402
from models import ModelError, load_model, msdnet_plan, conv_flops, vit_flops_per_exit  # noqa: E402


def stage_head_flops(net):
    card = net.card
    if card["arch"] == "vit":
        f = vit_flops_per_exit(card)
        head = 2.0 * card["dim"] * card["classes"]
        stages = [f[0] - head] + [f[i] - f[i - 1] - head for i in range(1, len(f))]
        return stages, [head] * len(f), None
    plan = msdnet_plan(card)
    stem = sum(conv_flops(s) for s in plan["stem"])
    stages, heads = [], []
    for block in plan["blocks"]:
        s = sum(conv_flops(t) for t in block["transition"])
        for layer in block["layers"]:
            for sp in layer:
                s += sum(conv_flops(c) for c in (sp["down"] or []) + sp["normal"])
        stages.append(s)
        d_in, d_out = block["head_linear"]
        heads.append(sum(conv_flops(h) for h in block["head_convs"]) + 2.0 * d_in * d_out)
    return stages, heads, stem


def timed(fn, runs):
    fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def convs(net, batch, runs, channels_last=False) -> int:
    if net.card["arch"] != "msdnet":
        print("error: --convs: the model is not an MSDNet", file=sys.stderr)
        return 1
    plan = msdnet_plan(net.card)
    shapes = {}

    def add(spec, kind):
        key = (spec["side_in"], spec["kernel"], spec["stride"], spec["c_in"], spec["c_out"])
        shapes.setdefault(key, [0, kind])[0] += 1

    for s in plan["stem"]:
        add(s, "stem")
    for b in plan["blocks"]:
        for t in b["transition"]:
            add(t, "transition")
        for layer in b["layers"]:
            for sp in layer:
                if sp["down"]:
                    add(sp["down"][0], "down 1x1")
                    add(sp["down"][1], "down 3x3/2")
                add(sp["normal"][0], "normal 1x1")
                add(sp["normal"][1], "normal 3x3")
        for h in b["head_convs"]:
            add(h, "head")
    print(f"batch {batch}, {torch.get_num_threads()} threads, {'channels_last' if channels_last else 'NCHW'}, "
          f"median of {runs} runs; ms per layer call")
    print("| side | k | stride | c_in→c_out | kind | count | MFLOPs/img | conv / bn / relu | conv GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    tot = [0.0, 0.0, 0.0]
    with torch.inference_mode():
        for (side, k, stride, c_in, c_out), (count, kind) in sorted(shapes.items()):
            conv = torch.nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False).eval()
            bn = torch.nn.BatchNorm2d(c_out).eval()
            x = torch.randn(batch, c_in, side, side)
            if channels_last:
                conv = conv.to(memory_format=torch.channels_last)
                x = x.contiguous(memory_format=torch.channels_last)
            y = conv(x)
            z = bn(y)
            t = [timed(lambda: conv(x), runs), timed(lambda: bn(y), runs),
                 timed(lambda: torch.relu(z), runs)]
            for i in range(3):
                tot[i] += count * t[i]
            f = conv_flops({"c_in": c_in, "c_out": c_out, "kernel": k, "stride": stride, "side_in": side})
            print(f"| {side} | {k} | {stride} | {c_in}→{c_out} | {kind} | {count} | {f / 1e6:.3f} | "
                  f"{1e3 * t[0]:.2f} / {1e3 * t[1]:.2f} / {1e3 * t[2]:.2f} | {f * batch / t[0] / 1e9:.1f} |")
    print(f"pytorch: one pass's convolutions {1e3 * tot[0]:.1f} ms, BatchNorms {1e3 * tot[1]:.1f} ms, "
          f"ReLUs {1e3 * tot[2]:.1f} ms (sum {1e3 * sum(tot):.1f} ms)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--ops", action="store_true")
    ap.add_argument("--convs", action="store_true")
    ap.add_argument("--channels-last", action="store_true", help="with --convs: NHWC tensors")
    ap.add_argument("--data-dir", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    try:
        net = load_model(a.model)
        images, _ = load_test(a.data_dir, a.batch)
    except (ModelError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    x = torch.from_numpy(images)
    if a.convs:
        return convs(net, a.batch, a.runs, a.channels_last)
    stages, heads, stem = stage_head_flops(net)
    b = x.shape[0]
    rows = []
    with torch.inference_mode():
        t = timed(lambda: net.embed(x), a.runs)
        rows.append(("embed", t, stem))
        state = net.embed(x)
        for e in range(net.exits()):
            s = state
            t = timed(lambda: net.stage(e, s), a.runs)
            state = net.stage(e, s)
            rows.append((f"stage {e}", t, stages[e] - (stem if (e == 0 and stem) else 0)))
            t = timed(lambda: net.exit_head(e, state), a.runs)
            rows.append((f"head {e}", t, heads[e]))
        total = sum(r[1] for r in rows)
        print(f"{Path(a.model).stem}, batch {b}, {a.threads} threads, sum of parts {1e3 * total:.1f} ms "
              f"({b / total:.0f} images/s)")
        print("| part | ms | MFLOPs/image | GFLOP/s | share of time |")
        print("|---|---|---|---|---|")
        for name, t, f in rows:
            gf = f"{f * b / t / 1e9:.1f}" if f else "–"
            mf = f"{f / 1e6:.2f}" if f else "–"
            print(f"| {name} | {1e3 * t:.2f} | {mf} | {gf} | {t / total:.3f} |")
        if a.ops:
            from torch.profiler import ProfilerActivity, profile
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                st = net.embed(x)
                for e in range(net.exits()):
                    st = net.stage(e, st)
                    net.exit_head(e, st)
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    return 0


if __name__ == "__main__":
    sys.exit(main())
