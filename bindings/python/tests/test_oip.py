"""`pcee serve` through the Open Inference Protocol with a real client, `tritonclient[http]`
(NVIDIA Triton's Python client, from PyPI): health, server and model metadata, and `infer` with
JSON tensors and with binary tensor data (Triton's extension, tritonclient's default), on the
built-in msdnet-small (float32 images) and on the token network of
`examples/tokens` (two int64 inputs, ONNX Runtime). Every answer equals the decision
`pcee infer --decisions` takes on the same samples and δ. Malformed requests get the protocol's
errors (400, 404). Needs the `pcee` binary (scripts/test sets PCEE_BIN)."""

import json
import os
import subprocess

import numpy as np
import pytest

from conftest import ROOT

import tritonclient.http as tritonclient  # scripts/test installs tritonclient[http]; none skips
from tritonclient.utils import InferenceServerException

MODEL = ROOT / "assets" / "models" / "msdnet-small.safetensors"
TOKENS = ROOT / "examples" / "tokens"


class Server:
    """`pcee serve ARGS --addr 127.0.0.1:0`, its address read from its first line."""

    def __init__(self, cli, *args):
        self.process = subprocess.Popen(
            [str(cli.path), "serve", *map(str, args), "--addr", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = self.process.stdout.readline()
        assert first.startswith("listening on http://"), first + self.process.stderr.read()
        self.url = first.split()[2][len("http://"):]
        self.client = tritonclient.InferenceServerClient(url=self.url)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def need_cli(cli):
    if cli is None:
        pytest.skip("no pcee binary")
    return cli


def infer_decisions(cli, source, policy, inputs, labels, tmp_path):
    """`pcee infer --decisions` on the arrays `inputs` (name → array)."""
    path = tmp_path / "inputs.npz"
    np.savez(path, **inputs)
    np.save(tmp_path / "labels.npy", labels)
    report = json.loads(cli.ok("infer", *source, "--policy", policy, "--input", path,
                               "--labels", tmp_path / "labels.npy", "--repeat", "1", "--json",
                               "--decisions"))
    return report["decisions"]


def asked(name, array, binary=False):
    t = tritonclient.InferInput(name, list(array.shape), {np.float32: "FP32", np.int64: "INT64"}[array.dtype.type])
    t.set_data_from_numpy(array, binary_data=binary)
    return t


def outputs(binary=False):
    return [tritonclient.InferRequestedOutput(n, binary_data=binary) for n in ("label", "exit", "confidence")]


def check_equal(result, decisions):
    assert list(result.as_numpy("label")) == [d["prediction"] for d in decisions]
    assert list(result.as_numpy("exit")) == [d["exit"] for d in decisions]
    np.testing.assert_allclose(result.as_numpy("confidence"), [d["confidence"] for d in decisions], rtol=1e-6)


def test_tritonclient_gets_the_decisions_of_pcee_infer_on_msdnet(need_cli, tmp_path):
    cli = need_cli
    cli.ok("logits", "--model", MODEL, "--split", "val", "--limit", "1000", "--out", tmp_path / "val.npz")
    cli.ok("calibrate", "--val", tmp_path / "val.npz", "--method", "pcee", "--delta", "0.9",
           "--output", tmp_path / "policy.json")
    rng = np.random.default_rng(0)
    images = rng.normal(size=(40, 1, 28, 28)).astype(np.float32)
    server = Server(cli, "--model", MODEL, "--policy", tmp_path / "policy.json")
    try:
        c = server.client
        assert c.is_server_live() and c.is_server_ready() and c.is_model_ready("msdnet-small")
        assert c.get_server_metadata()["name"] == "pcee"
        meta = c.get_model_metadata("msdnet-small")
        assert meta["inputs"] == [{"name": "images", "datatype": "FP32", "shape": [-1, 1, 28, 28]}]
        assert [o["name"] for o in meta["outputs"]] == ["label", "exit", "confidence", "logits"]
        assert meta["outputs"][3]["shape"] == [-1, 10]
        result = c.infer("msdnet-small", [asked("images", images)], outputs=outputs(), request_id="r-1")
        assert result.get_response()["id"] == "r-1"
        decisions = infer_decisions(cli, ["--model", MODEL], tmp_path / "policy.json",
                                    {"images": images}, np.zeros(40, np.int64), tmp_path)
        check_equal(result, decisions)
        # tritonclient's defaults: binary tensor data both ways (Triton's extension).
        default = tritonclient.InferInput("images", list(images.shape), "FP32")
        default.set_data_from_numpy(images)
        check_equal(c.infer("msdnet-small", [default]), decisions)
        check_equal(c.infer("msdnet-small", [asked("images", images, binary=True)],
                            outputs=outputs(binary=False)), decisions)
        check_equal(c.infer("msdnet-small", [asked("images", images)], outputs=outputs(binary=True)),
                    decisions)
        # A δ per request: the policy's diagrams at another target accuracy.
        low = c.infer("msdnet-small", [asked("images", images)], outputs=outputs(),
                      parameters={"delta": 0.5})
        assert low.get_response()["parameters"]["delta"] == 0.5
        assert low.as_numpy("exit").mean() <= result.as_numpy("exit").mean()
        # Errors of the protocol.
        with pytest.raises(InferenceServerException) as e:
            c.infer("other", [asked("images", images)])
        assert e.value.status() == "404"
        wrong = tritonclient.InferInput("images", [40, 1, 28, 28], "FP64")
        wrong.set_data_from_numpy(images.astype(np.float64), binary_data=False)
        with pytest.raises(InferenceServerException) as e:
            c.infer("msdnet-small", [wrong], outputs=outputs())
        assert e.value.status() == "400" and "datatype" in e.value.message()
        short = tritonclient.InferInput("images", [41, 1, 28, 28], "FP32")  # one image short
        short.set_data_from_numpy(np.zeros((41, 1, 28, 28), np.float32))
        short._raw_data = short._raw_data[: 40 * 784 * 4]
        short._parameters["binary_data_size"] = 40 * 784 * 4
        with pytest.raises(InferenceServerException) as e:
            c.infer("msdnet-small", [short])
        assert e.value.status() == "400" and "binary data" in e.value.message()
        nan = tritonclient.InferInput("images", [1, 1, 28, 28], "FP32")
        nan.set_data_from_numpy(np.full((1, 1, 28, 28), np.nan, np.float32))
        with pytest.raises(InferenceServerException) as e:
            c.infer("msdnet-small", [nan])
        assert e.value.status() == "400" and "NaN or infinite" in e.value.message()
        assert c.get_server_metadata()["extensions"] == ["binary_tensor_data"]
        # The protocol's routes take no query parameter and a body of no, JSON or binary type.
        import urllib.error
        import urllib.request
        body = json.dumps({"inputs": [{"name": "images", "shape": [1, 1, 28, 28], "datatype": "FP32",
                                       "data": [0.0] * 784}]}).encode()
        for url, ctype, code in ((f"http://{server.url}/v2/models/msdnet-small/infer?delta=0.5", "application/json", 400),
                                 (f"http://{server.url}/v2/models/msdnet-small/infer", "text/plain", 415)):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST",
                                                              headers={"Content-Type": ctype}))
            assert e.value.code == code, e.value.read()
    finally:
        server.stop()


def test_tritonclient_with_two_int64_inputs_through_onnx_runtime(need_cli, tmp_path):
    if not os.environ.get("ORT_DYLIB_PATH"):
        pytest.skip("ORT_DYLIB_PATH is not set")
    cli = need_cli
    cli.ok("logits", "--stages", TOKENS / "stages", "--input", TOKENS / "val.npz",
           "--labels", TOKENS / "val-labels.npy", "--out", tmp_path / "val.npz")
    cli.ok("calibrate", "--val", tmp_path / "val.npz", "--method", "pcee", "--delta", "0.85",
           "--output", tmp_path / "policy.json")
    test = np.load(TOKENS / "test.npz")
    ids, mask = test["input_ids"][:64], test["attention_mask"][:64]
    server = Server(cli, "--stages", TOKENS / "stages", "--policy", tmp_path / "policy.json",
                    "--name", "tokens")
    try:
        c = server.client
        meta = c.get_model_metadata("tokens")
        assert {i["name"]: i["datatype"] for i in meta["inputs"]} == {"input_ids": "INT64", "attention_mask": "INT64"}
        result = c.infer("tokens", [asked("input_ids", ids), asked("attention_mask", mask, binary=True)],
                         outputs=outputs())
        decisions = infer_decisions(cli, ["--stages", TOKENS / "stages"], tmp_path / "policy.json",
                                    {"input_ids": ids, "attention_mask": mask},
                                    np.load(TOKENS / "test-labels.npy")[:64], tmp_path)
        check_equal(result, decisions)
        assert 0 < (result.as_numpy("exit") == 0).sum() < 64
        # `logits`, asked for, JSON and binary: the exit taken's, as `pcee logits` computes them.
        np.savez(tmp_path / "test.npz", input_ids=ids, attention_mask=mask)
        np.save(tmp_path / "test-labels.npy", np.load(TOKENS / "test-labels.npy")[:64])
        cli.ok("logits", "--stages", TOKENS / "stages", "--input", tmp_path / "test.npz",
               "--labels", tmp_path / "test-labels.npy", "--out", tmp_path / "test-logits.npz")
        every = np.load(tmp_path / "test-logits.npz")["logits"]  # [exits, samples, classes]
        exits = result.as_numpy("exit")
        taken = every[exits, np.arange(64)]
        for binary in (False, True):
            named = [tritonclient.InferRequestedOutput(n, binary_data=binary) for n in ("exit", "logits")]
            got = c.infer("tokens", [asked("input_ids", ids), asked("attention_mask", mask)], outputs=named)
            assert got.as_numpy("logits").shape == (64, every.shape[2])
            np.testing.assert_array_equal(got.as_numpy("exit"), exits)
            np.testing.assert_allclose(got.as_numpy("logits"), taken, rtol=1e-5, atol=1e-5)
        assert "logits" not in [o["name"] for o in result.get_response()["outputs"]]
    finally:
        server.stop()
