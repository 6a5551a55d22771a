"""scripts/train.py and scripts/play.py where Isaac Lab is not installed (the main environment):
one line saying how to install it, exit code 2. (With Isaac Lab, tests/sim/test_isaaclab_tasks.py
checks their other bad input.)"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(importlib.util.find_spec("isaaclab") is not None, reason="Isaac Lab is installed in this Python")
@pytest.mark.parametrize("script", ["train.py", "play.py"])
def test_without_isaaclab_the_scripts_say_how_to_install_it(script):
    run = subprocess.run([sys.executable, str(REPO / "scripts" / script), "--num_envs", "2"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"{script}: Isaac Lab 3 is not installed") and "scripts/install_isaaclab.sh" in lines[0]
    assert run.stdout == ""


@pytest.mark.parametrize("script", ["train.py", "play.py"])
def test_help_needs_no_isaaclab(script):
    run = subprocess.run([sys.executable, str(REPO / "scripts" / script), "--help"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and "--task" in run.stdout and "--num_envs" in run.stdout
