"""``lyra-sim check --json``: stdout is exactly one JSON document, whatever PhysX and Warp print."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lyra_sim.cli.shared import stdout_to_stderr

REPO = Path(__file__).parents[2]


def test_stdout_to_stderr_moves_python_and_c_level_writes(capfd):
    with stdout_to_stderr():
        print("python banner")
        os.write(1, b"C-level banner\n")
    print("the document")
    out, err = capfd.readouterr()
    assert out == "the document\n"
    assert "python banner" in err and "C-level banner" in err


@pytest.mark.skipif(importlib.util.find_spec("ovphysx") is None, reason="PhysX (ovphysx) is not installed")
def test_check_json_stdout_is_one_document():
    world = REPO / "scenes" / "gallery" / "corridor" / "scene.usdz"
    done = subprocess.run([sys.executable, "-m", "lyra_sim.cli", "check", str(world), "--json"], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # the whole of stdout: no banner before or after
    assert document["status"] == "passed" and document["drops"]


def test_check_shows_a_bar_per_engine_run_on_stderr_unless_quiet():
    world = REPO / "scenes" / "gallery" / "corridor" / "scene.usdz"
    run = lambda *flags: subprocess.run([sys.executable, "-m", "lyra_sim.cli", "check", str(world), *flags],
                                        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    shown = run()
    assert shown.returncode == 0, shown.stderr
    assert "physics check" in shown.stderr and "1/1" in shown.stderr and "physics check (" not in shown.stdout
    quiet = run("--quiet")
    assert quiet.returncode == 0 and "physics check (" not in quiet.stderr and "checking in" not in quiet.stdout
