"""`Policy.stops` on a batch: the same decision as one sample at a time, the rule of
docs/design.md §3 worked out again in numpy, and the outcome `pcee.evaluate` reports when an
inference loop exits every sample where `stops` says."""

import numpy as np
import pytest

import pcee
from conftest import TEST, VAL

TEST_LOGITS, TEST_LABELS, TEST_FLOPS = pcee.read_logits(TEST)

POLICIES = {
    "pcee": dict(method="pcee"),
    "pcee-width": dict(method="pcee", binning="width"),
    "pcee-ws": dict(method="pcee-ws", window=2),
    "confidence": dict(method="confidence", delta=0.8),
    "tempered": dict(method="pcee", temperature=True),
    "lcb": dict(method="pcee-lcb"),
    "msdnet-budget": dict(method="msdnet-budget", budget_flops=8000000),
}


@pytest.fixture(scope="module", params=sorted(POLICIES))
def policy(request):
    return pcee.calibrate(VAL, **POLICIES[request.param])


def softmax_max(z):
    """Largest softmax probability per row, computed stably in float64 (§3)."""
    z = z.astype(np.float64)
    return 1.0 / np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1)


def test_a_batch_decides_as_one_sample_at_a_time(policy):
    for exit in range(policy.exits):
        batch = TEST_LOGITS[exit, :300]
        together = policy.stops(exit, batch)
        assert together.dtype == np.bool_ and together.shape == (300,)
        alone = [policy.stops(exit, row[None, :])[0] for row in batch]
        assert together.tolist() == alone
        assert policy.stops(exit, batch, delta=0.7).tolist() == policy.with_delta(0.7).stops(exit, batch).tolist()


def test_the_last_exit_always_stops(policy):
    assert policy.stops(policy.exits - 1, TEST_LOGITS[-1]).all()


def test_confidence_thresholding_is_softmax_max_at_least_delta():
    policy = pcee.calibrate(VAL, method="confidence", delta=0.8)
    for exit in range(policy.exits - 1):
        z = TEST_LOGITS[exit]
        assert policy.stops(exit, z).tolist() == (softmax_max(z) >= 0.8).tolist()


def test_pcee_fires_where_the_bins_validation_accuracy_reaches_delta():
    policy = pcee.calibrate(VAL, method="pcee", binning="width", bins=10, delta=0.9)
    for exit, d in enumerate(policy.diagrams()[:-1]):
        conf = softmax_max(TEST_LOGITS[exit])
        b = np.minimum(np.floor(conf * 10), 9).astype(int)  # equal-width bin, 1.0 in the last
        fires = (d["counts"] > 0) & (np.nan_to_num(d["accuracy"], nan=0.0) >= 0.9)
        assert policy.stops(exit, TEST_LOGITS[exit]).tolist() == fires[b].tolist()


def exit_loop(policy, logits):
    """An early-exit loop over exits: samples that stop leave, the others go on (batch shrinks)."""
    exits = np.full(logits.shape[1], -1)
    alive = np.arange(logits.shape[1])
    for exit in range(policy.exits):
        stop = policy.stops(exit, logits[exit, alive])
        exits[alive[stop]] = exit
        alive = alive[~stop]
    assert alive.size == 0
    return exits


def test_an_exit_loop_on_stops_gives_the_outcome_of_evaluate(policy):
    exits = exit_loop(policy, TEST_LOGITS)
    samples = np.arange(exits.size)
    correct = TEST_LOGITS[exits, samples].argmax(axis=1) == TEST_LABELS
    report = pcee.evaluate(policy, TEST_LOGITS, TEST_LABELS, TEST_FLOPS)
    assert report["accuracy"] == pytest.approx(correct.mean(), abs=1e-12)
    assert report["mean_flops"] == pytest.approx(TEST_FLOPS[exits].mean(), rel=1e-12)
    fractions = np.bincount(exits, minlength=policy.exits) / exits.size
    assert np.allclose(report["exit_fractions"], fractions, rtol=0, atol=1e-12)


def test_stops_takes_views_lists_other_floats_and_empty_batches():
    policy = pcee.calibrate(VAL, method="pcee")
    z = TEST_LOGITS[0, :64]
    expected = policy.stops(0, z).tolist()
    assert policy.stops(0, np.asfortranarray(z)).tolist() == expected  # not C-contiguous
    strided = TEST_LOGITS[0, :128:2]  # every other row: a view with gaps
    assert policy.stops(0, strided).tolist() == policy.stops(0, np.ascontiguousarray(strided)).tolist()
    assert policy.stops(0, z.tolist()).tolist() == expected

    class Tensorish:  # what a torch CPU tensor offers numpy: __array__
        def __array__(self, dtype=None, copy=None):
            return z if dtype is None else z.astype(dtype, copy=False)

    assert policy.stops(0, Tensorish()).tolist() == expected
    assert policy.stops(0, z.astype(np.float64)).tolist() == expected  # exactly float32 values
    assert policy.stops(0, np.zeros((0, 10), np.float32)).shape == (0,)


@pytest.mark.parametrize(
    "exit,logits,message",
    [
        (4, np.zeros((2, 10), np.float32), "exit: 4; expected an exit index from 0 to 3 (the policy has 4 exits)"),
        (-1, np.zeros((2, 10), np.float32), "exit: -1; expected an exit index from 0 to 3 (the policy has 4 exits)"),
        (0, np.zeros(10, np.float32), "logits: has shape [10]; expected [batch, classes], one exit head's logits"),
        (0, np.zeros((2, 0), np.float32), "logits: has no classes (shape [2, 0]); expected at least 1"),
        (
            0,
            np.zeros((2, 7), np.float32),
            "logits: has 7 classes but the policy was calibrated on 10; expected logits of the network the policy was calibrated for",
        ),
    ],
)
def test_stops_refuses_what_is_not_one_exit_heads_batch(exit, logits, message):
    policy = pcee.calibrate(VAL, method="pcee")
    with pytest.raises(ValueError) as err:
        policy.stops(exit, logits)
    assert str(err.value) == message
    with pytest.raises(ValueError, match=r"^delta: 2 is not a valid target accuracy"):
        policy.stops(0, TEST_LOGITS[0, :4], delta=2.0)
