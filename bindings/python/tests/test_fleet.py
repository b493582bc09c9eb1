"""Three `pcee serve` replicas behind a real load balancer (HAProxy, the Debian package; scripts/test
installs it) against one replica given everything (docs/oip.md §8, §10):

- traffic and labelled feedback go through HAProxy, so labels land on replicas that did not make
  the decision; the feedback tokens carry the decision, and the fleet's monitor (`pcee monitor
  --replicas`, summing the replicas' counts) shows, after every round, the counts and the alarms
  (exit, label count, bound) of a single replica that received every request and every label;
- the token's tag is HMAC-SHA256 as docs/oip.md §8.1 states it, recomputed here with Python's
  `hmac`;
- a replica killed (SIGKILL) under load from 8 client threads loses no request (HAProxy retries
  it on another replica) and no feedback the others accepted.

The images are random and the labels are drawn from each decision's own prediction (right with
probability 0.97, then 0.6 after the "shift"), the same draws for the fleet and the single
replica: the test is about merging, not about a data set. Needs `pcee` and `haproxy`."""

import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import numpy as np
import pytest

from conftest import ROOT

MODEL = ROOT / "assets" / "models" / "msdnet-small.safetensors"
NAME = "msdnet-small"
KEY = "1 " + "5a" * 32
WINDOW = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    def __init__(self, cli, policy, key, log):
        self.process = subprocess.Popen(
            [str(cli.path), "serve", "--model", str(MODEL), "--policy", str(policy), "--name", NAME,
             "--feedback-key", str(key), "--addr", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
        first = self.process.stdout.readline()
        assert first.startswith("listening on http://"), first + open(log).read()
        self.address = first.split()[2][len("http://"):]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def post(address, path, body, timeout=60):
    request = urllib.request.Request(f"http://{address}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return r.status, json.loads(r.read())


def infer(address, images):
    _, answer = post(address, f"/v2/models/{NAME}/infer", {"inputs": [
        {"name": "images", "shape": list(images.shape), "datatype": "FP32",
         "data": images.ravel().tolist()}]})
    out = {o["name"]: o["data"] for o in answer["outputs"]}
    return out["label"], out["exit"], out["feedback_token"]


def haproxy_config(port, replicas):
    servers = "\n".join(f"    server r{i} {r.address}" for i, r in enumerate(replicas))
    return f"""global
    tune.bufsize 262144
    log stderr format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 30s
    timeout server 30s
listen oip
    bind 127.0.0.1:{port}
    retries 3
    option redispatch 1
    option http-buffer-request
    retry-on conn-failure empty-response junk-response response-timeout 503
    balance roundrobin
    option httpchk
    http-check send meth GET uri /v2/health/ready
    default-server check inter 300ms fall 2 rise 2
{servers}
"""


@pytest.fixture
def fleet(cli, tmp_path):
    if cli is None:
        pytest.fail("no pcee binary (scripts/test sets PCEE_BIN)")
    assert shutil.which("haproxy"), "haproxy is not installed (scripts/test installs it: apt-get install haproxy)"
    cli.ok("logits", "--model", MODEL, "--split", "val", "--limit", "1000", "--out", tmp_path / "val.npz")
    cli.ok("calibrate", "--val", tmp_path / "val.npz", "--method", "pcee", "--delta", "0.9",
           "--output", tmp_path / "policy.json")
    (tmp_path / "key").write_text(KEY + "\n")
    started = []
    try:
        for i in range(4):
            started.append(Replica(cli, tmp_path / "policy.json", tmp_path / "key", tmp_path / f"r{i}.log"))
        port = free_port()
        (tmp_path / "haproxy.cfg").write_text(haproxy_config(port, started[:3]))
        balancer = subprocess.Popen(["haproxy", "-db", "-f", str(tmp_path / "haproxy.cfg")],
                                    stdout=subprocess.DEVNULL, stderr=open(tmp_path / "haproxy.log", "w"))
        front = f"127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{front}/v2/health/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield {"cli": cli, "tmp": tmp_path, "replicas": started[:3], "single": started[3],
               "front": front, "balancer": balancer}
    finally:
        for r in started:
            r.stop()
        if "balancer" in locals():
            balancer.terminate()
            balancer.wait(timeout=10)


def fleet_monitor(cli, addresses, state):
    return json.loads(cli.ok("monitor", "--replicas", ",".join(addresses), "--model", NAME,
                             "--state", state, "--window", WINDOW, "--drift-block", 200, "--json"))


def round_of(rng, accuracy, requests=12, per_request=15):
    batches = [rng.normal(size=(per_request, 1, 28, 28)).astype(np.float32) for _ in range(requests)]
    draws = [rng.random(per_request) for _ in range(requests)]
    return batches, draws, accuracy


def labels_for(predicted, draw, accuracy):
    return [p if u < accuracy else (p + 1) % 10 for p, u in zip(predicted, draw)]


def test_the_fleet_alarms_as_one_replica_given_everything(fleet):
    cli, tmp = fleet["cli"], fleet["tmp"]
    replicas = [r.address for r in fleet["replicas"]]
    rng = np.random.default_rng(1)
    for accuracy in (0.97, 0.97, 0.6, 0.6, 0.6):
        batches, draws, accuracy = round_of(rng, accuracy)
        for images, draw in zip(batches, draws):
            for address in (fleet["front"], fleet["single"].address):
                predicted, _, tokens = infer(address, images)
                labels = labels_for(predicted, draw, accuracy)
                status, answer = post(address, f"/v2/models/{NAME}/feedback",
                                      {"labels": [{"token": t, "label": l} for t, l in zip(tokens, labels)]})
                assert answer["accepted"] == len(labels) and answer["duplicates"] == 0
        together = fleet_monitor(cli, replicas, tmp / "fleet.json")
        alone = fleet_monitor(cli, [fleet["single"].address], tmp / "single.json")
        assert together["replicas_reached"] == 3
        assert [p["counts"] for p in together["policies"]] == [p["counts"] for p in alone["policies"]]
        assert [p["alarms"] for p in together["policies"]] == [p["alarms"] for p in alone["policies"]]
        assert [p["drift_alarms"] for p in together["policies"]] == [p["drift_alarms"] for p in alone["policies"]]
    alarms = together["policies"][0]["alarms"]
    assert alarms, "the shifted rounds raise an alarm"
    # Random images are unlike the validation set: exit 0's confidences drift, label-free.
    assert together["policies"][0]["drift_alarms"]
    # Every replica decided and took labels: the balancer spread both.
    for address in replicas:
        with urllib.request.urlopen(f"http://{address}/v2/models/{NAME}/monitor/counts") as r:
            counts = json.loads(r.read())["policies"][0]["counts"]
        assert counts["decided"] > 0 and sum(e["labelled"] for e in counts["exits"]) > 0
    # A label sent twice to the same replica counts once.
    _, _, tokens = infer(fleet["single"].address, batches[0][:1])
    body = {"labels": [{"token": tokens[0], "label": 0}]}
    assert post(fleet["single"].address, f"/v2/models/{NAME}/feedback", body)[1]["accepted"] == 1
    assert post(fleet["single"].address, f"/v2/models/{NAME}/feedback", body)[1]["duplicates"] == 1


def test_the_token_is_the_documented_hmac(fleet):
    _, exits, tokens = infer(fleet["single"].address, np.zeros((2, 1, 28, 28), np.float32))
    raw = base64.urlsafe_b64decode(tokens[0][len("pcee1."):] + "=" * (-len(tokens[0][6:]) % 4))
    payload, tag = raw[:64], raw[64:]
    assert len(raw) == 80 and payload[0] == 1 and payload[1] == 1
    assert int.from_bytes(payload[2:4], "little") == exits[0]
    secret = bytes.fromhex(KEY.split()[1])
    expected = hmac.new(secret, b"pcee-feedback-v1\0" + NAME.encode() + b"\0" + payload, hashlib.sha256)
    assert tag == expected.digest()[:16]
    forged = bytearray(raw)
    forged[4] ^= 1  # another predicted class
    text = "pcee1." + base64.urlsafe_b64encode(bytes(forged)).decode().rstrip("=")
    with pytest.raises(urllib.error.HTTPError) as e:
        post(fleet["single"].address, f"/v2/models/{NAME}/feedback", {"labels": [{"token": text, "label": 1}]})
    assert e.value.code == 400 and "does not verify" in json.loads(e.value.read())["error"]


def test_a_killed_replica_loses_no_request_and_no_accepted_feedback(fleet):
    cli, tmp = fleet["cli"], fleet["tmp"]
    replicas = [r.address for r in fleet["replicas"]]
    rng = np.random.default_rng(2)
    images = rng.normal(size=(6, 1, 28, 28)).astype(np.float32)
    # Feedback first, spread over the three replicas, then the fleet's counts.
    for _ in range(9):
        predicted, _, tokens = infer(fleet["front"], images)
        post(fleet["front"], f"/v2/models/{NAME}/feedback",
             {"labels": [{"token": t, "label": p} for t, p in zip(tokens, predicted)]})
    before = fleet_monitor(cli, replicas, tmp / "kill.json")["policies"][0]["counts"]
    assert sum(e["labelled"] for e in before["exits"]) == 54
    results, failures = [], []

    def client():
        for _ in range(15):
            try:
                results.append(infer(fleet["front"], images)[0])
            except Exception as err:  # noqa: BLE001 - every failure is reported below
                failures.append(repr(err))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    victim = fleet["replicas"][1].process
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    for t in threads:
        t.join(timeout=120)
    assert failures == [] and len(results) == 120
    assert all(r == results[0] for r in results)  # the same images, the same answers
    after = fleet_monitor(cli, replicas, tmp / "kill.json")
    assert after["replicas_reached"] == 2
    counts = after["policies"][0]["counts"]
    assert sum(e["labelled"] for e in counts["exits"]) == 54  # the killed one's last counts kept
    assert counts["decided"] >= before["decided"]


def test_a_policy_rolled_out_to_every_replica_shows_one_digest(fleet):
    cli, tmp = fleet["cli"], fleet["tmp"]
    cli.ok("calibrate", "--val", tmp / "val.npz", "--method", "confidence", "--delta", "0.85",
           "--output", tmp / "new.json")
    new = (tmp / "new.json").read_bytes()
    shown = set()
    for r in fleet["replicas"]:
        request = urllib.request.Request(f"http://{r.address}/v1/policy", data=new, method="PUT",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as answer:
            summary = json.loads(answer.read())
        with urllib.request.urlopen(f"http://{r.address}/v2/models/{NAME}") as answer:
            meta = json.loads(answer.read())
        with urllib.request.urlopen(f"http://{r.address}/metrics") as answer:
            metrics = answer.read().decode()
        digest = meta["parameters"]["policy_digest"]
        assert summary["digest"] == digest and summary["version"] == 2
        assert f'pcee_policy_info{{digest="{digest}",version="2"}} 1' in metrics
        shown.add(digest)
    assert len(shown) == 1
    # The balancer's answers now carry the new digest, whichever replica answers.
    _, answer = post(fleet["front"], f"/v2/models/{NAME}/infer", {"inputs": [
        {"name": "images", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [0.0] * 784}]})
    assert answer["parameters"]["policy_digest"] in shown
