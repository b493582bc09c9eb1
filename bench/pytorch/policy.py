"""The exit rule of a pcee policy file (docs/design.md §3, §4), for the PyTorch early-exit runs.

A policy file stores per-exit reliability diagrams, not thresholds; at a target δ:
- `confidence`: exit l fires when max softmax ≥ δ;
- `pcee` / `pcee-ws` (window w): with b = min(floor(c·M), M−1), exit l fires when bin b is
  non-empty and Σ correct / Σ counts over bins b−w..b+w (clipped; w = 0 for pcee) is ≥ δ.
The last exit always takes the rest. Confidence is computed in float64, as in the Rust core
(crates/pcee/src/score.rs). Other methods of the core (pcee-lcb, msdnet-budget, …) are refused
with a clear error. Used by bench.py and agree.py; not run on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch


class PolicyError(Exception):
    """A policy file that cannot be used (message names it)."""


class Policy:
    def __init__(self, path, delta=None):
        path = Path(path)
        try:
            p = json.loads(path.read_text())
        except FileNotFoundError:
            raise PolicyError(f"{path}: not found; expected a policy written by pcee calibrate")
        if p.get("format") != "pcee-policy" or p.get("version") != 1:
            raise PolicyError(f"{path}: expected format \"pcee-policy\" version 1")
        self.method = p["method"]
        self.delta = float(p["delta"] if delta is None else delta)
        self.bins = int(p["bins"])
        exits = p["exits"]
        self.exits = len(exits)
        self.flops = [e["flops"] for e in exits]
        if self.method == "confidence":
            self.table = None
        elif self.method in ("pcee", "pcee-ws"):
            w = int(p.get("window", 1)) if self.method == "pcee-ws" else 0
            table = []
            for e in exits:
                n, k = e["counts"], e["correct"]
                row = []
                for b in range(self.bins):
                    lo, hi = max(0, b - w), min(self.bins - 1, b + w)
                    nn_, kk = sum(n[lo:hi + 1]), sum(k[lo:hi + 1])
                    row.append(n[b] > 0 and nn_ > 0 and kk / nn_ >= self.delta)
                table.append(row)
            self.table = torch.tensor(table, dtype=torch.bool)
        else:
            raise PolicyError(f"{path}: method {self.method!r} is not reimplemented here; "
                              "expected confidence, pcee or pcee-ws")

    def stops(self, e: int, logits: torch.Tensor) -> torch.Tensor:
        """[B] bool: which rows of exit e's logits [B, C] stop at exit e."""
        if e + 1 >= self.exits:
            return torch.ones(logits.shape[0], dtype=torch.bool)
        z = logits.double()
        conf = 1.0 / torch.exp(z - z.max(dim=1, keepdim=True).values).sum(dim=1)
        if self.table is None:
            return conf >= self.delta
        b = torch.clamp(torch.floor(conf * self.bins), 0, self.bins - 1).long()
        return self.table[e][b]
