"""Build a small non-image multi-exit network — a naive-Bayes bag-of-words sequence classifier
that reads a token sequence in three chunks — as a pcee stage-graph directory (manifest
version 2) and as one multi-exit ONNX file, plus the validation and test data to run it.

    python examples/python/token_network.py --out examples/tokens [--seed 0]

Needs only numpy and onnx (onnxruntime, when installed, is used to check the graphs). Everything
is generated from `--seed`, so two runs write the same files.

The task (synthetic, "topics")
------------------------------
Vocabulary V = 64 token ids (0 = padding), K = 4 classes, sequences padded to L = 24.

- A background distribution over tokens 1..63 is drawn from Dirichlet(1, …, 1). Each class c
  has its own topic distribution over tokens 1..63: 0.6 · a Dirichlet(0.5, …, 0.5) draw
  + 0.4 · uniform over 4 keywords of its own (KEYWORDS, KEYWORD_MASS; disjoint between classes),
  so a keyword points strongly at its class and other tokens weakly.
- A sample of class c (classes drawn uniformly at random) has a length n in [8, 24], drawn
  with P(n) proportional to n − 7 (a triangular law: longer sequences are more common), and
  its own p uniform in [0.15, 0.6]; each of its n tokens comes from class c's topic with
  probability p and from the background otherwise. Positions >= n are padding (id 0,
  attention_mask 0). So some samples are easy (high p, long), some hard (low p, short), and
  reading more tokens helps. The triangular law and the keyword mass were chosen so that the
  three exits differ: with n uniform in [8, 24] only 47 % of the samples reach the third chunk,
  and in trials the last exit gained only 1–2 points over the second; under the triangular law
  71 % do.
- Splits: train 20 000 (used only to fit the weights, not written), val 2 000, test 2 000, each
  from its own random stream derived from the seed.

The network
-----------
Weights fitted by counting tokens on train (naive Bayes, Laplace smoothing 1 over tokens 1..63):
P(t | c) = (count(t, c) + 1) / (tokens(c) + 63), and the prior b = log P(c) (class frequencies
on train). The table W [V, K] float32 is log P(t | c) centred per token,
W[t, c] = log P(t | c) − mean_k log P(t | k), with row 0 (padding) = 0. Centring subtracts the
same amount from every class's logit, so the softmax (the naive-Bayes posterior) and the
prediction are exactly those of the uncentred table; it only keeps the numbers small.

The network reads `input_ids` and `attention_mask`, both int64 [batch, 24]:

- stage-0.onnx: inputs `input_ids`, `attention_mask`; output `evidence-0` float32 [batch, 4]
  = sum over t in [0, 8) of mask[t] · W[ids[t]]
  (Slice → Gather → Cast mask to float → Unsqueeze → Mul → ReduceSum over the token axis).
- stage-s.onnx, s = 1, 2: inputs `evidence-{s-1}`, `input_ids`, `attention_mask`; output
  `evidence-s` = evidence-{s-1} + the same sum over t in [8s, 8s + 8).
- head-e.onnx: input `evidence-e`; output `logits` float32 [batch, 4] = evidence-e + b, the
  log-odds of the naive-Bayes posterior after reading the first 8(e + 1) positions.

Every graph is a self-contained ONNX model (opset 17, IR version 8) with its weights as
initializers and a symbolic batch axis ("batch") on every input and output.

model.onnx is the same network as one graph, as `torch.onnx.export(model, (input_ids,
attention_mask), "model.onnx", output_names=["exit_0", "exit_1", "exit_2"], dynamic_axes=…)`
writes it: inputs `input_ids`, `attention_mask`; outputs `exit_0`, `exit_1`, `exit_2`, float32
[batch, 4], each exit's logits in network order. Its nodes are those of the stage and head
graphs above, named `stage-s/…` and `head-e/…`; a stage's own tensors get the suffix `-s`
(`ids-1`, `start-1`), `evidence-s` keeps its name, the head's `logits` is `exit_e`, and the
weights every graph holds alike (W, b, the axes) are stored once. `pcee stages` cuts such a
file into a stage-graph directory.

Naive Bayes treats the tokens of a sample as independent given the class; here they are not
(a sample's tokens share its p), so the posterior is famously over-confident: the regime where
a confidence threshold misjudges an exit and PCEE's per-bin validation accuracy matters. The
accuracy and confidence this script measures are printed when it runs (and recorded in the
directory's README.md); none is claimed here.

FLOPs (cumulative per sample, every earlier stage and head included, as pcee counts them):
a stage costs 8 tokens × 4 classes × 2 (the mask multiply and the accumulation: one
multiply-add = 2 FLOPs) = 64, plus 4 additions (one per class) for adding the previous
evidence in stages 1 and 2; a head costs 4 (adding the prior). Gathers, casts and slices count 0.
So exit 0 = 64 + 4 = 68, exit 1 = 68 + 68 + 4 = 140, exit 2 = 140 + 68 + 4 = 212.

Output (`--out DIR`)
--------------------
- DIR/stages/: pcee-stages.json (version 2) and stage-{0,1,2}.onnx, head-{0,1,2}.onnx
- DIR/model.onnx: the same network as one graph (above)
- DIR/val.npz, DIR/test.npz: `input_ids` and `attention_mask`, int64 [N, 24]
  (np.savez_compressed); DIR/val-labels.npy, DIR/test-labels.npy: int64 [N]
- DIR/expected-logits.npy: float32 [3, 20, 4], every exit's logits for the first 20 test
  samples computed in plain numpy from W, b and the masks (in float64, rounded to float32), not with
  onnxruntime, so a test can compare pcee's logits with an independent computation
- DIR/README.md: what this is, the command, the measured per-exit test accuracy
"""

from __future__ import annotations

import argparse
import hashlib
import json
import textwrap
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VOCAB, CLASSES, LENGTH = 64, 4, 24
CHUNK, STAGES = 8, 3
MIN_LEN = 8
KEYWORDS, KEYWORD_MASS = 4, 0.4
TOPIC_ALPHA = 0.5
P_LOW, P_HIGH = 0.15, 0.6
SPLITS = {"train": 20_000, "val": 2_000, "test": 2_000}
OPSET, IR_VERSION = 17, 8
EXPECTED_SAMPLES = 20


# ---------------------------------------------------------------------------------------------
# Data


def topic_model(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The background [V] and the class topics [K, V] (probabilities over ids; id 0 gets 0)."""
    rng = np.random.default_rng([seed, 0])
    words = VOCAB - 1
    background = np.zeros(VOCAB)
    background[1:] = rng.dirichlet(np.ones(words))
    topics = np.zeros((CLASSES, VOCAB))
    keywords = 1 + rng.permutation(words)[: CLASSES * KEYWORDS].reshape(CLASSES, KEYWORDS)
    for c in range(CLASSES):
        topics[c, 1:] = (1 - KEYWORD_MASS) * rng.dirichlet(np.full(words, TOPIC_ALPHA))
        topics[c, keywords[c]] += KEYWORD_MASS / KEYWORDS
    return background, topics


def sample_split(seed: int, split: int, n: int, background, topics) -> tuple:
    """`n` samples of split number `split`: (input_ids, attention_mask, labels), all int64."""
    rng = np.random.default_rng([seed, 1 + split])
    labels = rng.integers(0, CLASSES, size=n)
    sizes = np.arange(MIN_LEN, LENGTH + 1)
    weights = sizes - MIN_LEN + 1.0  # P(n) proportional to n - 7: longer sequences more common
    lengths = rng.choice(sizes, size=n, p=weights / weights.sum())
    p = rng.uniform(P_LOW, P_HIGH, size=n)
    from_topic = rng.random((n, LENGTH)) < p[:, None]
    # Inverse-CDF sampling: one uniform per position, looked up in a cumulative table.
    u = rng.random((n, LENGTH))
    ids = np.searchsorted(np.cumsum(background), u, side="right")
    for c in range(CLASSES):
        rows = from_topic & (labels == c)[:, None]
        ids[rows] = np.searchsorted(np.cumsum(topics[c]), u[rows], side="right")
    ids = np.minimum(ids, VOCAB - 1)  # guards against a cumulative sum rounded below 1
    mask = (np.arange(LENGTH)[None, :] < lengths[:, None]).astype(np.int64)
    return (ids * mask).astype(np.int64), mask, labels.astype(np.int64)


def make_data(seed: int) -> dict[str, tuple]:
    """Every split, generated from the seed."""
    background, topics = topic_model(seed)
    return {
        name: sample_split(seed, k, n, background, topics)
        for k, (name, n) in enumerate(SPLITS.items())
    }


# ---------------------------------------------------------------------------------------------
# Naive Bayes


def fit(ids: np.ndarray, mask: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The centred log-likelihood table W [V, K] and the log prior b [K], float32."""
    counts = np.zeros((VOCAB, CLASSES))
    np.add.at(counts, (ids[mask == 1], np.repeat(labels, mask.sum(axis=1))), 1.0)
    counts = counts[1:] + 1.0  # Laplace smoothing over tokens 1..V-1
    log_lik = np.log(counts / counts.sum(axis=0, keepdims=True))
    table = np.zeros((VOCAB, CLASSES))
    table[1:] = log_lik - log_lik.mean(axis=1, keepdims=True)
    prior = np.log(np.bincount(labels, minlength=CLASSES) / len(labels))
    return table.astype(np.float32), prior.astype(np.float32)


def numpy_logits(table, prior, ids, mask) -> np.ndarray:
    """Every exit's logits [exits, N, K] float32, computed in float64 from W, b and the masks."""
    per_token = table.astype(np.float64)[ids] * mask[..., None]  # [N, L, K]
    chunks = per_token.reshape(len(ids), STAGES, CHUNK, CLASSES).sum(axis=2)
    evidence = np.cumsum(chunks, axis=1).transpose(1, 0, 2)
    return (evidence + prior.astype(np.float64)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# ONNX graphs


def value(name: str, elem: int, shape: list[int]) -> onnx.ValueInfoProto:
    """A graph input/output [batch, shape…] with a symbolic batch axis."""
    return helper.make_tensor_value_info(name, elem, ["batch", *shape])


def model(nodes, name, inputs, outputs, initializers) -> onnx.ModelProto:
    """A self-contained opset-17 model, checked."""
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=initializers)
    m = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="pcee examples/python/token_network.py",
    )
    m.ir_version = IR_VERSION
    onnx.checker.check_model(m, full_check=True)
    return m


def chunk_nodes(stage: int, out: str) -> list[onnx.NodeProto]:
    """Nodes writing `out` [batch, K] = sum over this stage's chunk of mask · W[ids]."""
    return [
        helper.make_node("Slice", ["input_ids", "start", "end", "axis"], ["ids"]),
        helper.make_node("Slice", ["attention_mask", "start", "end", "axis"], ["mask_i"]),
        helper.make_node("Gather", ["W", "ids"], ["rows"], axis=0),  # [batch, 8, K]
        helper.make_node("Cast", ["mask_i"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "last"], ["mask_u"]),  # [batch, 8, 1]
        helper.make_node("Mul", ["rows", "mask_u"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis"], [out], keepdims=0),
    ]


def int64s(name: str, values: list[int]) -> onnx.TensorProto:
    """An int64 initializer [len(values)]."""
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def stage_model(stage: int, table: np.ndarray) -> onnx.ModelProto:
    """stage-s.onnx: (evidence-{s-1},) input_ids, attention_mask -> evidence-s."""
    inits = [
        numpy_helper.from_array(table, "W"),
        int64s("start", [stage * CHUNK]),
        int64s("end", [(stage + 1) * CHUNK]),
        int64s("axis", [1]),
        int64s("last", [2]),
    ]
    tokens = [value("input_ids", TensorProto.INT64, [LENGTH]),
              value("attention_mask", TensorProto.INT64, [LENGTH])]
    out = f"evidence-{stage}"
    if stage == 0:
        nodes, inputs = chunk_nodes(stage, out), tokens
    else:
        prev = f"evidence-{stage - 1}"
        nodes = chunk_nodes(stage, "chunk") + [helper.make_node("Add", [prev, "chunk"], [out])]
        inputs = [value(prev, TensorProto.FLOAT, [CLASSES]), *tokens]
    outputs = [value(out, TensorProto.FLOAT, [CLASSES])]
    return model(nodes, f"stage-{stage}", inputs, outputs, inits)


def head_model(exit_: int, prior: np.ndarray) -> onnx.ModelProto:
    """head-e.onnx: evidence-e -> logits = evidence-e + b."""
    name = f"evidence-{exit_}"
    nodes = [helper.make_node("Add", [name, "b"], ["logits"])]
    return model(nodes, f"head-{exit_}", [value(name, TensorProto.FLOAT, [CLASSES])],
                 [value("logits", TensorProto.FLOAT, [CLASSES])],
                 [numpy_helper.from_array(prior, "b")])


def one_graph_model(table: np.ndarray, prior: np.ndarray) -> onnx.ModelProto:
    """model.onnx: the stage and head graphs joined into one graph with outputs exit_0 … (module
    docstring). Each part's nodes are copied in network order (stage 0, head 0, stage 1, …),
    named after their part; its graph inputs (the network's inputs, the evidence before it)
    keep their names, its other tensors get the part's number, except initializers that every
    part declaring them holds alike, stored once."""
    parts = []
    for s in range(STAGES):
        parts.append((s, stage_model(s, table).graph, {}))
        parts.append((s, head_model(s, prior).graph, {"logits": f"exit_{s}"}))
    held: dict[str, set[bytes]] = {}
    for _, graph, _ in parts:
        for t in graph.initializer:
            held.setdefault(t.name, set()).add(t.SerializeToString())
    shared = {name for name, kinds in held.items() if len(kinds) == 1}

    nodes, inits, stored = [], [], set()
    for number, graph, outputs in parts:
        keep = {v.name for v in graph.input} | {v.name for v in graph.output} | shared

        def renamed(name: str) -> str:
            return outputs.get(name, name if name in keep else f"{name}-{number}")

        for t in graph.initializer:
            if renamed(t.name) not in stored:
                copy = onnx.TensorProto()
                copy.CopyFrom(t)
                copy.name = renamed(t.name)
                inits.append(copy)
                stored.add(copy.name)
        ops: dict[str, int] = {}
        for node in graph.node:
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            k = ops[node.op_type] = ops.get(node.op_type, -1) + 1
            copy.name = f"{graph.name}/{node.op_type}" + (f"_{k}" if k else "")
            copy.input[:] = [renamed(n) for n in node.input]
            copy.output[:] = [renamed(n) for n in node.output]
            nodes.append(copy)
    inputs = [value("input_ids", TensorProto.INT64, [LENGTH]),
              value("attention_mask", TensorProto.INT64, [LENGTH])]
    exits = [value(f"exit_{e}", TensorProto.FLOAT, [CLASSES]) for e in range(STAGES)]
    return model(nodes, "token-network", inputs, exits, inits)


# ---------------------------------------------------------------------------------------------
# Manifest


def flops() -> list[float]:
    """Cumulative FLOPs per sample up to and including each head (module docstring)."""
    out, total = [], 0
    for s in range(STAGES):
        total += CHUNK * CLASSES * 2 + (CLASSES if s > 0 else 0)  # stage s
        total += CLASSES  # head s (earlier heads stay in the total)
        out.append(float(total))
    return out


def spec(name: str, dtype: str, shape: list[int]) -> dict:
    """A manifest tensor: name, dtype and per-sample shape (batch excluded)."""
    return {"name": name, "dtype": dtype, "shape": shape}


def manifest(seed: int) -> dict:
    """pcee-stages.json, version 2."""
    tokens = [spec("input_ids", "int64", [LENGTH]), spec("attention_mask", "int64", [LENGTH])]
    evidence = [spec(f"evidence-{s}", "float32", [CLASSES]) for s in range(STAGES)]
    stages = [
        {"graph": f"stage-{s}.onnx",
         "inputs": ([evidence[s - 1]] if s > 0 else []) + tokens,
         "outputs": [evidence[s]]}
        for s in range(STAGES)
    ]
    heads = [
        {"graph": f"head-{e}.onnx", "inputs": [evidence[e]],
         "output": spec("logits", "float32", [CLASSES])}
        for e in range(STAGES)
    ]
    return {
        "format": "pcee-stages", "version": 2, "classes": CLASSES, "inputs": tokens,
        "preprocessing": None, "stages": stages, "heads": heads, "flops": flops(),
        "source": f"examples/python/token_network.py (seed {seed})",
    }


# ---------------------------------------------------------------------------------------------
# Checks and report


def confidence(logits: np.ndarray) -> np.ndarray:
    """max softmax, in float64."""
    z = logits.astype(np.float64)
    return 1.0 / np.exp(z - z.max(axis=-1, keepdims=True)).sum(axis=-1)


def summary(logits: np.ndarray, labels: np.ndarray) -> list[tuple[float, float]]:
    """(accuracy, mean confidence) per exit; prediction = first argmax, as pcee takes it."""
    return [(float((z.argmax(axis=1) == labels).mean()), float(confidence(z).mean()))
            for z in logits]


def onnxruntime_logits(stages_dir: Path, ids, mask) -> np.ndarray | None:
    """Every exit's logits from the graphs chained with onnxruntime; None without it."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None

    def run(graph: str, feed: dict) -> np.ndarray:
        session = ort.InferenceSession(str(stages_dir / graph), providers=["CPUExecutionProvider"])
        return session.run(None, feed)[0]

    tokens = {"input_ids": ids, "attention_mask": mask}
    out, feed = [], dict(tokens)
    for s in range(STAGES):
        evidence = run(f"stage-{s}.onnx", feed)
        out.append(run(f"head-{s}.onnx", {f"evidence-{s}": evidence}))
        feed = {f"evidence-{s}": evidence, **tokens}
    return np.stack(out)


def onnxruntime_one_graph(path: Path, ids, mask) -> np.ndarray | None:
    """Every exit's logits [exits, N, K] from model.onnx run whole; None without onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    if names != [f"exit_{e}" for e in range(STAGES)]:
        raise SystemExit(f"error: {path} has outputs {names}")
    return np.stack(session.run(None, {"input_ids": ids, "attention_mask": mask}))


def readme(seed: int, out: Path, val, test) -> str:
    """DIR/README.md, from the measured (accuracy, mean confidence) per exit of val and test."""
    rows = "\n".join(
        f"| {e} | {f:.0f} | {va * 100:.2f} % | {ta * 100:.2f} % | {tc:.3f} |"
        for e, (f, (va, _), (ta, tc)) in enumerate(zip(flops(), val, test)))
    return f"""# Example network: a three-exit token classifier (two int64 inputs)

`stages/` is a pcee stage-graph directory (manifest version 2) of a naive-Bayes bag-of-words
classifier of token sequences: 4 synthetic topics, 64 token ids, sequences padded to 24, read
in three chunks of 8 positions, one per stage; the exit after stage e adds the class prior to
the evidence summed so far. Its inputs are `input_ids` and `attention_mask`, int64 `[24]`.
`model.onnx` is the same network as one ONNX file, as `torch.onnx.export` writes it (outputs
`exit_0`, `exit_1`, `exit_2`); `pcee stages` cuts it into the stage graphs.
`val.npz` / `test.npz` hold 2 000 sequences each (`input_ids`, `attention_mask`), with labels
in `val-labels.npy` / `test-labels.npy`; `expected-logits.npy` is every exit's logits on the
first 20 test sequences computed in plain numpy. The weights were counted on 20 000 training
sequences that are not written. Everything was generated, from the repository root, by

```sh
python examples/python/token_network.py --out {out.as_posix()} --seed {seed}
```

(numpy and onnx; its docstring describes the task and the graphs). Measured there:

| exit | cumulative FLOPs | validation accuracy | test accuracy | test mean confidence |
|---:|---:|---:|---:|---:|
{rows}

{textwrap.fill(calibration(test) + " The network exists so that the pcee README can show a "
              "non-image network with two int64 inputs end to end.", width=96)}
"""


def calibration(test: list[tuple[float, float]]) -> str:
    """One sentence on the measured over-confidence (mean confidence − accuracy) per exit."""
    gaps = ", ".join(f"{(c - a) * 100:+.1f}" for a, c in test)
    if all(c > a for a, c in test):
        return (f"Naive Bayes is over-confident here: on the test sequences mean confidence "
                f"exceeds accuracy at every exit ({gaps} points), the regime where PCEE's "
                f"per-bin validation accuracy matters.")
    return f"Mean confidence minus accuracy on the test sequences, per exit: {gaps} points."


# ---------------------------------------------------------------------------------------------
# Main


def write(out: Path, seed: int) -> None:
    """Generates the data, fits the weights and writes everything under `out`."""
    data = make_data(seed)
    table, prior = fit(*data["train"])
    stages_dir = out / "stages"
    stages_dir.mkdir(parents=True, exist_ok=True)
    for s in range(STAGES):
        onnx.save(stage_model(s, table), stages_dir / f"stage-{s}.onnx")
        onnx.save(head_model(s, prior), stages_dir / f"head-{s}.onnx")
    onnx.save(one_graph_model(table, prior), out / "model.onnx")
    (stages_dir / "pcee-stages.json").write_text(json.dumps(manifest(seed), indent=2) + "\n")
    for split in ("val", "test"):
        ids, mask, labels = data[split]
        np.savez_compressed(out / f"{split}.npz", input_ids=ids, attention_mask=mask)
        np.save(out / f"{split}-labels.npy", labels)
    ids, mask, labels = data["test"]
    expected = numpy_logits(table, prior, ids, mask)
    np.save(out / "expected-logits.npy", expected[:, :EXPECTED_SAMPLES])
    check_and_report(out, seed, table, prior, data)


def check_and_report(out: Path, seed: int, table, prior, data) -> None:
    """Checks every graph, compares onnxruntime with numpy and model.onnx with the chained stage
    graphs, prints and records the accuracy."""
    for f in [*sorted((out / "stages").glob("*.onnx")), out / "model.onnx"]:
        onnx.checker.check_model(onnx.load(f), full_check=True)
    results = {}
    for split in ("val", "test"):
        ids, mask, labels = data[split]
        ref = numpy_logits(table, prior, ids, mask)
        got = onnxruntime_logits(out / "stages", ids, mask)
        if got is None:
            print(f"{split}: onnxruntime not installed; graphs not run")
        else:
            diff = float(np.abs(got - ref).max())
            print(f"{split}: onnxruntime vs numpy, max |difference| = {diff:.2e}")
            if diff >= 1e-4:
                raise SystemExit(f"error: onnxruntime and numpy logits differ by {diff}")
            whole = onnxruntime_one_graph(out / "model.onnx", ids, mask)
            diff = float(np.abs(whole - got).max())
            print(f"{split}: model.onnx vs the chained stage graphs, max |difference| = {diff:.2e}")
            if diff > 1e-5:
                raise SystemExit(f"error: model.onnx and the stage graphs differ by {diff}")
        results[split] = summary(ref, labels)
    print("exit  FLOPs  val acc  test acc  test conf  over-confidence")
    for e, f in enumerate(flops()):
        (va, _), (ta, tc) = results["val"][e], results["test"][e]
        print(f"{e:4d} {f:6.0f}  {va:7.4f}  {ta:8.4f}  {tc:9.4f}  {tc - ta:+.4f}")
    (out / "README.md").write_text(readme(seed, out, results["val"], results["test"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("examples/tokens"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write(args.out, args.seed)
    for f in sorted(p for p in args.out.rglob("*") if p.is_file()):
        digest = hashlib.sha256(f.read_bytes()).hexdigest()[:16]
        print(f"{f.stat().st_size:8d}  {digest}  {f}")


if __name__ == "__main__":
    main()
