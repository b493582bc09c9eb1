"""The exit rule of a pcee policy file (docs/design.md §3, §4), for the PyTorch early-exit runs.

A policy file stores per-exit reliability diagrams, not thresholds; at a target δ:
- `confidence`: exit l fires when max softmax ≥ δ;
- `pcee` / `pcee-ws` (window w): with b the bin of c, exit l fires when bin b is non-empty and
  Σ correct / Σ counts over bins b−w..b+w (clipped; w = 0 for pcee) is ≥ δ. The bin: for
  equal-width bins (policy versions 1–2, or `"binning": "width"`) b = min(floor(c·M), M−1); for
  equal-mass bins (version 3, `"binning": "mass"`, each exit's `edges` [M + 1]) the b with
  edges[b] ≤ c < edges[b+1] (crates/pcee/src/bins: the number of inner edges ≤ c).
The last exit always takes the rest. Confidence is computed in float64, as in the Rust core
(crates/pcee/src/score.rs). Other methods of the core (pcee-lcb, msdnet-budget, …) and policies
with per-exit temperatures are refused with a clear error. Used by bench.py and agree.py; not run on its own.
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
        if p.get("format") != "pcee-policy" or p.get("version") not in (1, 2, 3):
            raise PolicyError(f"{path}: expected format \"pcee-policy\" version 1 to 3")
        if p.get("temperatures") is not None:
            raise PolicyError(f"{path}: per-exit temperatures are not reimplemented here; "
                              "expected a policy calibrated without --temperature")
        self.method = p["method"]
        self.delta = float(p["delta"] if delta is None else delta)
        self.bins = int(p["bins"])
        exits = p["exits"]
        self.exits = len(exits)
        self.flops = [e["flops"] for e in exits]
        binning = p.get("binning", "width")
        if binning not in ("width", "mass"):
            raise PolicyError(f"{path}: binning {binning!r}; expected width or mass")
        # inner edges per exit (mass), or None (equal width)
        self.inner_edges = (torch.tensor([e["edges"][1:-1] for e in exits], dtype=torch.float64)
                            if binning == "mass" else None)
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
        return self.table[e][self.bin_of(e, conf)]

    def bin_of(self, e: int, conf: torch.Tensor) -> torch.Tensor:
        """[B] long: the bin of each float64 confidence at exit e (module documentation)."""
        if self.inner_edges is None:
            return torch.clamp(torch.floor(conf * self.bins), 0, self.bins - 1).long()
        # number of inner edges ≤ c (NaN → 0, like the core's partition_point)
        return (self.inner_edges[e][None, :] <= conf[:, None]).sum(dim=1)
