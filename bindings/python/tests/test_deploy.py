"""deploy/: the KServe ServingRuntime and InferenceService parse, name each other, and pass
`pcee serve` only flags it accepts (those of the runtime's args and of the Dockerfile's
ENTRYPOINT, checked against `pcee serve --help` and by running the binary with them). Nothing
here builds the image or applies the YAML (no Docker, no cluster)."""

import json
import re
from pathlib import Path

import yaml

from conftest import ROOT

DEPLOY = ROOT / "deploy"


def documents(name):
    path = DEPLOY / name
    assert path.is_file(), f"{path} is missing"
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs, f"{path} holds no YAML document"
    return docs


def one(name, kind):
    docs = [d for d in documents(name) if d.get("kind") == kind]
    assert len(docs) == 1, f"{name}: {len(docs)} documents of kind {kind}"
    return docs[0]


def runtime():
    return one("serving-runtime.yaml", "ServingRuntime")


def container():
    containers = runtime()["spec"]["containers"]
    assert [c["name"] for c in containers] == ["kserve-container"]
    return containers[0]


def entrypoint():
    """The exec-form ENTRYPOINT of deploy/Dockerfile's last stage, as a list."""
    path = DEPLOY / "Dockerfile"
    assert path.is_file(), f"{path} is missing"
    lines = [l for l in path.read_text().splitlines() if l.startswith("ENTRYPOINT")]
    assert len(lines) == 1, lines
    words = json.loads(lines[0][len("ENTRYPOINT"):])
    assert words[:2] == ["pcee", "serve"], words
    return words[2:]


def serve_flags(cli):
    """The long flags `pcee serve --help` lists."""
    help_text = cli.ok("serve", "--help")
    flags = set(re.findall(r"^\s+(?:-\w, )?(--[a-z0-9][a-z0-9-]*)", help_text, re.MULTILINE))
    assert {"--model", "--policy", "--addr", "--name"} <= flags, help_text
    return flags


def test_serving_runtime():
    r = runtime()
    assert r["apiVersion"] == "serving.kserve.io/v1alpha1"
    assert r["metadata"]["name"] == "pcee"
    spec = r["spec"]
    assert spec["supportedModelFormats"] == [{"name": "pcee", "version": "1", "autoSelect": True}]
    assert spec["protocolVersions"] == ["v2"]
    c = container()
    assert c["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert c["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert c["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8080}
    args = c["args"]
    assert args[args.index("--name") + 1] == "{{.Name}}"
    # The key file is the mounted Secret's.
    key = args[args.index("--feedback-key") + 1]
    mount = [m for m in c["volumeMounts"] if key.startswith(m["mountPath"].rstrip("/") + "/")]
    assert len(mount) == 1, (key, c["volumeMounts"])
    volume = [v for v in spec["volumes"] if v["name"] == mount[0]["name"]]
    assert len(volume) == 1 and volume[0]["secret"]["secretName"] == "pcee-feedback-key"


def test_inference_service_names_the_runtime():
    isvc = one("inference-service.yaml", "InferenceService")
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    predictor = isvc["spec"]["predictor"]
    assert predictor["minReplicas"] == 3
    model = predictor["model"]
    assert model["runtime"] == runtime()["metadata"]["name"]
    assert model["modelFormat"]["name"] in [f["name"] for f in runtime()["spec"]["supportedModelFormats"]]
    assert model["protocolVersion"] in runtime()["spec"]["protocolVersions"]
    assert re.match(r"^(s3|gs|pvc)://", model["storageUri"]), model["storageUri"]
    # The Secret is an example in comments, never a manifest with a secret in it.
    assert [d["kind"] for d in documents("inference-service.yaml")] == ["InferenceService"]


def test_every_flag_is_one_pcee_serve_accepts(cli):
    flags = serve_flags(cli)
    words = entrypoint() + container()["args"]
    used = [w for w in words if w.startswith("--")]
    assert used, words
    unknown = [f for f in used if f not in flags]
    assert not unknown, f"not listed by `pcee serve --help`: {unknown}"
    # The binary parses them all with their values (a usage error exits 2) and stops at the
    # first file it cannot read (none of /mnt/models, /var/run/pcee exists here): exit 1.
    args = [w.replace("{{.Name}}", "msdnet-large") for w in words]
    files = [w for w in args if w.startswith(("/mnt/models/", "/var/run/pcee/"))]
    assert files and not any(map(Path.exists, map(Path, files))), files
    code, _, err = cli.run("serve", *args)
    assert code == 1 and any(f in err for f in files), (code, err)
