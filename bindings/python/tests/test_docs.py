"""Every public function, the Policy class and its members carry, at run time (`help(...)`), the
docstring of the type stubs (python/pcee/_pcee.pyi), with shapes, units and errors."""

import ast
import inspect
from pathlib import Path

import pcee

STUBS = Path(__file__).resolve().parents[1] / "python" / "pcee" / "_pcee.pyi"


def stub_docstrings():
    tree = ast.parse(STUBS.read_text())
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield node.name, ast.get_docstring(node)
        if isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef):
                    yield f"{node.name}.{sub.name}", ast.get_docstring(sub)


def test_runtime_docstrings_are_the_stubs():
    names = []
    for name, doc in stub_docstrings():
        obj = pcee
        for part in name.split("."):
            obj = getattr(obj, part)
        assert doc, f"{name} has no docstring in the stubs"
        assert inspect.getdoc(obj) == doc, name
        names.append(name)
    assert set(pcee.__all__) - {"MAX_BINS", "POLICY_FORMAT", "POLICY_VERSION"} <= set(names)
    assert pcee.MAX_BINS == 10_000 and pcee.POLICY_FORMAT == "pcee-policy"
