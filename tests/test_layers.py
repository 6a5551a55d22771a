"""The import graph of ``lyra_sim`` keeps the layer order of ``docs/ARCHITECTURE.md`` and has no circles.

Every ``.py`` file under ``lyra_sim/`` is parsed with :mod:`ast` (nothing is imported). Each
``import`` and ``from ... import`` statement anywhere in a module, at the top *or inside a
function*, is an arrow from that module to the module it names:

* ``import a.b.c`` -> ``a.b.c``; ``from a.b import c`` -> ``a.b.c`` when that is a module,
  else ``a.b`` (``c`` is a name defined in ``a/b/__init__.py``); relative imports are resolved
  against the importing module's package;
* the parent packages that Python initialises on the way (``a``, ``a.b``) are not arrows: every
  submodule import would otherwise close a trivial circle through its own ``__init__``.

Each module belongs to a *unit*: the subpackage of ``lyra_sim`` it is in (``lyra_sim.render.
torch_backend`` -> ``render``), a top-level module's own name (``lyra_sim.errors`` ->
``errors``), or ``lyra_sim`` for the root ``__init__``. ``docs/ARCHITECTURE.md`` lists the
units layer by layer in a fenced ```` ```layers ```` block, lowest first.

Asserted:

(a) no arrow from a unit to a unit of a higher layer;
(b) no circle between modules. Function-level imports count here too, between modules of the
    same package as well as of different packages: a lazy import only postpones the circle to
    the first call (and hides it from readers); the fix is a module both sides import, as
    ``refine/params.py`` is for ``refine/optimize.py`` and ``refine/densify.py``;
(c) every unit on disk is in the doc and every unit in the doc exists, so the doc stays true;
(d) ``extension/`` imports only ``lyra_sim.sim``, ``lyra_sim.export`` and ``lyra_sim.errors``.

``importlib.import_module`` with a computed name (the CLI's subcommand table) is not seen; the
CLI is the top layer anyway.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "lyra_sim"
EXTENSION_MAY_IMPORT = ("lyra_sim.sim", "lyra_sim.export", "lyra_sim.errors")


# ----------------------------------------------------------------------------- the graph
def module_files(root: Path, package: str = PACKAGE) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is_package) for every ``.py`` under ``root/package``."""
    mods = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        mods[".".join(parts)] = (path, is_pkg)
    return mods


def _resolve(name: str, mods: dict) -> str | None:
    """The longest prefix of ``name`` that is a module of ours, or None."""
    while name not in mods:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str, path: Path, is_pkg: bool, mods: dict) -> dict[str, int]:
    """Modules of ours that ``module`` imports (anywhere in the file) -> first line number."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module if is_pkg else module.rsplit(".", 1)[0]
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in mods else source for a in node.names]
        for target in targets:
            resolved = _resolve(target, mods)
            if resolved is not None and resolved != module:
                found.setdefault(resolved, node.lineno)
    return found


def import_graph(root: Path, package: str = PACKAGE) -> tuple[dict, dict[str, dict[str, int]]]:
    mods = module_files(root, package)
    return mods, {m: imports_of(m, path, is_pkg, mods) for m, (path, is_pkg) in mods.items()}


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


# ----------------------------------------------------------------------------- the doc
def read_layers(doc: Path) -> list[tuple[str, list[str]]]:
    """The ```` ```layers ```` block of ``doc``: [(layer name, [units])], lowest first."""
    match = re.search(r"^```layers\n(.*?)^```", doc.read_text(encoding="utf-8"), re.S | re.M)
    assert match, f"{doc} has no ```layers block"
    layers = []
    for line in match.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, units = line.partition(":")
            layers.append((name.strip(), units.split()))
    return layers


# ----------------------------------------------------------------------------- the checks
def upward_arrows(graph: dict[str, dict[str, int]], rank: dict[str, int]) -> list[str]:
    """Arrows from a unit to one in a higher layer, as ``a (line n) -> b`` strings."""
    bad = []
    for src, targets in sorted(graph.items()):
        for dst, line in sorted(targets.items()):
            if rank[unit_of(dst)] > rank[unit_of(src)]:
                bad.append(f"{src} (line {line}) -> {dst}: layer {unit_of(src)!r} imports higher layer {unit_of(dst)!r}")
    return bad


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def describe_cycle(comp: list[str], graph: dict[str, dict[str, int]]) -> str:
    inside = set(comp)
    arrows = [f"{a}:{line} -> {b}" for a in comp for b, line in sorted(graph[a].items()) if b in inside]
    return "circle between " + ", ".join(comp) + " (" + "; ".join(arrows) + ")"


# ----------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def layers():
    return read_layers(REPO / "docs" / "ARCHITECTURE.md")


@pytest.fixture(scope="module")
def graph():
    return import_graph(REPO)[1]


def _rank(layers) -> dict[str, int]:
    return {unit: i for i, (_, units) in enumerate(layers) for unit in units}


def test_every_unit_is_placed_once(layers, graph):
    listed = [u for _, units in layers for u in units]
    assert len(listed) == len(set(listed)), f"a unit is listed twice in docs/ARCHITECTURE.md: {listed}"
    on_disk = {unit_of(m) for m in graph}
    assert on_disk - set(listed) == set(), "add these to the layers block of docs/ARCHITECTURE.md"
    assert set(listed) - on_disk == set(), "the layers block of docs/ARCHITECTURE.md lists units that do not exist"


def test_no_import_reaches_up_a_layer(layers, graph):
    assert upward_arrows(graph, _rank(layers)) == []


def test_no_import_circle(graph):
    assert [describe_cycle(c, graph) for c in cycles(graph)] == []


def test_extension_imports_only_sim_export_errors():
    mods = module_files(REPO)
    bad = []
    for path in sorted((REPO / "extension").rglob("*.py")):
        for target, line in imports_of("extension._", path, False, mods).items():
            if not target.startswith(EXTENSION_MAY_IMPORT):
                bad.append(f"{path.relative_to(REPO)}:{line} -> {target}")
    assert bad == []


# ----------------------------------------------------------------------------- the checks can fail
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_self_check_finds_upward_arrows_and_circles(tmp_path):
    root = _tree(tmp_path, {
        "lyra_sim/__init__.py": "",
        "lyra_sim/errors.py": "",
        "lyra_sim/low/__init__.py": "from lyra_sim.low.a import A\n",
        # upward, relative and inside a function
        "lyra_sim/low/a.py": "A = 1\ndef f():\n    from ..high import H\n",
        "lyra_sim/low/b.py": "from . import c\n",  # b <-> c, c's side lazy
        "lyra_sim/low/c.py": "def g():\n    from lyra_sim.low import b\n",
        "lyra_sim/high/__init__.py": "from lyra_sim.low import A\nimport lyra_sim.errors\nH = A\n",
        "lyra_sim/high/d.py": "from lyra_sim.low.a import A\n",  # a downward arrow is fine
    })
    mods, graph = import_graph(root)
    assert graph["lyra_sim.low.b"] == {"lyra_sim.low.c": 1}
    assert graph["lyra_sim.high"] == {"lyra_sim.low": 1, "lyra_sim.errors": 2}
    rank = {"lyra_sim": 0, "errors": 0, "low": 1, "high": 2}
    assert upward_arrows(graph, rank) == [
        "lyra_sim.low.a (line 3) -> lyra_sim.high: layer 'low' imports higher layer 'high'"]
    # low/__init__ -> low.a -> high -> low/__init__ is a real circle (through the lazy import);
    # so is b <-> c. Parent packages are not arrows, so d -> low.a alone closes nothing.
    assert sorted(cycles(graph)) == [["lyra_sim.high", "lyra_sim.low", "lyra_sim.low.a"],
                                     ["lyra_sim.low.b", "lyra_sim.low.c"]]


def test_self_check_reads_the_layers_block(tmp_path):
    doc = _tree(tmp_path, {"A.md": "text\n```layers\n# comment\nbottom: x y  # two\ntop: z\n```\n"}) / "A.md"
    assert read_layers(doc) == [("bottom", ["x", "y"]), ("top", ["z"])]
