"""PCEE in your own PyTorch inference loop: train a small 3-exit CNN on Fashion-MNIST, calibrate
PCEE on its validation logits with pcee, then run the test set with real early exit — after each
exit head, `policy.stops(exit, logits)` says which samples leave, and only the others go on
through the next stage (the batch shrinks).

    pip install ./bindings/python torch
    python examples/python/pytorch_early_exit.py [--delta 0.9] [--epochs 1] [--data-dir DIR]

Data: the Debian package `dataset-fashion-mnist` (IDX files in /usr/share/datasets/fashion-mnist);
55 000 training images, 5 000 held out for validation (fixed seed), the 10 000 test images.
Prints the early-exit run's accuracy, mean FLOPs and exit fractions, the same numbers from
`pcee.evaluate` on the full network's logits (the offline evaluation of the same rule), and the
wall-clock time of both passes (best of 2; the ratio is the measured speed-up, beside the ideal
one, full FLOPs / mean FLOPs). Writes the policy file (`--policy-out`), the one `pcee evaluate`
and `pcee.Policy.load` read. Torch is not needed by pcee itself, only by this example.
"""

import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import pcee

CHANNELS = [16, 32, 64]  # stage s: conv 3×3 (stride 2 after stage 0), BatchNorm, ReLU
SIDES = [28, 14, 7]      # output side of each stage
POOL = 4                 # each exit head: average pool to 4×4, then linear
CLASSES = 10


class MultiExitCNN(nn.Module):
    """Three conv stages, an exit head (4×4 average pool + linear) after each."""

    def __init__(self):
        super().__init__()
        ins = [1] + CHANNELS[:-1]
        self.stages = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, stride=1 if s == 0 else 2, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            )
            for s, (c_in, c_out) in enumerate(zip(ins, CHANNELS))
        )
        self.heads = nn.ModuleList(nn.Linear(c * POOL * POOL, CLASSES) for c in CHANNELS)

    def stage(self, s, x):
        return self.stages[s](x)

    def head(self, s, h):
        return self.heads[s](F.adaptive_avg_pool2d(h, POOL).flatten(1))

    def forward(self, x):
        """Every exit's logits, a list of [batch, classes]."""
        out = []
        for s in range(len(self.stages)):
            x = self.stage(s, x)
            out.append(self.head(s, x))
        return out


def cumulative_flops():
    """FLOPs per image up to and including each exit head: 2 per multiply-add of the convs and
    the heads' linear layers (pooling and BatchNorm not counted)."""
    ins, total, flops = [1] + CHANNELS[:-1], 0, []
    for c_in, c_out, side in zip(ins, CHANNELS, SIDES):
        total += 2 * 9 * c_in * c_out * side * side
        flops.append(total + 2 * c_out * POOL * POOL * CLASSES)
    return np.array(flops, dtype=np.float64)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, prefix):
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(((x.astype(np.float32) / 255.0) - 0.286) / 0.353).unsqueeze(1)
    return x, torch.from_numpy(y.astype(np.int64))


def train(net, x, y, epochs, batch=128):
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    net.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            rows = order[i: i + batch]
            loss = sum(F.cross_entropy(z, y[rows]) for z in net(x[rows])) / 3
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}/{epochs}: last batch loss {loss.item():.3f}")
    net.eval()


@torch.inference_mode()
def all_logits(net, x, batch=1000):
    """The full network's logits of every exit: float32 [exits, samples, classes]."""
    parts = [torch.stack(net(x[i: i + batch])) for i in range(0, len(x), batch)]
    return torch.cat(parts, dim=1).numpy()


@torch.inference_mode()
def early_exit(net, policy, x, batch=256):
    """Real early exit: per sample, the exit it left at and its prediction there."""
    exits = np.empty(len(x), dtype=np.int64)
    predictions = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), batch):
        h = x[start: start + batch]
        alive = np.arange(start, start + len(h))  # the samples still in the batch
        for s in range(policy.exits):
            h = net.stage(s, h)
            logits = net.head(s, h)
            stop = policy.stops(s, logits.numpy())  # numpy bool [len(alive)], no copy in
            exits[alive[stop]] = s
            predictions[alive[stop]] = logits[torch.from_numpy(stop)].argmax(dim=1).numpy()
            keep = torch.from_numpy(~stop)
            h, alive = h[keep], alive[~stop]  # only the others go on
            if len(alive) == 0:
                break
    return exits, predictions


def best_of(rounds, run):
    """(the fastest of `rounds` runs in seconds, the last run's result)."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--delta", type=float, default=0.9)
    parser.add_argument("--policy-out", default="pytorch-policy.json")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)

    x, y = load(args.data_dir, "train")
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(x)))
    train_rows, val_rows = order[:55_000], order[55_000:]
    net = MultiExitCNN()
    train(net, x[train_rows], y[train_rows], args.epochs)
    flops = cumulative_flops()

    val_logits = all_logits(net, x[val_rows])
    policy = pcee.calibrate(val_logits, y[val_rows].numpy(), flops, method="pcee", delta=args.delta,
                            source="pytorch_early_exit.py validation logits")
    policy.save(args.policy_out)
    for l, d in enumerate(policy.diagrams()):
        print(f"exit {l}: validation accuracy {d['overall_accuracy']:.3f}, ECE {d['ece']:.4f} ({d['regime']})")

    x_test, y_test = load(args.data_dir, "t10k")
    full_s, (test_logits,) = best_of(2, lambda: (all_logits(net, x_test, batch=256),))
    early_s, (exits, predictions) = best_of(2, lambda: early_exit(net, policy, x_test))

    labels = y_test.numpy()
    offline = pcee.evaluate(policy, test_logits, labels, flops)
    fractions = np.bincount(exits, minlength=policy.exits) / len(exits)
    print(f"\nPCEE at δ = {args.delta} on {len(labels)} test images ({args.policy_out}):")
    print(f"  early-exit loop : accuracy {np.mean(predictions == labels):.4f}, mean FLOPs "
          f"{flops[exits].mean():.4g} ({flops[exits].mean() / flops[-1]:.1%} of full), exits "
          f"{np.round(fractions, 3).tolist()}, {early_s:.2f} s")
    print(f"  pcee.evaluate   : accuracy {offline['accuracy']:.4f}, mean FLOPs "
          f"{offline['mean_flops']:.4g} ({offline['flops_fraction']:.1%} of full), exits "
          f"{np.round(offline['exit_fractions'], 3).tolist()}")
    print(f"  full network    : accuracy {np.mean(test_logits[-1].argmax(axis=1) == labels):.4f}, "
          f"{full_s:.2f} s (measured speed-up {full_s / early_s:.2f}, ideal "
          f"{1 / offline['flops_fraction']:.2f})")
    agree = []
    for l in range(policy.exits):
        reached = exits >= l  # the samples the loop ran through exit head l
        offline_stop = policy.stops(l, test_logits[l][reached])
        agree.append(f"{int(np.sum(offline_stop == (exits[reached] == l)))}/{int(reached.sum())}")
    print(f"  decisions at each exit that the loop and the full-batch logits agree on: {agree}")

if __name__ == "__main__":
    main()
