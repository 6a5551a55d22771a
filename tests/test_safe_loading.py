"""Repository-wide: every ``torch.load`` uses the restricted unpickler, and ``torch.jit.load``
(which deserialises code from the file) appears only behind an explicit trust decision."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("lyra_sim", "tests", "bench", "scripts")

JIT_LOAD_ALLOWED = {
    # behind trust_torchscript=True / --trust-torchscript
    ("lyra_sim/teachers/gen3c_convert.py", "_convert_vae"),
    # developer GPU parity check against NVIDIA's own tokenizer files
    ("bench/gen3c_parity.py", "check_tokenizer"),
}


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _calls(path: Path):
    """(call, name of the enclosing function) for every call in the file."""
    tree = ast.parse(path.read_text(), str(path))
    stack = [(tree, "<module>")]
    while stack:
        node, func = stack.pop()
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            if isinstance(child, ast.Call):
                yield child, name
            stack.append((child, name))


def _weights_only(call: ast.Call) -> bool:
    kw = {k.arg: k.value for k in call.keywords}
    return isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True


def _files():
    for top in SCANNED:
        yield from sorted((REPO / top).rglob("*.py")) if (REPO / top).is_dir() else ()


def test_the_scan_sees_the_known_calls():
    # The checks below must be able to fail: the scan finds the calls we know exist.
    names = {(str(p.relative_to(REPO)), _dotted(c.func)) for p in _files() for c, _ in _calls(p)}
    assert ("lyra_sim/data/safe_pickle.py", "torch.load") in names
    assert ("lyra_sim/teachers/gen3c_convert.py", "torch.jit.load") in names


def test_every_torch_load_is_weights_only():
    bad = []
    for path in _files():
        for call, _ in _calls(path):
            if _dotted(call.func) != "torch.load":
                continue
            if not _weights_only(call):
                bad.append(f"{path.relative_to(REPO)}:{call.lineno}")
    assert bad == [], f"torch.load without weights_only=True: {bad}"


def test_torch_jit_load_only_where_trusted():
    found = {(str(p.relative_to(REPO)), func) for p in _files() for c, func in _calls(p) if _dotted(c.func) == "torch.jit.load"}
    assert found <= JIT_LOAD_ALLOWED, f"torch.jit.load outside the trusted places: {sorted(found - JIT_LOAD_ALLOWED)}"


@pytest.mark.parametrize(("source", "safe"), [
    ("torch.load(p)", False), ("torch.load(p, weights_only=False)", False), ("torch.load(p, weights_only=flag)", False),
    ("torch.load(p, map_location='cpu', weights_only=True)", True),
])
def test_the_weights_only_rule(source, safe):
    (call,) = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)]
    assert _weights_only(call) is safe
