"""The logits-only path: you already saved every exit's logits (numpy.savez, as in the README);
calibrate PCEE on the validation logits, look at each exit's reliability diagram, evaluate the
policy on test logits at several δ without recalibrating, compare methods, and save the policy
file that `pcee evaluate` (and `Policy.load`) reads.

    pip install ./bindings/python
    python examples/python/calibrate_from_logits.py \
        [--val examples/fashion-mnist/val.npz] [--test examples/fashion-mnist/test.npz] \
        [--delta 0.9] [--policy-out policy.json]

Needs numpy and pcee only.
"""

import argparse

import numpy as np

import pcee


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--val", default="examples/fashion-mnist/val.npz")
    parser.add_argument("--test", default="examples/fashion-mnist/test.npz")
    parser.add_argument("--delta", type=float, default=0.9)
    parser.add_argument("--policy-out", default="policy.json")
    args = parser.parse_args()

    # logits [exits, samples, classes], labels [samples], flops [exits] (cumulative) or None
    logits, labels, flops = pcee.read_logits(args.val)
    print(f"validation: {logits.shape[0]} exits, {logits.shape[1]} samples, {logits.shape[2]} classes")
    for l, d in enumerate(pcee.reliability_diagrams(logits, labels, bins=10)):
        print(f"  exit {l}: accuracy {d['overall_accuracy']:.3f}, confidence "
              f"{d['overall_confidence']:.3f}, ECE {d['ece']:.4f} ({d['regime']})")

    # The arrays could come from anywhere (a torch model's outputs, a JAX run): pass them in.
    policy = pcee.calibrate(logits, labels, flops, method="pcee", bins=10, delta=args.delta,
                            source=args.val)
    policy.save(args.policy_out)
    print(f"\n{policy} -> {args.policy_out}")

    test = pcee.read_logits(args.test)
    print("\n δ      accuracy  control error  FLOPs (% of full)  exit fractions")
    for delta in [0.8, 0.85, args.delta, 0.95]:
        r = pcee.evaluate(policy, *test, delta=delta)
        print(f" {delta:<5}  {r['accuracy']:.4f}    {r['control_error']:+.4f}        "
              f"{r['flops_fraction']:6.1%}             {np.round(r['exit_fractions'], 3).tolist()}")

    # Several methods over a δ grid: the paper's curves as numbers.
    rows = pcee.sweep(args.val, test, methods="confidence,pcee,pcee-ws,oracle", deltas="0.8:0.95:0.05")
    print("\n method       δ      accuracy  FLOPs (% of full)")
    for m, d, a, f in zip(rows["method"], rows["delta"], rows["accuracy"], rows["flops_fraction"]):
        print(f" {m:<11}  {d:<5}  {a:.4f}    {f:6.1%}")

    # In an inference loop: after exit head l gives logits [batch, classes], who stops?
    batch = test[0][0, :8]
    print(f"\nexit 0, first 8 test samples, stop: {policy.stops(0, batch).tolist()}")
    print(f"then: pcee evaluate --policy {args.policy_out} --test {args.test} --json")


if __name__ == "__main__":
    main()
