"""Every malformed input of the CLI's bad-input lists (crates/pcee-cli/tests/cli.rs) raises the
documented exception with the CLI's message: the line after `error: `, with a flag (`--delta`)
named as the keyword (`delta`)."""

import json

import numpy as np
import pytest

import pcee
from conftest import FIXTURES, TEST, VAL

BAD_FILES = sorted(p.name for p in FIXTURES.iterdir() if p.name.startswith("bad_")) + [
    "make_fixtures.py",
    "missing.npz",
]
#: The files that cannot be opened at all: OSError; every other bad file is a ValueError.
UNREADABLE = {"missing.npz"}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_logits_file_raises_the_clis_message(cli, tmp_path, name):
    path = FIXTURES / name
    expected = cli.error("calibrate", "--val", path, "--method", "pcee", "--output", tmp_path / "p.json")
    assert expected.startswith(f"{path}: ")
    assert expected == cli.error("diagram", "--logits", path, "--out", tmp_path / "out")
    kind = OSError if name in UNREADABLE else ValueError
    for call in [
        lambda: pcee.read_logits(path),
        lambda: pcee.calibrate(path),
        lambda: pcee.reliability_diagrams(str(path)),
        lambda: pcee.evaluate(pcee.calibrate(VAL), path),
        lambda: pcee.sweep(VAL, path),
    ]:
        with pytest.raises(kind) as err:
            call()
        assert type(err.value) is kind and str(err.value) == expected
    assert list(tmp_path.iterdir()) == []


def test_bad_arrays_raise_the_message_of_the_same_arrays_in_a_file(cli, tmp_path):
    logits, labels, flops = pcee.read_logits(VAL)
    nan = logits.copy()
    nan[1, 7, 3] = np.nan
    cases = [
        (nan, labels, flops),
        (logits, labels + 10, flops),
        (logits, labels[:-1], flops),
        (logits, labels.astype(np.float64), flops),
        (logits.astype(np.int32), labels, flops),
        (logits[0], labels, flops),
        (logits[:1], labels, flops[:1]),
        (logits, labels, flops[::-1].copy()),
        (logits, labels, flops[:2]),
    ]
    for logits_, labels_, flops_ in cases:
        path = tmp_path / "bad.npz"
        np.savez(path, logits=logits_, labels=labels_, flops=flops_)
        expected = cli.error("diagram", "--logits", path, "--out", tmp_path / "out")
        with pytest.raises(ValueError) as err:
            pcee.calibrate(logits_, labels_, flops_)
        assert f"{path}: {err.value}" == expected
        with pytest.raises(ValueError) as err:
            pcee.evaluate(pcee.calibrate(VAL), logits_, labels_, flops_)
        assert f"{path}: {err.value}" == expected


def test_bad_arguments_raise_the_clis_message_with_the_keyword(cli, tmp_path):
    cases = [
        (["--delta", "1.5"], {"delta": 1.5}),
        (["--delta", "-0.1"], {"delta": -0.1}),
        (["--delta", "NaN"], {"delta": float("nan")}),
        (["--bins", "0"], {"bins": 0}),
        (["--bins", "4294967296"], {"bins": 4294967296}),
        (["--method", "fancy"], {"method": "fancy"}),
        (["--method", "oracle"], {"method": "oracle"}),
        (["--method", "pcee-lcb", "--alpha", "1"], {"method": "pcee-lcb", "alpha": 1.0}),
        (["--budget-flops", "2"], {"budget_flops": 2.0}),
        (["--target-accuracy", "1.5"], {"target_accuracy": 1.5}),
        (["--target-accuracy", "0.9999"], {"target_accuracy": 0.9999}),
        (["--target-accuracy", "0.99", "--guarantee", "ucb"], {"target_accuracy": 0.99, "guarantee": "ucb"}),
        (
            ["--target-accuracy", "0.9", "--guarantee", "crc", "--certify-fraction", "1.5"],
            {"target_accuracy": 0.9, "guarantee": "crc", "certify_fraction": 1.5},
        ),
    ]
    for flags, kwargs in cases:
        args = ["--method", "pcee", *flags] if "--method" not in flags else flags
        expected = cli.error("calibrate", "--val", VAL, *args, "--output", tmp_path / "p.json")
        flag = expected.split(":")[0]
        with pytest.raises(ValueError) as err:
            pcee.calibrate(VAL, **{"method": "pcee", **kwargs})
        assert str(err.value) == expected.replace(flag, flag[2:].replace("-", "_"), 1), flags
    with pytest.raises(ValueError, match=r"^method: msdnet-budget needs budget_flops; expected a budget"):
        pcee.calibrate(VAL, method="msdnet-budget")
    policy = pcee.calibrate(VAL)
    expected = cli.error("sweep", "--val", VAL, "--test", TEST, "--methods", "pcee,bogus", "--out", tmp_path / "o")
    with pytest.raises(ValueError) as err:
        pcee.sweep(VAL, TEST, methods="pcee,bogus")
    assert str(err.value) == expected.replace("--methods", "methods")
    with pytest.raises(ValueError) as err:
        pcee.evaluate(policy, TEST, delta=7.0)
    assert str(err.value) == "delta: 7 is not a valid target accuracy; expected a number in [0, 1]"
    for deltas in ["0.9:0.5:0.1", "0.5:1.5:0.1", [0.9, 0.9]]:
        with pytest.raises(ValueError, match=r"^deltas: "):
            pcee.sweep(VAL, TEST, deltas=deltas)
    assert list(tmp_path.iterdir()) == []


def test_bad_policy_files_raise_the_clis_message(cli, tmp_path):
    good = tmp_path / "good.json"
    cli.ok("calibrate", "--val", VAL, "--method", "pcee-ws", "--output", good)
    text = good.read_text()
    cases = {
        "other.json": text.replace("pcee-policy", "other-tool"),
        "newer.json": text.replace('"version": 3', '"version": 4'),
        "notjson.json": "{ not json",
        "method.json": text.replace('"pcee-ws"', '"oracle"'),
        "delta.json": text.replace('"delta": 0.9', '"delta": 7.0'),
        "empty.json": "",
    }
    for name, content in cases.items():
        (tmp_path / name).write_text(content)
    for name in [*cases, "absent.json"]:
        path = tmp_path / name
        expected = cli.error("evaluate", "--policy", path, "--test", TEST)
        kind = OSError if name == "absent.json" else ValueError
        with pytest.raises(kind) as err:
            pcee.Policy.load(path)
        assert type(err.value) is kind and str(err.value) == expected


def test_a_policy_for_another_network_is_refused(cli, tmp_path):
    two = tmp_path / "two.npz"
    np.savez(two, logits=np.zeros((2, 2, 3), np.float32), labels=np.array([0, 1]))
    cli.ok("calibrate", "--val", VAL, "--method", "pcee", "--output", tmp_path / "p.json")
    expected = cli.error("evaluate", "--policy", tmp_path / "p.json", "--test", two)
    policy = pcee.Policy.load(tmp_path / "p.json")
    with pytest.raises(ValueError) as err:
        pcee.evaluate(policy, two)
    assert f"{err.value} ({tmp_path / 'p.json'})" == expected
    with pytest.raises(ValueError) as err:
        pcee.evaluate(policy, *pcee.read_logits(two))
    assert f"{err.value} ({tmp_path / 'p.json'})" == expected.replace(str(two), "logits", 1)


def test_an_unwritable_policy_path_is_an_os_error(tmp_path):
    with pytest.raises(OSError, match=r"cannot write the file"):
        pcee.calibrate(VAL).save(tmp_path / "no" / "such" / "dir" / "p.json")
    assert list(tmp_path.iterdir()) == []


def test_data_arguments_are_one_file_or_arrays():
    logits, labels, flops = pcee.read_logits(VAL)
    with pytest.raises(ValueError, match=r"^labels: missing"):
        pcee.calibrate(logits)
    with pytest.raises(ValueError, match=r"^labels: given with a logits file"):
        pcee.calibrate(VAL, labels)
    with pytest.raises(ValueError, match=r"^logits: a tuple is"):
        pcee.calibrate((logits,))
    with pytest.raises(ValueError, match=r"^budget_flops: given with target_accuracy"):
        pcee.calibrate(VAL, budget_flops=2e5, target_accuracy=0.9)
    with pytest.raises(ValueError, match=r"^guarantee: needs target_accuracy"):
        pcee.calibrate(VAL, guarantee="crc")
    with pytest.raises(ValueError, match=r"^guarantee: unknown guarantee 'x'; expected crc or ucb$"):
        pcee.calibrate(VAL, target_accuracy=0.9, guarantee="x")
    with pytest.raises(ValueError, match=r"^binning: unknown binning 'wide'; expected width or mass$"):
        pcee.reliability_diagrams(VAL, binning="wide")
    with pytest.raises(ValueError, match=r"^splits: 0 splits; expected at least 1$"):
        pcee.trials(VAL, splits=0)
    with pytest.raises(ValueError, match=r"^methods: 'pcee\+zz' is not a trial method"):
        pcee.trials(VAL, methods="pcee+zz")
    json.dumps(pcee.evaluate(pcee.calibrate(VAL), VAL))  # plain JSON types only
