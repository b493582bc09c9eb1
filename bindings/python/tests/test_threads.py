"""`Policy.stops` and `pcee.evaluate` release the GIL: while one long call runs in a worker
thread, the main thread keeps running Python code. Were the GIL held, the main thread would
stall for the whole call (its longest pause would be about the call's duration)."""

import threading
import time

import numpy as np

import pcee


def longest_pause_during(call):
    """Runs `call` in a thread; returns (its duration, the main thread's longest pause between
    two loop turns from the thread's start to its end), in seconds."""
    finished = {}

    def worker():
        t0 = time.perf_counter()
        call()
        finished["duration"] = time.perf_counter() - t0

    thread = threading.Thread(target=worker)
    last, longest = time.perf_counter(), 0.0
    thread.start()
    while thread.is_alive():
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    longest = max(longest, time.perf_counter() - last)
    thread.join()
    return finished["duration"], longest


def test_stops_releases_the_gil():
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((4_000, 10_000), dtype=np.float32)  # 160 MB of logits
    policy_10k = pcee.calibrate(
        rng.standard_normal((2, 50, 10_000)).astype(np.float32), rng.integers(0, 10_000, 50)
    )
    duration, pause = longest_pause_during(lambda: policy_10k.stops(0, batch))
    assert duration > 0.05, f"the call took {duration:.3f} s: too short to tell"
    assert pause < duration / 2, f"main thread paused {pause:.3f} s during a {duration:.3f} s call"


def test_evaluate_releases_the_gil():
    rng = np.random.default_rng(1)
    exits, samples, classes = 4, 200_000, 100
    logits = rng.standard_normal((exits, samples, classes), dtype=np.float32)
    labels = rng.integers(0, classes, samples)
    policy = pcee.calibrate(logits[:, :1000], labels[:1000])
    duration, pause = longest_pause_during(lambda: pcee.evaluate(policy, logits, labels))
    assert duration > 0.05, f"the call took {duration:.3f} s: too short to tell"
    assert pause < duration / 2, f"main thread paused {pause:.3f} s during a {duration:.3f} s call"
