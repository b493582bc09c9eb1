"""Export a PyTorch multi-exit network as a pcee stage-graph directory (`pcee infer --stages`).

An ONNX graph always runs to its end, so pcee stores a multi-exit network as one ONNX graph per
stage and one per exit head, plus a manifest, `pcee-stages.json`, naming the tensors between
them (the format is `crates/pcee-onnx/src/manifest.rs`; the README's "ONNX stage graphs"
section has the table). This helper writes that directory from your own `nn.Module`s:

    from export_stages import export_stages

    manifest = export_stages(
        stages=[stage0, stage1, stage2],   # stage 0: images -> state; stage s: state -> state
        heads=[head0, head1, head2],       # head e: (some of) stage e's state -> logits [B, C]
        example_input=torch.randn(2, 1, 28, 28),
        out="my-stages/",
        classes=10,
        preprocessing={"scale": 1 / 255, "mean": 0.2860, "std": 0.3530},
        flops=None,                        # or your cumulative FLOPs per exit (below)
    )

then `pcee infer --stages my-stages/ --policy policy.json` runs it with real early exit, the
policy calibrated on this network's validation logits (saved with the same `flops`).

What the arguments mean:

- `stages[s]` is called with the state tensors as positional arguments — stage 0 with the
  (normalised) images `[B, …]` — and returns one tensor or a tuple/list of tensors, each float32
  `[B, …]`: the state after stage s, the only thing stage s + 1 receives (every tensor it needs,
  in this order). `heads[e]` is called with the tensors of stage e's state named by
  `head_inputs[e]` (indices into that stage's outputs; default: all of them, in order) and
  returns the logits `[B, classes]`.
- `example_input`: a float32 tensor `[B, …]` of normalised images; the per-image shape becomes
  the manifest's input (float32; `pcee infer --split` and `pcee serve`'s image bodies feed
  Fashion-MNIST `[1, 28, 28]`, `--input FILE` any shape). A batch of 1 is repeated to 2
  for tracing, so that the batch axis stays symbolic.
- `flops[e]`: cumulative FLOPs per image up to and including head e (every earlier stage and
  head included), strictly increasing — the same numbers as the `flops` array of the logits
  files you calibrate on, or `pcee infer` refuses the policy. With `flops=None` they are
  counted by `torch.utils.flop_counter.FlopCounterMode` on one image: 2 FLOPs per
  multiply-add of convolutions, linear layers and matrix products (attention included);
  normalisation, activations, pooling, additions and biases count 0. That is how pcee counts
  its own models, so for bench/pytorch's twins the count equals the model card's (checked by
  this file's `__main__`).
- `preprocessing`: `{"scale", "mean", "std"}`, input = (pixel · scale − mean) / std on 0–255
  pixels; pcee applies it before stage 0.

Each graph is written with `torch.onnx.export` (TorchScript exporter, opset 17, the batch
axis dynamic, constant folding on, so an eval-mode BatchNorm is folded). Tensor names: the
input `images` (or `input_name`), the state after stage s `state{s}_{i}`, every head's logits
`logits`. Then every graph is checked as pcee's validator checks it (names, float32, symbolic
batch, per-image shapes) and, when `onnxruntime` is installed, run on a batch of 3 against the
PyTorch modules (max |difference| ≤ `tolerance`, default 1e-4). The directory is written
under a temporary name and renamed at the end, so a failed export leaves nothing; an earlier
export at `out` is replaced, any other non-empty directory is refused. `export_full_graph`
writes the whole network as one graph (every stage and head, outputs `logits_0 …`), for
timing ONNX Runtime without early exit.

Bad input raises `ExportError` (a `ValueError`) with one line naming the argument, what is
wrong and what was expected; the command line prints it as `error: …` and exits with 1.

Command line — exports bench/pytorch's twin of a shipped pcee model (the PyTorch rebuild of
MSDNet / the ViT that loads the same .safetensors weights), split into its stages and heads:

    bench/.venv/bin/python examples/python/export_stages.py \\
        --model assets/models/msdnet-large.safetensors --out large-torch-stages/ [--full large-full.onnx]
    pcee infer --stages large-torch-stages/ --policy large-policy.json --json

Needs torch and onnx (bench/onnx/requirements.txt; onnxruntime for the check). pcee itself
needs neither.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

MANIFEST_FILE = "pcee-stages.json"
FORMAT = "pcee-stages"
VERSION = 1
OPSET = 17
LOGITS = "logits"


class ExportError(ValueError):
    """Bad input to the export, or an exported graph that pcee would refuse (one line)."""


# ------------------------------------------------------------------------------------------
# Checks of the arguments (no torch needed for the plain-Python ones)
# ------------------------------------------------------------------------------------------


def check_flops(flops, exits: int) -> list[float]:
    """`flops` as floats: one per exit, finite, positive, strictly increasing (cumulative)."""
    try:
        values = [float(v) for v in flops]
    except (TypeError, ValueError):
        raise ExportError(f"flops: {flops!r}; expected a list of {exits} numbers (cumulative FLOPs per exit)")
    if len(values) != exits:
        raise ExportError(f"flops: {len(values)} value(s); expected one per exit ({exits})")
    for i, v in enumerate(values):
        if not (math.isfinite(v) and v > 0):
            raise ExportError(f"flops: exit {i}: {v}; expected a positive finite cost")
        if i > 0 and v <= values[i - 1]:
            raise ExportError(f"flops: not increasing at exit {i} ({v} after {values[i - 1]}); "
                              "expected cumulative FLOPs (each exit includes every earlier stage and head)")
    return values


def check_preprocessing(pre) -> dict:
    """`{"scale", "mean", "std"}` as floats, finite, std > 0."""
    if not isinstance(pre, dict) or set(pre) != {"scale", "mean", "std"}:
        keys = sorted(pre) if isinstance(pre, dict) else type(pre).__name__
        raise ExportError(f"preprocessing: {keys}; expected a dict with exactly scale, mean and std "
                          "(input = (pixel · scale − mean) / std)")
    try:
        out = {k: float(pre[k]) for k in ("scale", "mean", "std")}
    except (TypeError, ValueError):
        raise ExportError(f"preprocessing: {pre!r}; expected numbers")
    if not (math.isfinite(out["scale"]) and math.isfinite(out["mean"]) and out["std"] > 0 and math.isfinite(out["std"])):
        raise ExportError(f"preprocessing: {out}; expected finite scale and mean and std > 0")
    return out


def check_classes(classes) -> int:
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ExportError(f"classes: {classes!r}; expected an integer ≥ 2")
    return classes


def check_head_inputs(head_inputs, outputs_per_stage: list[int]) -> list[list[int]]:
    exits = len(outputs_per_stage)
    if head_inputs is None:
        return [list(range(n)) for n in outputs_per_stage]
    if len(head_inputs) != exits:
        raise ExportError(f"head_inputs: {len(head_inputs)} entries; expected one list per head ({exits})")
    out = []
    for e, (idx, n) in enumerate(zip(head_inputs, outputs_per_stage)):
        idx = list(idx) if not isinstance(idx, int) else [idx]
        if not idx:
            raise ExportError(f"head_inputs[{e}]: empty; expected at least one of stage {e}'s {n} outputs")
        for i in idx:
            if isinstance(i, bool) or not isinstance(i, int) or not (-n <= i < n):
                raise ExportError(f"head_inputs[{e}]: {i!r}; stage {e} has {n} output(s) (indices 0–{n - 1})")
        norm = [i % n for i in idx]
        if len(set(norm)) != len(norm):
            raise ExportError(f"head_inputs[{e}]: {idx} names a tensor twice")
        out.append(norm)
    return out


def check_target(out: Path) -> None:
    """`out` may be absent, an empty directory or an earlier export (as `pcee export`)."""
    if not out.exists() or (out / MANIFEST_FILE).is_file():
        return
    if out.is_dir() and not any(out.iterdir()):
        return
    raise ExportError(f"{out}: exists and is not a stage-graph directory (no {MANIFEST_FILE}); "
                      "expected a new or empty directory")


def manifest_dict(classes, input_name, input_shape, preprocessing, stages, heads, flops, source=None) -> dict:
    """The manifest in the field order of crates/pcee-onnx/src/manifest.rs."""
    m = {
        "format": FORMAT,
        "version": VERSION,
        "classes": classes,
        "input": {"name": input_name, "shape": list(input_shape)},
        "preprocessing": preprocessing,
        "stages": stages,
        "heads": heads,
        "flops": flops,
    }
    if source is not None:
        m["source"] = str(source)
    return m


# ------------------------------------------------------------------------------------------
# Tracing the modules
# ------------------------------------------------------------------------------------------


def _torch():
    try:
        import torch
    except ImportError:
        raise ExportError("torch: not installed; the export needs PyTorch (pip install -r bench/onnx/requirements.txt)")
    return torch


def _as_tensors(value, what: str, batch: int):
    """A module's result as a tuple of float32 `[batch, …]` tensors."""
    torch = _torch()
    items = (value,) if isinstance(value, torch.Tensor) else value
    if not isinstance(items, (tuple, list)) or not items or not all(isinstance(t, torch.Tensor) for t in items):
        raise ExportError(f"{what}: returned {type(value).__name__}; expected a tensor or a non-empty "
                          "tuple/list of tensors")
    for i, t in enumerate(items):
        if t.dtype != torch.float32:
            raise ExportError(f"{what}: output {i} is {t.dtype}; expected float32")
        if t.dim() < 2 or t.shape[0] != batch:
            raise ExportError(f"{what}: output {i} has shape {list(t.shape)}; expected [batch = {batch}, …] "
                              "(the first axis is the batch)")
    return tuple(items)


def _modules(mods, what: str):
    torch = _torch()
    if not isinstance(mods, (list, tuple, torch.nn.ModuleList)) or len(mods) == 0:
        raise ExportError(f"{what}: {type(mods).__name__}; expected a non-empty list of nn.Module")
    for i, m in enumerate(mods):
        if not isinstance(m, torch.nn.Module):
            raise ExportError(f"{what}[{i}]: {type(m).__name__}; expected an nn.Module")
    return list(mods)


def _example(example_input):
    torch = _torch()
    if not isinstance(example_input, torch.Tensor):
        raise ExportError(f"example_input: {type(example_input).__name__}; expected a float32 tensor [batch, …]")
    if example_input.dtype != torch.float32 or example_input.dim() < 2 or example_input.shape[0] < 1:
        raise ExportError(f"example_input: {example_input.dtype} {list(example_input.shape)}; "
                          "expected a float32 tensor [batch ≥ 1, …] of normalised images")
    x = example_input.detach()
    if x.shape[0] == 1:  # a batch of 1 would let the tracer fix the batch axis
        x = x.repeat(2, *[1] * (x.dim() - 1))
    return x


def _trace(stages, heads, x, head_inputs):
    """Run the chain once: (states per stage, logits per head), and check the shapes."""
    torch = _torch()
    states, logits = [], []
    state = (x,)
    with torch.inference_mode():
        for s, stage in enumerate(stages):
            try:
                r = stage(*state)
            except Exception as e:  # the user's module failed on its input
                what = "the example input" if s == 0 else f"stage {s - 1}'s outputs"
                raise ExportError(f"stages[{s}]: fails on {what} ({_one_line(e)})")
            state = _as_tensors(r, f"stages[{s}]", x.shape[0])
            states.append(state)
        head_inputs = check_head_inputs(head_inputs, [len(st) for st in states])
        for e, head in enumerate(heads):
            args = tuple(states[e][i] for i in head_inputs[e])
            try:
                r = head(*args)
            except Exception as err:
                raise ExportError(f"heads[{e}]: fails on stage {e}'s outputs {head_inputs[e]} ({_one_line(err)})")
            z = _as_tensors(r, f"heads[{e}]", x.shape[0])
            if len(z) != 1:
                raise ExportError(f"heads[{e}]: returned {len(z)} tensors; expected the logits [batch, classes]")
            logits.append(z[0])
    return states, logits, head_inputs


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:300] + ("…" if len(text) > 300 else "")


def count_flops(stages, heads, example_input, head_inputs=None) -> list[float]:
    """Cumulative FLOPs per image up to and including each head (module documentation):
    FlopCounterMode on one image, 2 per multiply-add of convolutions and matrix products."""
    torch = _torch()
    from torch.utils.flop_counter import FlopCounterMode

    stages, heads = _modules(stages, "stages"), _modules(heads, "heads")
    x = _example(example_input)[:1]
    own = []  # per stage + its head, per image
    state = (x,)
    with torch.inference_mode():
        states = []
        for s, stage in enumerate(stages):
            with FlopCounterMode(display=False) as c:
                state = tuple(_as_tensors(stage(*state), f"stages[{s}]", 1))
            states.append(state)
            own.append(float(c.get_total_flops()))
        head_inputs = check_head_inputs(head_inputs, [len(st) for st in states])
        for e, head in enumerate(heads):
            with FlopCounterMode(display=False) as c:
                head(*(states[e][i] for i in head_inputs[e]))
            own[e] += float(c.get_total_flops())
    out, total = [], 0.0
    for f in own:
        total += f
        out.append(total)
    return out


# ------------------------------------------------------------------------------------------
# torch.onnx.export and the graph checks
# ------------------------------------------------------------------------------------------


def _export_one(module, args, path: Path, input_names, output_names, opset: int):
    torch = _torch()
    dynamic = {n: {0: "batch"} for n in list(input_names) + list(output_names)}
    kwargs = dict(input_names=list(input_names), output_names=list(output_names),
                  dynamic_axes=dynamic, opset_version=opset, do_constant_folding=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        try:
            try:
                torch.onnx.export(module, tuple(args), str(path), dynamo=False, **kwargs)
            except TypeError as e:
                if "dynamo" not in str(e):
                    raise
                torch.onnx.export(module, tuple(args), str(path), **kwargs)  # torch < 2.5
        except ExportError:
            raise
        except Exception as e:
            raise ExportError(f"{path.name}: torch.onnx.export failed ({_one_line(e)})")


def _graph_io(path: Path):
    """(inputs, outputs) of an ONNX file: [(name, elem_type, dims)], dims None when symbolic."""
    try:
        import onnx
    except ImportError:
        raise ExportError("onnx: not installed; torch.onnx.export and the checks need it "
                          "(pip install -r bench/onnx/requirements.txt)")
    model = onnx.load(str(path), load_external_data=False)
    g = model.graph
    consts = {t.name for t in g.initializer}

    def rows(values):
        out = []
        for v in values:
            if v.name in consts:
                continue
            t = v.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
            out.append((v.name, t.elem_type, dims))
        return out

    return rows(g.input), rows(g.output)


def declare_shapes(path: Path, field: str, tensors: list[dict], shown: Path | None = None) -> None:
    """Writes the manifest's shapes `[batch, shape…]` into the graph's declared inputs and
    outputs where the exporter left a dimension unknown (the ViT's reshapes with a dynamic
    batch leave every dimension of the state symbolic). The shapes come from the traced run and
    are confirmed by running the graph (`verify`); a known dimension that differs is an error."""
    import onnx

    model = onnx.load(str(path))
    where, path = path, shown or path
    by_name = {t["name"]: t["shape"] for t in tensors}
    changed = False
    for v in list(model.graph.input) + list(model.graph.output):
        if v.name not in by_name:
            continue
        want = by_name[v.name]
        shape = v.type.tensor_type.shape
        dims = list(shape.dim)
        if len(dims) not in (0, len(want) + 1):
            raise ExportError(f"{path}: {field}: {v.name} has {len(dims)} dimensions in the graph; "
                              f"expected [batch, {', '.join(map(str, want))}]")
        if not dims:
            for _ in range(len(want) + 1):
                shape.dim.add()
            dims = list(shape.dim)
        if not dims[0].HasField("dim_value"):
            if not dims[0].dim_param:
                dims[0].dim_param = "batch"
                changed = True
        for d, n in zip(dims[1:], want):
            if d.HasField("dim_value"):
                if d.dim_value != n:
                    raise ExportError(f"{path}: {field}: {v.name} has dimension {d.dim_value} in the graph; "
                                      f"the traced tensor has {n}")
            else:
                d.dim_value = n
                changed = True
    if changed:
        onnx.save(model, str(where))


def check_graph(path: Path, field: str, inputs: list[dict], outputs: list[dict], shown: Path | None = None) -> None:
    """The graph's inputs and outputs against the manifest entries, as crates/pcee-onnx's
    validator checks them (the same names, float32, symbolic batch, the per-image shapes);
    errors name `shown` (the final path) instead of `path` when given."""
    got_in, got_out = _graph_io(path)
    path = shown or path
    for kind, got, want in (("input", got_in, inputs), ("output", got_out, outputs)):
        names = [g[0] for g in got]
        for i, t in enumerate(want):
            match = [g for g in got if g[0] == t["name"]]
            if not match:
                raise ExportError(f"{path}: {field}: {kind} [{i}] {t['name']} {t['shape']}: the graph has no "
                                  f"{kind} of that name (its {kind}s: {names}); an unused tensor is dropped "
                                  "by the exporter — leave it out of head_inputs")
            _, elem, dims = match[0]
            if elem != 1:
                raise ExportError(f"{path}: {field}: {kind} {t['name']} has element type {elem}; expected float32 (1)")
            if len(dims) != len(t["shape"]) + 1 or dims[1:] != list(t["shape"]):
                shown = ["?" if d is None else d for d in dims]
                raise ExportError(f"{path}: {field}: {kind} {t['name']} has shape {shown}; expected [batch, "
                                  f"{', '.join(map(str, t['shape']))}]")
            if dims[0] is not None:
                raise ExportError(f"{path}: {field}: {kind} {t['name']} has a fixed batch dimension {dims[0]}; "
                                  "the module must not depend on the batch size (e.g. a reshape to a fixed batch)")
        extra = [n for n in names if n not in {t["name"] for t in want}]
        if extra:
            raise ExportError(f"{path}: {field}: the graph has the {kind} {extra[0]!r}, which the manifest does not list")


def _spec(name, tensor):
    return {"name": name, "shape": [int(d) for d in tensor.shape[1:]]}


class _Chain:
    """Every stage and head in one module (for export_full_graph): outputs logits_0 …"""

    def __new__(cls, stages, heads, head_inputs):
        torch = _torch()

        class Chain(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.stages = torch.nn.ModuleList(stages)
                self.heads = torch.nn.ModuleList(heads)

            def forward(self, x):
                state, out = (x,), []
                for s, stage in enumerate(self.stages):
                    r = stage(*state)
                    state = (r,) if isinstance(r, torch.Tensor) else tuple(r)
                    out.append(self.heads[s](*(state[i] for i in head_inputs[s])))
                return tuple(out)

        return Chain()


def _verify(dir_or_file: Path, manifest: dict | None, stages, heads, x, head_inputs, tolerance, full=False,
            shown: Path | None = None):
    """Runs the exported graphs with onnxruntime on a batch of 3 (another batch than traced)
    and compares every head's logits with the PyTorch modules'. Returns max |diff|, or None
    when onnxruntime is not installed."""
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        return None
    torch = _torch()
    xb = x[:1].repeat(3, *[1] * (x.dim() - 1)) + 0.01 * torch.arange(3, dtype=x.dtype).view(-1, *[1] * (x.dim() - 1))
    _, want, _ = _trace(stages, heads, xb, head_inputs)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3

    def session(path):
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    got = []
    if full:
        s = session(dir_or_file)
        got = s.run(None, {s.get_inputs()[0].name: xb.numpy()})
    else:
        state = {manifest["input"]["name"]: xb.numpy()}
        for st, hd in zip(manifest["stages"], manifest["heads"]):
            s = session(dir_or_file / st["graph"])
            vals = s.run([t["name"] for t in st["outputs"]], {t["name"]: state[t["name"]] for t in st["inputs"]})
            state = dict(zip([t["name"] for t in st["outputs"]], vals))
            h = session(dir_or_file / hd["graph"])
            got.append(h.run([hd["output"]["name"]], {t["name"]: state[t["name"]] for t in hd["inputs"]})[0])
    diff = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))
    if not diff <= tolerance:
        where = shown or dir_or_file
        raise ExportError(f"{where}: ONNX Runtime's logits differ from PyTorch's by {diff:.3g} (> {tolerance:g}); "
                          "the module may do something the exporter does not capture (data-dependent control flow?)")
    return diff


def export_stages(stages, heads, example_input, out, *, classes, preprocessing, flops=None,
                  head_inputs=None, input_name="images", source=None, opset=OPSET,
                  verify=True, tolerance=1e-4) -> dict:
    """Writes the stage-graph directory `out` (module documentation); returns the manifest
    (a dict, as written to `out/pcee-stages.json`), with the check's max |difference| under
    the key `verified_max_abs_diff` of the returned dict only (None without onnxruntime)."""
    torch = _torch()
    stages, heads = _modules(stages, "stages"), _modules(heads, "heads")
    if len(heads) != len(stages):
        raise ExportError(f"heads: {len(heads)} head(s) for {len(stages)} stage(s); expected one exit head per stage")
    classes = check_classes(classes)
    preprocessing = check_preprocessing(preprocessing)
    if not isinstance(input_name, str) or not input_name:
        raise ExportError(f"input_name: {input_name!r}; expected a non-empty string")
    if not isinstance(opset, int) or opset < 13:
        raise ExportError(f"opset: {opset!r}; expected an ONNX opset ≥ 13 (pcee's own export uses 17)")
    out = Path(out)
    check_target(out)
    for m in stages + heads:
        m.eval()
    x = _example(example_input)
    states, logits, head_inputs = _trace(stages, heads, x, head_inputs)
    for e, z in enumerate(logits):
        if z.dim() != 2 or z.shape[1] != classes:
            raise ExportError(f"heads[{e}]: logits of shape {list(z.shape)}; expected [batch, {classes}] (classes)")
    flops = check_flops(count_flops(stages, heads, x, head_inputs) if flops is None else flops, len(stages))

    names = [[f"state{s}_{i}" for i in range(len(st))] for s, st in enumerate(states)]
    m_stages, m_heads = [], []
    for s, st in enumerate(states):
        ins = [_spec(input_name, x)] if s == 0 else m_stages[s - 1]["outputs"]
        m_stages.append({"graph": f"stage-{s}.onnx", "inputs": ins,
                         "outputs": [_spec(n, t) for n, t in zip(names[s], st)]})
        m_heads.append({"graph": f"head-{s}.onnx",
                        "inputs": [m_stages[s]["outputs"][i] for i in head_inputs[s]],
                        "output": {"name": LOGITS, "shape": [classes]}})
    manifest = manifest_dict(classes, input_name, x.shape[1:], preprocessing, m_stages, m_heads, flops, source)

    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would outlive the rename
    try:
        with torch.inference_mode():
            for s, stage in enumerate(stages):
                args = (x,) if s == 0 else states[s - 1]
                ms = m_stages[s]
                _export_one(stage, args, tmp / ms["graph"], [t["name"] for t in ms["inputs"]],
                            [t["name"] for t in ms["outputs"]], opset)
                declare_shapes(tmp / ms["graph"], f"stages[{s}]", ms["inputs"] + ms["outputs"], out / ms["graph"])
                check_graph(tmp / ms["graph"], f"stages[{s}]", ms["inputs"], ms["outputs"], out / ms["graph"])
            for e, head in enumerate(heads):
                mh = m_heads[e]
                args = tuple(states[e][i] for i in head_inputs[e])
                _export_one(head, args, tmp / mh["graph"], [t["name"] for t in mh["inputs"]], [LOGITS], opset)
                declare_shapes(tmp / mh["graph"], f"heads[{e}]", mh["inputs"] + [mh["output"]], out / mh["graph"])
                check_graph(tmp / mh["graph"], f"heads[{e}]", mh["inputs"], [mh["output"]], out / mh["graph"])
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        diff = _verify(tmp, manifest, stages, heads, x, head_inputs, tolerance, shown=out) if verify else None
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dict(manifest, verified_max_abs_diff=diff)


def export_full_graph(stages, heads, example_input, path, *, head_inputs=None, input_name="images",
                      opset=OPSET, verify=True, tolerance=1e-4) -> list[str]:
    """The whole network as one ONNX graph `path`: input `input_name`, outputs `logits_0 …
    logits_{L−1}` (every stage and every head, what pcee's full pass computes). Returns the
    output names."""
    torch = _torch()
    stages, heads = _modules(stages, "stages"), _modules(heads, "heads")
    if len(heads) != len(stages):
        raise ExportError(f"heads: {len(heads)} head(s) for {len(stages)} stage(s); expected one exit head per stage")
    for m in stages + heads:
        m.eval()
    x = _example(example_input)
    _, _, head_inputs = _trace(stages, heads, x, head_inputs)
    chain = _Chain(stages, heads, head_inputs).eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    outputs = [f"{LOGITS}_{e}" for e in range(len(heads))]
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with torch.inference_mode():
            _export_one(chain, (x,), tmp, [input_name], outputs, opset)
        if verify:
            _verify(tmp, None, stages, heads, x, head_inputs, tolerance, full=True, shown=path)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return outputs


def _replace(tmp: Path, out: Path) -> None:
    """Moves the finished directory into place; an earlier export (or empty dir) is replaced."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------------------
# __main__: bench/pytorch's twin of a shipped pcee model, split into stages and heads
# ------------------------------------------------------------------------------------------


def twin_parts(net):
    """(stages, heads, head_inputs) of a bench/pytorch/models.py network: stage 0 = the stem
    (MSDNet) or the patch embedding (ViT) and the first block; MSDNet's state = one tensor per
    active scale (finest first), its head reads the coarsest; the ViT's state = the tokens."""
    torch = _torch()
    nn = torch.nn
    msdnet = hasattr(net, "stem")

    class Stage(nn.Module):
        def __init__(self, s):
            super().__init__()
            self.s = s
            if msdnet:
                self.stem = net.stem if s == 0 else None
                self.block = net.blocks[s]
            else:
                if s == 0:
                    self.patch_embed = net.patch_embed
                    self.class_token, self.positions = net.class_token, net.positions
                self.block = net.blocks[s]

        def forward(self, *state):
            if msdnet:
                if self.s == 0:
                    xs = []
                    for conv in self.stem:
                        xs.append(conv(xs[-1] if xs else state[0]))
                else:
                    xs = list(state)
                if len(self.block.transitions) > 0:
                    xs = [t(x) for x, t in zip(xs, self.block.transitions)]
                for layer in self.block.layers:
                    xs = layer(xs)
                return tuple(xs)
            if self.s == 0:
                x = self.patch_embed(state[0]).flatten(2).transpose(1, 2)
                cls = self.class_token.expand(x.shape[0], -1, -1)
                x = torch.cat([cls, x], 1) + self.positions
            else:
                x = state[0]
            return self.block(x)

    stages = [Stage(s).eval() for s in range(net.exits())]
    heads = [net.heads[e] for e in range(net.exits())]
    if msdnet:
        # the coarsest scale after stage e: MsdNet.exit_head reads xs[-1]
        with torch.inference_mode():
            state, last = (torch.zeros(2, 1, 28, 28),), []
            for st in stages:
                state = st(*state)
                last.append(len(state) - 1)
        head_inputs = [[i] for i in last]
    else:
        head_inputs = None
    return stages, heads, head_inputs


def _load_twin(model: Path):
    twin = Path(__file__).resolve().parents[2] / "bench" / "pytorch"
    models, data = _import(twin / "models.py"), _import(twin / "data.py")
    try:
        net = models.load_model(model)
    except models.ModelError as e:
        raise ExportError(str(e))
    pre = {"scale": 1.0 / 255.0, "mean": float(data.PIXEL_MEAN), "std": float(data.PIXEL_STD)}
    return net, pre


def _import(path: Path):
    """A module of bench/pytorch by file (not via sys.path: its profile.py would shadow the
    standard library's, which torch imports lazily)."""
    import importlib.util

    if not path.is_file():
        raise ExportError(f"{path}: not found; the twin lives in bench/pytorch of a pcee checkout")
    spec = importlib.util.spec_from_file_location(f"pcee_twin_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="Export bench/pytorch's PyTorch twin of a pcee model as a pcee stage-graph directory "
                    "(and optionally as one full graph) with torch.onnx.export.")
    ap.add_argument("--model", required=True, help="a pcee .safetensors with its .json card (e.g. assets/models/msdnet-large.safetensors)")
    ap.add_argument("--out", help="the stage-graph directory to write")
    ap.add_argument("--full", help="also write the whole network as one ONNX graph here (outputs logits_0 …)")
    ap.add_argument("--opset", type=int, default=OPSET)
    ap.add_argument("--count-flops", action="store_true",
                    help="use the counted FLOPs instead of the model card's (they must agree anyway)")
    ap.add_argument("--no-verify", action="store_true", help="skip the onnxruntime check")
    a = ap.parse_args(argv)
    try:
        if not a.out and not a.full:
            raise ExportError("--out/--full: nothing to write; expected --out DIR and/or --full FILE.onnx")
        torch = _torch()
        torch.manual_seed(0)
        model = Path(a.model)
        net, pre = _load_twin(model)
        stages, heads, head_inputs = twin_parts(net)
        example = torch.randn(2, 1, 28, 28)
        card = [float(f) for f in net.card["flops_per_exit"]]
        counted = count_flops(stages, heads, example, head_inputs)
        rel = max(abs(c - k) / k for c, k in zip(counted, card))
        if rel > 1e-9:
            print(f"warning: counted FLOPs {counted} differ from the card's {card} (max {rel:.2e} relative)",
                  file=sys.stderr)
        flops = counted if a.count_flops else card
        if a.out:
            m = export_stages(stages, heads, example, a.out, classes=int(net.card["classes"]), preprocessing=pre,
                              flops=flops, head_inputs=head_inputs, source=f"{model} (PyTorch twin, bench/pytorch)",
                              opset=a.opset, verify=not a.no_verify)
            d = m["verified_max_abs_diff"]
            check = "not checked (no onnxruntime)" if d is None else f"ONNX Runtime vs PyTorch max |diff| {d:.2e}"
            print(f"{a.out}: {len(m['stages'])} stages + {len(m['heads'])} heads, opset {a.opset}, "
                  f"FLOPs {'counted' if a.count_flops else 'from the card'} (counted = card within {rel:.1e}); {check}")
        if a.full:
            export_full_graph(stages, heads, example, a.full, head_inputs=head_inputs, opset=a.opset,
                              verify=not a.no_verify)
            print(f"{a.full}: the whole network, outputs logits_0 … logits_{len(heads) - 1}")
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
