"""Trains a tiny 3-exit classifier on Fashion-MNIST with numpy alone and saves per-exit logits
of a validation and a test subset, the example files of pcee's README and end-to-end tests.

    python3 make_logits.py [--data-dir /usr/share/datasets/fashion-mnist]

Data: the Debian package `dataset-fashion-mnist` (IDX files, MIT licence). The 60 000 training
images are split with a fixed seed into 55 000 for training and 5 000 for validation (never
trained on); this script keeps the first 2 000 validation images (val.npz, numpy.savez) and the
first 3 000 test images (test.npz, numpy.savez_compressed) so the two files stay under 1 MB.

Network (a multi-exit MLP; each exit head is a linear layer on its block's output):
    block 0: 784 → 12 ReLU                 exit head 0: 12 → 10
    block 1: 12 → 256 ReLU → 256 ReLU      exit head 1: 256 → 10
    block 2: 256 → 512 ReLU                exit head 2: 512 → 10
trained jointly (mean of the three cross-entropies), Adam, 10 epochs, batch 128, seed 0.
FLOPs are counted analytically: 2 per multiply-add, cumulative per exit, heads included.
"""
import argparse
import gzip
import os

import numpy as np

SIZES = [[(784, 12)], [(12, 256), (256, 256)], [(256, 512)]]
CLASSES = 10


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz")).reshape(-1, 784)
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    return x.astype(np.float32) / 255.0, y.astype(np.int64)


def init(rng):
    params = []
    for block in SIZES:
        layers = [(rng.normal(0, np.sqrt(2 / i), (i, o)).astype(np.float32), np.zeros(o, np.float32)) for i, o in block]
        width = block[-1][1]
        head = (rng.normal(0, np.sqrt(1 / width), (width, CLASSES)).astype(np.float32), np.zeros(CLASSES, np.float32))
        params.append((layers, head))
    return params


def forward(params, x):
    """Returns per-exit logits and the activations needed for backprop."""
    h, cache, logits = x, [], []
    for layers, (wh, bh) in params:
        acts = []
        for w, b in layers:
            acts.append(h)
            h = np.maximum(h @ w + b, 0)
        cache.append((acts, h))
        logits.append(h @ wh + bh)
    return logits, cache


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def backward(params, cache, logits, y):
    grads, dh_next = [None] * len(params), None
    n = len(y)
    for e in reversed(range(len(params))):
        layers, (wh, _) = params[e]
        acts, h = cache[e]
        dz = softmax(logits[e])
        dz[np.arange(n), y] -= 1
        dz /= n * len(params)
        dh = dz @ wh.T + (dh_next if dh_next is not None else 0)
        head_grad = (h.T @ dz, dz.sum(0))
        layer_grads = [None] * len(layers)
        out = h
        for j in reversed(range(len(layers))):
            w, _ = layers[j]
            dpre = dh * (out > 0)
            layer_grads[j] = (acts[j].T @ dpre, dpre.sum(0))
            dh = dpre @ w.T
            out = acts[j]
        grads[e] = (layer_grads, head_grad)
        dh_next = dh
    return grads


def flat(tree):
    out = []
    for layers, head in tree:
        for w, b in layers + [head]:
            out += [w, b]
    return out


def train(x, y, rng, epochs=10, batch=128, lr=1e-3):
    params = init(rng)
    p = flat(params)
    m = [np.zeros_like(a) for a in p]
    v = [np.zeros_like(a) for a in p]
    t = 0
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            idx = order[start:start + batch]
            logits, cache = forward(params, x[idx])
            g = flat(backward(params, cache, logits, y[idx]))
            t += 1
            for a, ga, ma, va in zip(p, g, m, v):
                ma *= 0.9; ma += 0.1 * ga
                va *= 0.999; va += 0.001 * ga * ga
                a -= lr * (ma / (1 - 0.9 ** t)) / (np.sqrt(va / (1 - 0.999 ** t)) + 1e-8)
        print(f"epoch {epoch + 1}/{epochs} done")
    return params


def flops():
    total, out = 0, []
    for block in SIZES:
        total += sum(2 * i * o for i, o in block)
        out.append(total + 2 * block[-1][1] * CLASSES)
    return np.array(out, dtype=np.float64)


def save(path, params, x, y, compressed):
    logits = np.stack(forward(params, x)[0]).astype(np.float32)
    accuracy = (logits.argmax(axis=2) == y).mean(axis=1)
    print(f"{path}: {logits.shape}, accuracy per exit {np.round(accuracy, 4)}")
    (np.savez_compressed if compressed else np.savez)(path, logits=logits, labels=y, flops=flops())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x, y = load(args.data_dir, "train")
    order = rng.permutation(len(x))
    train_idx, val_idx = order[:55000], order[55000:]
    params = train(x[train_idx], y[train_idx], rng)
    save("val.npz", params, x[val_idx[:2000]], y[val_idx[:2000]].astype(np.uint8), compressed=False)
    xt, yt = load(args.data_dir, "test")
    save("test.npz", params, xt[:3000], yt[:3000], compressed=True)


if __name__ == "__main__":
    main()
