"""The multi-exit networks of crates/pcee-nn (MSDNet and the ViT with an exit per block), written
again in PyTorch, built from the same model card (.json) and loading the same .safetensors weights.

Used by agree.py and bench.py; not run on its own. `load_model(weights_path)` returns a network in
eval mode whose interface mirrors `pcee_nn::Model`:

    state = net.embed(images)          # images [B, 1, 28, 28], normalised (data.py)
    state = net.stage(s, state)        # stage s (stage 0 follows the stem / embedding)
    logits = net.exit_head(e, state)   # [B, classes]
    state = net.select(state, rows)    # keep only some batch rows (early exit)

Every shape, name and default below is read from the Rust code (crates/pcee-nn/src/arch): the
channel plan (arch/msdnet/plan.rs), the layer order conv → BatchNorm → ReLU with padding k/2 and no
conv bias, BatchNorm and LayerNorm epsilon 1e-5 (burn's defaults; inference uses the running
statistics), the dense layer's concat order cat(x_s, down(x_{s-1}), normal(x_s)), burn's Linear
layout ([d_in, d_out], y = x W + b, transposed here), and in the ViT: patch conv with bias, class
token first, learned positions added after the concat, pre-norm blocks, attention scaled by
1/sqrt(d_head) with a plain softmax, exact (erf) GELU, exit = LayerNorm + linear on the class token.
The FLOPs per exit are recomputed from the plan and checked against the card, so a plan that
drifted from the Rust one is refused rather than silently loaded.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

INPUT_SIDE = 28


class ModelError(Exception):
    """A model card or weights file that cannot be used (message names the file)."""


# --------------------------------------------------------------------------------------------
# MSDNet plan (mirror of crates/pcee-nn/src/arch/msdnet/plan.rs)
# --------------------------------------------------------------------------------------------


def out_side(side: int, stride: int) -> int:
    return (side - 1) // stride + 1


def scale_side(s: int) -> int:
    n = INPUT_SIDE
    for _ in range(s):
        n = out_side(n, 2)
    return n


def conv_spec(c_in, c_out, kernel, stride, side_in):
    return {"c_in": c_in, "c_out": c_out, "kernel": kernel, "stride": stride, "side_in": side_in}


def conv_flops(spec) -> float:
    o = out_side(spec["side_in"], spec["stride"])
    return 2.0 * spec["c_in"] * spec["c_out"] * spec["kernel"] ** 2 * o * o


def bottleneck(c_in, c_out, width, stride, side_in):
    inner = min(c_in, width * c_out)
    return [conv_spec(c_in, inner, 1, 1, side_in), conv_spec(inner, c_out, 3, stride, side_in)]


def msdnet_plan(c: dict) -> dict:
    """The channel plan: stem specs, and per block its transitions, layers and head."""
    scales = len(c["stem_channels"])
    ch = list(c["stem_channels"])
    stem = []
    for s in range(scales):
        if s == 0:
            stem.append(conv_spec(1, ch[0], 3, 1, scale_side(0)))
        else:
            stem.append(conv_spec(ch[s - 1], ch[s], 3, 2, scale_side(s - 1)))
    active = 0
    blocks = []
    for b in range(len(c["block_layers"])):
        transition = []
        if b > 0:
            for s in range(active, scales):
                c_out = max(int(math.floor(ch[s] * c["reduction"])), 1)
                transition.append(conv_spec(ch[s], c_out, 1, 1, scale_side(s)))
                ch[s] = c_out
        layers = []
        first = c["block_first_scale"][b]
        for _ in range(c["block_layers"][b]):
            layer = []
            for s in range(first, scales):
                g = c["growth"][s]
                if s > active:
                    half = g // 2
                    down = bottleneck(ch[s - 1], half, c["bottleneck"][s - 1], 2, scale_side(s - 1))
                    normal = bottleneck(ch[s], g - half, c["bottleneck"][s], 1, scale_side(s))
                else:
                    down = None
                    normal = bottleneck(ch[s], g, c["bottleneck"][s], 1, scale_side(s))
                layer.append({"down": down, "normal": normal})
            layers.append(layer)
            active = first
            for s in range(active, scales):
                ch[s] += c["growth"][s]
        s0 = scale_side(scales - 1)
        h1 = conv_spec(ch[scales - 1], c["head_channels"], 3, 2, s0)
        h2 = conv_spec(c["head_channels"], c["head_channels"], 3, 2, out_side(s0, 2))
        blocks.append({
            "transition": transition,
            "layers": layers,
            "head_convs": [h1, h2],
            "head_linear": (c["head_channels"], c["classes"]),
        })
    return {"stem": stem, "blocks": blocks}


def msdnet_flops_per_exit(plan: dict) -> list[float]:
    stem = sum(conv_flops(s) for s in plan["stem"])
    total, out = 0.0, []
    for b, block in enumerate(plan["blocks"]):
        stage = sum(conv_flops(t) for t in block["transition"])
        for layer in block["layers"]:
            for sp in layer:
                for spec in (sp["down"] or []) + sp["normal"]:
                    stage += conv_flops(spec)
        if b == 0:
            stage += stem
        d_in, d_out = block["head_linear"]
        head = sum(conv_flops(h) for h in block["head_convs"]) + 2.0 * d_in * d_out
        total += stage + head
        out.append(total)
    return out


# --------------------------------------------------------------------------------------------
# MSDNet modules (attribute names = the Rust field names, so parameter names match the file)
# --------------------------------------------------------------------------------------------


class ConvBnRelu(nn.Module):
    def __init__(self, spec):
        super().__init__()
        k = spec["kernel"]
        self.conv = nn.Conv2d(spec["c_in"], spec["c_out"], k, stride=spec["stride"],
                              padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(spec["c_out"], eps=1e-5, momentum=0.1)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class ConvChain(nn.Module):
    def __init__(self, specs):
        super().__init__()
        self.convs = nn.ModuleList(ConvBnRelu(s) for s in specs)

    def forward(self, x):
        for c in self.convs:
            x = c(x)
        return x


class ScaleConv(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.down = ConvChain(p["down"]) if p["down"] is not None else None
        self.normal = ConvChain(p["normal"])

    def forward(self, finer, x):
        parts = [x]
        if self.down is not None and finer is not None:
            parts.append(self.down(finer))
        parts.append(self.normal(x))
        return torch.cat(parts, 1)


class MsdLayer(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.scales = nn.ModuleList(ScaleConv(s) for s in p)

    def forward(self, xs):
        offset = len(xs) - len(self.scales)
        out = []
        for j, sc in enumerate(self.scales):
            i = offset + j
            out.append(sc(xs[i - 1] if i > 0 else None, xs[i]))
        return out


class MsdBlock(nn.Module):
    def __init__(self, b):
        super().__init__()
        self.transitions = nn.ModuleList(ConvChain([t]) for t in b["transition"])
        self.layers = nn.ModuleList(MsdLayer(l) for l in b["layers"])


class Classifier(nn.Module):
    def __init__(self, b):
        super().__init__()
        d_in, d_out = b["head_linear"]
        self.convs = ConvChain(b["head_convs"])
        self.linear = nn.Linear(d_in, d_out)

    def forward(self, x):
        x = self.convs(x)
        return self.linear(x.mean(dim=(2, 3)))


class MsdNet(nn.Module):
    """State between stages: the list of active scales' feature maps, finest first."""

    def __init__(self, config: dict):
        super().__init__()
        plan = msdnet_plan(config)
        self.plan = plan
        self.stem = nn.ModuleList(ConvBnRelu(s) for s in plan["stem"])
        self.blocks = nn.ModuleList(MsdBlock(b) for b in plan["blocks"])
        self.heads = nn.ModuleList(Classifier(b) for b in plan["blocks"])

    def exits(self) -> int:
        return len(self.heads)

    def embed(self, images):
        xs = []
        for conv in self.stem:
            xs.append(conv(xs[-1] if xs else images))
        return xs

    def stage(self, s, xs):
        block = self.blocks[s]
        if len(block.transitions) > 0:
            xs = [t(x) for x, t in zip(xs, block.transitions)]
        for layer in block.layers:
            xs = layer(xs)
        return xs

    def exit_head(self, e, xs):
        return self.heads[e](xs[-1])

    @staticmethod
    def select(xs, rows):
        return [x.index_select(0, rows) for x in xs]


# --------------------------------------------------------------------------------------------
# ViT (mirror of crates/pcee-nn/src/arch/vit/model.rs)
# --------------------------------------------------------------------------------------------


class Attention(nn.Module):
    """burn's MultiHeadAttention without mask or dropout: softmax(q kᵀ / sqrt(d_head)) v."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.output = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads

        def split(y):
            return y.reshape(b, t, h, d // h).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        ctx = F.scaled_dot_product_attention(q, k, v)  # default scale 1/sqrt(d_head)
        return self.output(ctx.transpose(1, 2).reshape(b, t, d))


class VitBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1 = nn.LayerNorm(c["dim"], eps=1e-5)
        self.attention = Attention(c["dim"], c["heads"])
        self.norm2 = nn.LayerNorm(c["dim"], eps=1e-5)
        self.fc1 = nn.Linear(c["dim"], c["mlp_dim"])
        self.fc2 = nn.Linear(c["mlp_dim"], c["dim"])

    def forward(self, x):
        x = x + self.attention(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))  # exact erf GELU, as burn's gelu


class VitHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.LayerNorm(c["dim"], eps=1e-5)
        self.linear = nn.Linear(c["dim"], c["classes"])

    def forward(self, x):
        return self.linear(self.norm(x[:, 0]))


class Vit(nn.Module):
    """State between stages: the tokens [B, T, d], token 0 = class token."""

    def __init__(self, c: dict):
        super().__init__()
        p, d = c["patch"], c["dim"]
        tokens = (INPUT_SIDE // p) ** 2 + 1
        self.patch_embed = nn.Conv2d(1, d, p, stride=p, bias=True)
        self.class_token = nn.Parameter(torch.zeros(1, 1, d))
        self.positions = nn.Parameter(torch.zeros(1, tokens, d))
        self.blocks = nn.ModuleList(VitBlock(c) for _ in range(c["depth"]))
        self.heads = nn.ModuleList(VitHead(c) for _ in range(c["depth"]))

    def exits(self) -> int:
        return len(self.heads)

    def embed(self, images):
        x = self.patch_embed(images).flatten(2).transpose(1, 2)  # [B, 49, d]
        cls = self.class_token.expand(x.shape[0], -1, -1)
        return torch.cat([cls, x], 1) + self.positions

    def stage(self, s, x):
        return self.blocks[s](x)

    def exit_head(self, e, x):
        return self.heads[e](x)

    @staticmethod
    def select(x, rows):
        return x.index_select(0, rows)


def vit_flops_per_exit(c: dict) -> list[float]:
    t, d, m = (INPUT_SIDE // c["patch"]) ** 2 + 1, c["dim"], c["mlp_dim"]
    embed = 2.0 * (t - 1) * c["patch"] ** 2 * d
    block = 4 * 2.0 * t * d * d + 2 * 2.0 * t * t * d + 2 * 2.0 * t * d * m
    head = 2.0 * d * c["classes"]
    return [embed + (s + 1) * (block + head) for s in range(c["depth"])]


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def read_card(weights: Path) -> dict:
    card_path = weights.with_suffix(".json")
    try:
        card = json.loads(card_path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{card_path}: no model card; expected the .json written beside {weights}")
    except json.JSONDecodeError as e:
        raise ModelError(f"{card_path}: malformed model card ({e})")
    if card.get("format") != "pcee-model" or card.get("version") != 1:
        raise ModelError(f"{card_path}: expected format \"pcee-model\" version 1")
    return card


def build(card: dict, card_path: Path) -> nn.Module:
    arch = card.get("arch")
    if arch == "msdnet":
        net = MsdNet(card)
        flops = msdnet_flops_per_exit(net.plan)
    elif arch == "vit":
        net = Vit(card)
        flops = vit_flops_per_exit(card)
    else:
        raise ModelError(f"{card_path}: unknown arch {arch!r}; expected msdnet or vit")
    theirs = card.get("flops_per_exit", [])
    if len(theirs) != len(flops) or any(abs(a - b) > 1e-9 * max(abs(a), 1) for a, b in zip(flops, theirs)):
        raise ModelError(f"{card_path}: flops_per_exit {theirs} disagrees with this plan's {flops}; "
                         "the PyTorch plan has drifted from crates/pcee-nn")
    return net


def load_model(weights) -> nn.Module:
    """The network of `weights` (.safetensors with its .json card), weights loaded, eval mode."""
    weights = Path(weights)
    card = read_card(weights)
    net = build(card, weights.with_suffix(".json"))
    try:
        tensors = load_file(str(weights))
    except Exception as e:  # safetensors raises its own error types
        raise ModelError(f"{weights}: cannot read weights ({e})")
    linears = {n for n, m in net.named_modules() if isinstance(m, nn.Linear)}
    state = {}
    for name, t in tensors.items():
        module, _, leaf = name.rpartition(".")
        leaf = {"gamma": "weight", "beta": "bias"}.get(leaf, leaf)
        if module in linears and leaf == "weight":
            t = t.t()  # burn: [d_in, d_out]; torch: [d_out, d_in]
        state[f"{module}.{leaf}" if module else leaf] = t.contiguous()
    own = net.state_dict()
    for k, v in own.items():
        if k.endswith("num_batches_tracked"):
            state[k] = v
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ModelError(f"{weights}: weights do not match the card (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]})")
    for k, v in state.items():
        if own[k].shape != v.shape:
            raise ModelError(f"{weights}: tensor {k} has shape {list(v.shape)}, expected {list(own[k].shape)}")
    net.load_state_dict(state, strict=True)
    net.eval()
    net.card = card
    return net
