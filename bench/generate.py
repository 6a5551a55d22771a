"""Time ``lyra-sim generate`` end to end on the embedded default (issue 8: under 2 minutes on 2 cores).

Each prompt runs in a fresh process, exactly as a user's ``lyra-sim generate --prompt P --out D``
(imports and model loading included), with the default config (configs/generate/default.yaml).
Writes bench/results/generate.json: wall time per prompt, the per-stage seconds from the
report, peak RSS, and the world's numbers (Gaussians, spawn points, physics check, PSNR).

    python bench/generate.py [--prompts "a living room" "a warehouse with shelves" ...]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_json

PROMPTS = ["a living room", "a warehouse with shelves", "a long corridor", "an outdoor slope with rocks"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", nargs="+", default=PROMPTS)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "generate.json")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, prompt in enumerate(args.prompts):
            out = Path(tmp) / f"w{i}"
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "lyra_sim.cli", "generate", "--prompt", prompt, "--out", str(out), "--quiet"],
                                  capture_output=True, text=True)
            wall = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
            if proc.returncode not in (0, 1):
                print(proc.stderr, file=sys.stderr)
                return proc.returncode
            report = json.loads((out / "report.json").read_text())
            gen = report["generate"]
            rows.append({"prompt": prompt, "wall_seconds": round(wall, 1), "stage_seconds": gen["stage_seconds"],
                         "peak_rss_gb_max_so_far": round(peak, 2), "gaussians": gen["gaussians"][0],
                         "psnr_db": gen["self_consistency"][0]["psnr_db"], "spawn_points": len(report["spawn_points"]),
                         "physics_check": report["physics_check"]["status"], "exit_code": proc.returncode})
            print(f"{prompt:<32} {wall:6.1f} s  " + "  ".join(f"{k} {v:.1f}" for k, v in gen["stage_seconds"].items())
                  + f"  | {rows[-1]['spawn_points']} spawn, physics {rows[-1]['physics_check']}, {rows[-1]['psnr_db']:.2f} dB")
    write_json(args.out, {"machine": machine(), "target_seconds": 120, "runs": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
