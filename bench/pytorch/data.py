"""Fashion-MNIST test images for the PyTorch side, exactly as crates/pcee-nn/src/data feeds them:
IDX files (gzip-compressed or not) from /usr/share/datasets/fashion-mnist (or --data-dir),
pixels p → (p / 255 − 0.2860) / 0.3530 in float32, shape [N, 1, 28, 28]. Only the test split
(the t10k files, in file order) is needed here: `pcee logits/infer --split test --limit N` take
its first N images. Used by agree.py and bench.py; not run on its own.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
PIXEL_MEAN = np.float32(0.2860)
PIXEL_STD = np.float32(0.3530)


class DataError(Exception):
    """A missing or malformed data file (message names it)."""


def _read_idx(path: Path, rank: int) -> np.ndarray:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: not found; install the Debian package dataset-fashion-mnist "
                        "or pass --data-dir")
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 + 4 * rank or raw[:4] != bytes([0, 0, 8, rank]):
        raise DataError(f"{path}: magic number {raw[:4].hex()}; expected 000008{rank:02x} "
                        "(unsigned bytes, rank {rank})")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path}: {data.size} bytes of data; expected {int(np.prod(dims))} for {dims}")
    return data.reshape(dims)


def _find(directory: Path, name: str) -> Path:
    gz = directory / f"{name}.gz"
    return gz if gz.exists() else directory / name


def load_test(data_dir=None, limit=None):
    """(images float32 [N, 1, 28, 28] normalised, labels int64 [N]) of the first `limit` test images."""
    d = Path(data_dir or DEFAULT_DATA_DIR)
    images = _read_idx(_find(d, "t10k-images-idx3-ubyte"), 3)
    labels = _read_idx(_find(d, "t10k-labels-idx1-ubyte"), 1)
    if images.shape[1:] != (28, 28) or images.shape[0] != labels.shape[0]:
        raise DataError(f"{d}: images {images.shape} and labels {labels.shape}; expected [N, 28, 28] and [N]")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = (images.astype(np.float32) / np.float32(255.0) - PIXEL_MEAN) / PIXEL_STD
    return x.reshape(-1, 1, 28, 28).astype(np.float32), labels.astype(np.int64)
