"""The package gives the CLI's results on the committed example logits (examples/fashion-mnist):
the same policy files, byte for byte, and the same `evaluate --json` objects; a policy saved
from Python is read by the CLI and the reverse."""

import csv
import json

import numpy as np
import pytest

import pcee
from conftest import TEST, VAL

# (CLI flags, the same as keyword arguments)
CALIBRATIONS = [
    (["--method", "pcee"], {"method": "pcee"}),
    (["--method", "confidence", "--delta", "0.85"], {"method": "confidence", "delta": 0.85}),
    (
        ["--method", "pcee-ws", "--binning", "width", "--window", "2", "--temperature"],
        {"method": "pcee-ws", "binning": "width", "window": 2, "temperature": True},
    ),
    (
        ["--method", "pcee-lcb", "--alpha", "0.1", "--correction", "bonferroni"],
        {"method": "pcee-lcb", "alpha": 0.1, "correction": "bonferroni"},
    ),
    (["--method", "pcee", "--budget-flops", "8000000"], {"method": "pcee", "budget_flops": 8000000}),
    (
        ["--method", "msdnet-budget", "--budget-flops", "8000000"],
        {"method": "msdnet-budget", "budget_flops": 8000000},
    ),
    (["--method", "pcee", "--target-accuracy", "0.86"], {"method": "pcee", "target_accuracy": 0.86}),
    (
        ["--method", "pcee", "--target-accuracy", "0.85", "--guarantee", "ucb", "--seed", "3"],
        {"method": "pcee", "target_accuracy": 0.85, "guarantee": "ucb", "seed": 3},
    ),
]


@pytest.mark.parametrize("flags,kwargs", CALIBRATIONS)
def test_calibrate_writes_the_clis_policy_file_byte_for_byte(cli, tmp_path, flags, kwargs):
    cli.ok("calibrate", "--val", VAL, *flags, "--output", tmp_path / "cli.json")
    pcee.calibrate(VAL, **kwargs).save(tmp_path / "py.json")
    assert (tmp_path / "py.json").read_bytes() == (tmp_path / "cli.json").read_bytes()


@pytest.mark.parametrize("flags,kwargs", CALIBRATIONS)
def test_evaluate_returns_the_clis_json(cli, tmp_path, flags, kwargs):
    policy_path = tmp_path / "cli.json"
    cli.ok("calibrate", "--val", VAL, *flags, "--output", policy_path)
    policy = pcee.Policy.load(policy_path)
    test = pcee.read_logits(TEST)
    for extra, delta in [((), None), (("--delta", "0.87"), 0.87), (("--delta", "0"), 0.0)]:
        expected = cli.evaluate(policy_path, TEST, *extra)
        assert pcee.evaluate(policy, TEST, delta=delta) == expected
        got = pcee.evaluate(policy, *test, delta=delta)  # the arrays, not the file
        assert got == expected
        assert list(got) == list(expected)  # the same fields in the same order


def test_a_policy_calibrated_on_arrays_is_read_by_the_cli(cli, tmp_path):
    logits, labels, flops = pcee.read_logits(VAL)
    policy = pcee.calibrate(logits, labels, flops, method="pcee-ws", delta=0.88)
    policy.save(tmp_path / "py.json")
    saved = json.loads((tmp_path / "py.json").read_text())
    assert saved["format"] == pcee.POLICY_FORMAT and saved["calibration"]["source"] == "numpy arrays"
    cli_result = cli.evaluate(tmp_path / "py.json", TEST)
    assert cli_result == pcee.evaluate(policy, TEST)
    # the same diagrams as calibrating the file with the CLI (only the provenance differs)
    cli.ok("calibrate", "--val", VAL, "--method", "pcee-ws", "--delta", "0.88", "--output", tmp_path / "cli.json")
    from_cli = json.loads((tmp_path / "cli.json").read_text())
    assert saved["exits"] == from_cli["exits"]


def test_a_cli_policy_round_trips_through_python(cli, tmp_path):
    cli.ok("calibrate", "--val", VAL, "--method", "pcee", "--output", tmp_path / "cli.json")
    policy = pcee.Policy.load(tmp_path / "cli.json")
    assert (policy.method, policy.delta, policy.exits, policy.samples) == ("pcee", 0.9, 4, 2000)
    assert policy.source == "val.npz" and policy.classes == 10
    policy.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "cli.json").read_bytes()
    moved = policy.with_delta(0.8)
    moved.save(tmp_path / "moved.json")
    assert cli.evaluate(tmp_path / "moved.json", TEST) == cli.evaluate(tmp_path / "cli.json", TEST, "--delta", "0.8")
    assert policy.delta == 0.9  # with_delta made a new policy


def test_sweep_gives_the_clis_sweep_csv(cli, tmp_path):
    deltas = "0.8:0.9:0.05"
    cli.ok("sweep", "--val", VAL, "--test", TEST, "--deltas", deltas, "--out", tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "sweep.csv")))
    got = pcee.sweep(VAL, pcee.read_logits(TEST), deltas=[0.8, 0.85, 0.9])
    assert got["method"] == [r["method"] for r in rows]
    for column in ["delta", "accuracy", "control_error", "mean_flops", "flops_fraction", "mean_exit"]:
        assert got[column].tolist() == [float(r[column]) for r in rows], column
    fractions = [[float(r[f"exit_fraction_{l}"]) for l in range(4)] for r in rows]
    assert got["exit_fractions"].tolist() == fractions


def test_trials_give_the_clis_trials_csv(cli, tmp_path):
    methods = "confidence,pcee+ts,pcee+ucb"
    args = ("--splits", "4", "--methods", methods, "--deltas", "0.85,0.9", "--seed", "7")
    cli.ok("trials", "--logits", TEST, *args, "--out", tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "trials.csv")))
    got = pcee.trials(TEST, splits=4, methods=methods.split(","), deltas="0.85,0.9", seed=7)
    assert got["method"] == [r["method"] for r in rows]
    for column in ["delta", "mean_accuracy", "p5_accuracy", "violation_rate", "mean_flops", "mean_policy_delta"]:
        assert got[column].tolist() == [float(r[column]) for r in rows], column
    assert got["accuracies"].shape == (len(rows), 4)
    assert np.allclose(got["accuracies"].mean(axis=1), got["mean_accuracy"], rtol=0, atol=1e-12)
    held = [("" if g is None else ("held" if g["held"] else "failed")) for g in got["guarantee"]]
    assert held == [r["guarantee"] for r in rows]


def test_evaluate_warns_on_the_calibration_data_however_it_is_saved(cli, tmp_path):
    """Issue 33, item 4: the CLI recognises the calibration data by what it holds, not by the
    file's bytes: re-saved compressed, in Fortran order, with an extra array, without flops."""
    policy = tmp_path / "policy.json"
    cli.ok("calibrate", "--val", VAL, "--method", "pcee", "--output", policy)
    with np.load(VAL) as data:
        arrays = {name: data[name] for name in data.files}
    forms = {
        "compressed.npz": lambda p: np.savez_compressed(p, **arrays),
        "fortran.npz": lambda p: np.savez(
            p, **{k: np.asfortranarray(v) for k, v in arrays.items()}
        ),
        "extra.npz": lambda p: np.savez(p, notes=np.arange(3), **arrays),
        "no-flops.npz": lambda p: np.savez(
            p, **{k: v for k, v in arrays.items() if k != "flops"}
        ),
    }
    for name, save in forms.items():
        path = tmp_path / name
        save(path)
        code, _, err = cli.run("evaluate", "--policy", policy, "--test", path, "--json")
        assert code == 0, err
        assert err.startswith(f"warning: {path}: holds the labels and logits of the calibration data"), (
            name,
            err,
        )
    code, _, err = cli.run("evaluate", "--policy", policy, "--test", TEST, "--json")
    assert code == 0 and "warning" not in err, err
