"""Process-level CPU settings: the OpenMP wait policy is set before torch loads, never over the user's."""

import os
import subprocess
import sys

PROBE = """
import os, sys
{setup}
from lyra_sim.runtime import tune_openmp_wait
print(tune_openmp_wait(), os.environ.get("OMP_WAIT_POLICY"))
"""


def probe(setup: str = "", env: dict | None = None) -> str:
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup)], env={**base, **(env or {})},
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_idle_openmp_threads_sleep_by_default():
    assert probe() == "True PASSIVE"


def test_the_users_policy_wins():
    assert probe(env={"OMP_WAIT_POLICY": "ACTIVE"}) == "False ACTIVE"


def test_too_late_once_torch_is_loaded():
    assert probe(setup="import torch") == "False None"


def test_the_cli_sets_it_before_any_command_runs():
    code = ("import os, lyra_sim.cli as c\ntry:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(os.environ.get('OMP_WAIT_POLICY'))")
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "PASSIVE"
