"""Peak memory of ``lyra-sim render`` at its default size on scenes that blow up the compositor.

The torch compositor's memory grows with (Gaussian, pixel) pairs; a scene of large splats made
21 GB for one 512x384 frame before views were rendered in bands (lyra_sim/render/bands.py).
This renders the example room with its splats scaled by 1x, 4x and 8x (more pairs per frame)
through the real command (``lyra-sim render SCENE --out DIR frames=N``, default 512x384) in a
fresh process each, and records the peak RSS of that process (issue 18: <= 2 GB).

    python bench/render_memory.py [--scales 1 4 8] [--frames 2] [--out bench/results/render_memory.json]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_json  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCENE = REPO / "scenes" / "example_room" / "scene.ply"
TARGET_GB = 2.0


def scaled_scene(scale: float, out: Path) -> Path:
    """The example room with every splat's scales multiplied by ``scale``, written as a PLY."""
    from lyra_sim.gaussians import GaussianScene, read_gaussians, write_gaussians

    s = read_gaussians(SCENE)
    return write_gaussians(GaussianScene(s.means, s.quats, s.scales * scale, s.opacities, s.sh), out)


def peak_of_render(scene: Path, out: Path, frames: int) -> tuple[float, float, str]:
    """(peak RSS GB, seconds, stderr tail) of one ``lyra-sim render`` process."""
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run([sys.executable, "-m", "lyra_sim.cli", "render", str(scene), "--out", str(out), f"frames={frames}",
                           "--no-frames", "--quiet"], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    # ru_maxrss of children is the largest child so far: run the biggest scale last or read per run.
    return max(peak, before) / 1e6, time.perf_counter() - t0, done.stderr[-500:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 4.0, 8.0])
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "render_memory.json")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for scale in sorted(args.scales):  # ascending: the children's running maximum is this run's peak
            ply = scaled_scene(scale, Path(tmp) / f"room_x{scale:g}.ply")
            peak, seconds, _ = peak_of_render(ply, Path(tmp) / f"out_x{scale:g}", args.frames)
            rows.append({"splat_scale": scale, "frames": args.frames, "size": "512x384", "peak_rss_gb": round(peak, 2),
                         "seconds": round(seconds, 1), "meets_target": peak <= TARGET_GB})
            print(f"scales x{scale:g}: peak {peak:.2f} GB, {seconds:.0f} s", flush=True)
    payload = {"benchmark": "render_memory", "target_gb": TARGET_GB, "rows": rows,
               "machine": machine()}
    write_json(args.out, payload)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
