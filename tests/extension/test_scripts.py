"""The standalone Isaac Sim / Isaac Lab scripts: they compile, --help works without Isaac Sim,
Isaac imports wait for argparse, and outside Isaac Sim they stop with a clear message."""

import ast
import importlib.util
import math
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

EXTENSION_DIR = Path(__file__).parents[2] / "extension" / "lyra.sim.world"

SCRIPTS = sorted((EXTENSION_DIR.parent / "scripts").glob("*.py"))
ISAAC_ROOTS = {"isaacsim", "isaaclab", "omni", "carb", "pxr"}


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_both_scripts_are_there():
    assert [p.name for p in SCRIPTS] == ["h1_on_world.py", "isaaclab_pool_envs.py"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_compiles_and_imports_isaac_only_inside_main(script, tmp_path):
    py_compile.compile(str(script), cfile=str(tmp_path / "x.pyc"), doraise=True)
    tree = ast.parse(script.read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    roots = {(n.module or "").split(".")[0] for n in top if isinstance(n, ast.ImportFrom)}
    roots |= {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
    assert not roots & ISAAC_ROOTS, "Isaac modules must be imported after argparse, inside main()"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_help_and_clear_error_outside_isaac_sim(script):
    help_run = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert help_run.returncode == 0 and "usage:" in help_run.stdout and "SCENE" in help_run.stdout.upper()
    run = subprocess.run([sys.executable, str(script), "some_scene"], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 2
    assert "needs Isaac" in run.stderr and "Traceback" not in run.stderr


def test_verdict_upright_tilted_and_sunk():
    verdict = load(EXTENSION_DIR.parent / "scripts" / "h1_on_world.py").verdict
    half = math.radians(60) / 2  # 60 degrees about +X
    tilted = [math.cos(half), math.sin(half), 0.0, 0.0]
    yawed = [math.cos(1.0), 0.0, 0.0, math.sin(1.0)]  # a turn about +Z is still upright
    ok = verdict([1.07, 1.05, 1.04], [yawed] * 3, 0.0, 45.0, 0.3)
    assert ok["upright"] and ok["above_collider"] and ok["max_tilt_deg"] == pytest.approx(0.0, abs=1e-6)
    fell = verdict([1.07, 0.6, 0.2], [yawed, tilted, tilted], 0.0, 45.0, 0.3)
    assert not fell["upright"] and fell["max_tilt_deg"] == pytest.approx(60.0, abs=1e-4)
    assert not fell["above_collider"] and fell["lowest_root_over_floor_m"] == pytest.approx(0.2)
    assert verdict([2.0], [yawed], 1.5, 45.0, 0.3)["final_root_over_floor_m"] == pytest.approx(0.5)
