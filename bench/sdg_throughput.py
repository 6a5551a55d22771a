"""SDG throughput as a user runs it: N ``lyra-sim sdg`` shards at once, one thread each.

    python bench/sdg_throughput.py [--shards 2] [--scenes 8] [--frames 49] [--no-shadows]

Each shard is a separate process (``--shard i/N``, ``OMP_NUM_THREADS=1``): on a 2-core machine two
single-threaded shards beat one two-threaded process, whose OpenMP threads wait on each other.
Reports wall-clock scenes per minute for the whole run at Lyra's first-stage size (6 trajectories
x 49 frames at 176x320), writing bench/results/sdg_throughput.json. Target (issue 4): >= 6.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, write_json

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shards", type=int, default=2)
    p.add_argument("--scenes", type=int, default=8)
    p.add_argument("--frames", type=int, default=49)
    p.add_argument("--no-shadows", action="store_true")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "sdg_throughput.json")
    args = p.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "lyra_sim.cli", "sdg", "--prompts", str(REPO / "configs/prompts/sdg_prompts.txt"),
               "--num-scenes", str(args.scenes), "--out", str(Path(tmp) / "sdg"), "--frames", str(args.frames),
               "--width", "320", "--height", "176", "--workers", "1", "--quiet"] + (["--no-shadows"] if args.no_shadows else [])
        t0 = time.perf_counter()
        procs = [subprocess.Popen([*cmd, "--shard", f"{i}/{args.shards}"], env=env) for i in range(args.shards)]
        codes = [proc.wait() for proc in procs]
        wall = time.perf_counter() - t0
        made = sum(1 for d in (Path(tmp) / "sdg").iterdir() if (d / "scene.json").is_file())
    if any(codes) or made != args.scenes:
        print(f"sdg failed: exit codes {codes}, {made}/{args.scenes} scenes", file=sys.stderr)
        return 1
    rate = 60 * made / wall
    print(f"{made} scenes in {wall:.1f} s with {args.shards} shards x 1 thread: {rate:.2f} scenes/min "
          f"({'shadows off' if args.no_shadows else 'shadows on'}, 6 x {args.frames} frames at 176x320)")
    write_json(args.out, {"benchmark": "sdg_throughput", "machine": machine(), "shards": args.shards, "scenes": made,
                          "frames": args.frames, "shadows": not args.no_shadows, "wall_s": round(wall, 1),
                          "scenes_per_min": round(rate, 2), "target_scenes_per_min": 6})
    return 0


if __name__ == "__main__":
    sys.exit(main())
