"""pcee: Performance Control Early Exiting (Mofakhami et al. 2024, arXiv:2412.19325) from Python.

The pcee Rust core on numpy arrays: per-exit reliability diagrams on validation logits, exit
policies (confidence thresholding, PCEE, PCEE-WS, PCEE-LCB, MSDNet's budget thresholds), their
evaluation, sweeps and trials, and the same policy files as the ``pcee`` command line. Every
decision is the core's code, the one the CLI runs.

Shapes: logits ``[exits, samples, classes]`` (float32 or float64), labels ``[samples]`` (any
integer dtype), cumulative FLOPs ``[exits]`` (float64; the cost of the network up to and
including each exit head; without them cost is counted in exits, 1, 2, ..., L). Accuracies, δ
and fractions are numbers in [0, 1].

In an inference loop, after exit head ``l`` has produced ``logits`` ``[batch, classes]``::

    policy = pcee.Policy.load("policy.json")
    stop = policy.stops(l, logits)          # numpy bool [batch]

Errors are ``ValueError`` (bad arguments or data) or ``OSError`` (a file that cannot be read or
written), with the CLI's one-line messages.
"""

from ._pcee import (
    MAX_BINS,
    POLICY_FORMAT,
    POLICY_VERSION,
    Policy,
    calibrate,
    evaluate,
    read_logits,
    reliability_diagrams,
    sweep,
    trials,
)

__all__ = [
    "MAX_BINS",
    "POLICY_FORMAT",
    "POLICY_VERSION",
    "Policy",
    "calibrate",
    "evaluate",
    "read_logits",
    "reliability_diagrams",
    "sweep",
    "trials",
]
