"""bench/gpu_suite.py without a GPU: the dry run runs every check tiny on CPU, a missing CUDA
device is one line and exit 2, and a check over its budget is reported, not waited for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "bench" / "gpu_suite.py"
CHECKS = ("render_parity", "render_speed", "mamba_parity", "decoder_speed", "train_step")


def test_dry_run_runs_every_check_and_writes_its_json(tmp_path):
    proc = subprocess.run([sys.executable, str(SUITE), "--dry-run", "--out-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "gpu_summary.json").read_text())
    assert set(summary["checks"]) == set(CHECKS)
    for name in CHECKS:
        result = json.loads((tmp_path / f"gpu_{name}.json").read_text())
        assert result["status"] == "pass", result
        assert result["torch"] == torch.__version__ and "device" in result and "cuda" in result
        assert result["tolerance"] and result["results"] and result["seconds"] <= result["budget_s"]
    assert "5/5 passed" in proc.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="there is a CUDA device here")
def test_no_cuda_device_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, str(SUITE), "--out-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1 and "no CUDA device" in proc.stderr
    assert not any(tmp_path.iterdir())


def test_a_check_over_its_budget_is_a_timeout(tmp_path):
    saved = list(sys.path)  # gpu_suite puts bench/ first on sys.path; keep it from shadowing other tests' imports
    sys.path.insert(0, str(SUITE.parent))
    try:
        import gpu_suite
    finally:
        sys.path[:] = saved
    result = gpu_suite.spawn_check("train_step", "cpu", True, tmp_path, budget=0.5)
    assert result["status"] == "timeout" and "budget" in result["reason"]
    assert json.loads((tmp_path / "gpu_train_step.json").read_text())["status"] == "timeout"
