"""Torch's OpenMP threads on a busy machine: the export of a 10k capture with idle threads
spinning (``OMP_WAIT_POLICY=ACTIVE``) or sleeping (``PASSIVE``), on a quiet machine and with
another process holding one core.

Torch's CPU build runs each parallel op on libgomp's team of ``torch.get_num_threads()``
threads (all cores by default). When another process holds a core, one team member waits for
the CPU while the others spin at the op's barrier; ops that take microseconds then take a
scheduler tick each. The CLI sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set it
(``lyra_sim.runtime.tune_openmp_wait``); this measures what that buys and what it costs.

    python bench/omp_wait.py [--reps 1] [--out bench/results/omp_wait.json]

Each run is ``lyra-sim export CAPTURE.ply --out DIR --quiet`` in a fresh process (the capture is
bench/export_capture.py's 10k surfel room, seed 7), timed from start to exit; the "busy"
condition runs a pure-Python busy loop (one core) beside it for the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_json  # noqa: E402
from export_capture import capture  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def export_once(ply: Path, out: Path, policy: str) -> dict:
    """Wall seconds of one export command and its report's stage timings."""
    env = {**os.environ, "OMP_WAIT_POLICY": policy, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lyra_sim.cli", "export", str(ply), "--out", str(out), "--quiet"],
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"export failed ({policy}): {proc.stderr[-1500:]}")
    stages = json.loads((out / "report.json").read_text())["timings_seconds"]
    return {"policy": policy, "wall_s": round(wall, 2), "stages_s": stages}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "omp_wait.json")
    args = p.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        ply = capture(10_000, 0, Path(tmp) / "capture_10k.ply")
        before = list(os.getloadavg())
        for condition in ("quiet", "busy"):
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if condition == "busy" else None
            try:
                for rep in range(args.reps):
                    for policy in ("ACTIVE", "PASSIVE"):
                        run = export_once(ply, Path(tmp) / f"{condition}_{policy}_{rep}", policy)
                        runs.append({"condition": condition, **run})
                        print(json.dumps(runs[-1]), flush=True)
            finally:
                if spinner:
                    spinner.kill()
                    spinner.wait()
    best = {}
    for r in runs:
        key = f"{r['condition']}_{r['policy']}"
        best[key] = min(best.get(key, float("inf")), r["wall_s"])
    payload = {"benchmark": "omp_wait", "machine": machine(), "cpus": os.cpu_count(), "load_average_before": before,
               "load_average_after": list(os.getloadavg()), "workload": "lyra-sim export of a 10k-Gaussian surfel capture",
               "runs": runs, "best_wall_s": best}
    write_json(args.out, payload)
    print(json.dumps(best))
    return 0


if __name__ == "__main__":
    sys.exit(main())
