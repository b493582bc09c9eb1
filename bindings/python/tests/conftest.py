"""Shared paths and the `pcee` CLI binary the tests compare the package with.

The binary is `$PCEE_BIN` when set (CI sets it to the one `cargo test --workspace` built; a
missing one is then an error), else the newest of `target/{release,debug}/pcee` under
`$CARGO_TARGET_DIR` or the repository's `target/`; tests that need it are skipped without it.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "fashion-mnist"
VAL = EXAMPLES / "val.npz"
TEST = EXAMPLES / "test.npz"
FIXTURES = ROOT / "crates" / "pcee" / "tests" / "fixtures"


def _find_cli():
    if os.environ.get("PCEE_BIN"):
        path = Path(os.environ["PCEE_BIN"])
        if not path.is_file():
            raise RuntimeError(f"PCEE_BIN={path} is not a file")
        return path
    targets = [Path(os.environ["CARGO_TARGET_DIR"])] if os.environ.get("CARGO_TARGET_DIR") else []
    targets.append(ROOT / "target")
    found = [t / p / "pcee" for t in targets for p in ("release", "debug")]
    found = [p for p in found if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


class Cli:
    """Runs the `pcee` binary."""

    def __init__(self, path):
        self.path = path

    def run(self, *args):
        """(exit code, stdout, stderr) of `pcee ARGS`."""
        done = subprocess.run([str(self.path), *map(str, args)], capture_output=True, text=True)
        return done.returncode, done.stdout, done.stderr

    def ok(self, *args):
        code, out, err = self.run(*args)
        assert code == 0, err
        return out

    def error(self, *args):
        """The CLI's one error line without `error: ` (asserting exit code 1)."""
        code, _, err = self.run(*args)
        assert code == 1, (code, err)
        lines = [l for l in err.splitlines() if l.startswith("error: ")]
        assert len(lines) == 1, err
        return lines[0][len("error: "):]

    def evaluate(self, policy, test, *extra):
        return json.loads(self.ok("evaluate", "--policy", policy, "--test", test, "--json", *extra))


@pytest.fixture(scope="session")
def cli():
    path = _find_cli()
    if path is None:
        pytest.skip("no pcee binary (cargo build -p pcee-cli, or set PCEE_BIN)")
    return Cli(path)
