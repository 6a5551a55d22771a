"""Synthetic data generation speed with the procedural teacher, and the DCT codec's PSNR.

    python bench/sdg.py [--frames 49] [--kinds room warehouse office corridor outdoor street] [--threads N]

For each scene kind: one full scene (6 trajectories x 49 frames at 176x320, latents with the
DCT codec, written to disk in Lyra's layout) with and without shadows; reports seconds per
scene, scenes per minute on this machine, and the codec's reconstruction PSNR on the teacher's
own frames. Target (issue 4): >= 6 scenes per minute on 2 cores. ``cpu s`` is this process's
CPU time for the scene (ffmpeg's encoder processes not included): the number to compare when
other work shares the machine and wall times are noisy.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from common import machine, write_json

from lyra_sim.codecs import load_codec
from lyra_sim.data import write_scene
from lyra_sim.runtime import tune_cpu_allocator
from lyra_sim.teachers import ProceduralTeacher, TeacherRequest

PROMPTS = {
    "room": "a cozy living room with a sofa",
    "warehouse": "a warehouse with tall shelves",
    "office": "an office with desks",
    "corridor": "a hospital hallway",
    "outdoor": "grassy hills with rocks",
    "street": "a city street with parked cars",
}


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of [0, 1] images."""
    mse = float(((a - b) ** 2).mean())
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--kinds", nargs="+", default=list(PROMPTS))
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "sdg.json")
    args = parser.parse_args()
    tune_cpu_allocator()
    if args.threads:
        torch.set_num_threads(args.threads)
    codec = load_codec("dct-t8")
    rows = []
    print(f"{'kind':>10} {'shadows':>8} {'render s':>9} {'codec s':>8} {'write s':>8} {'total s':>8} {'scenes/min':>10} {'cpu s':>7} {'DCT PSNR dB':>11}")
    for kind in args.kinds:
        for shadows in (True, False):
            teacher = ProceduralTeacher(codec=False, shadows=shadows)
            request = TeacherRequest(prompt=PROMPTS[kind], seed=0, num_frames=args.frames, width=320, height=176)
            c0, t0 = time.process_time(), time.perf_counter()
            output = teacher.generate(request)
            t1 = time.perf_counter()
            for video in output.trajectories:
                video.latents = codec.encode(video.frames.permute(1, 0, 2, 3)[None] * 2 - 1)[0]
            t2 = time.perf_counter()
            tmp = Path(tempfile.mkdtemp())
            try:
                write_scene(output, tmp / "scene")
            finally:
                shutil.rmtree(tmp)
            t3, c3 = time.perf_counter(), time.process_time()
            recon = codec.decode(torch.stack([v.latents for v in output.trajectories]))  # [6, 3, T, H, W]
            frames = torch.stack([v.frames.permute(1, 0, 2, 3) for v in output.trajectories])
            quality = psnr((recon.clamp(-1, 1) + 1) / 2, frames)
            total = t3 - t0
            row = {"kind": kind, "shadows": shadows, "frames": args.frames, "render_s": round(t1 - t0, 2), "codec_s": round(t2 - t1, 2),
                   "write_s": round(t3 - t2, 2), "total_s": round(total, 2), "scenes_per_min": round(60 / total, 2),
                   "cpu_s": round(c3 - c0, 2), "dct_psnr_db": round(quality, 2)}
            rows.append(row)
            print(f"{kind:>10} {str(shadows):>8} {row['render_s']:>9.2f} {row['codec_s']:>8.2f} {row['write_s']:>8.2f} {total:>8.2f} "
                  f"{row['scenes_per_min']:>10.2f} {row['cpu_s']:>7.2f} {quality:>11.2f}")
    for shadows in (True, False):
        sel = [r for r in rows if r["shadows"] == shadows]
        mean_total = sum(r["total_s"] for r in sel) / len(sel)
        print(f"mean over kinds, shadows={shadows}: {mean_total:.1f} s per scene = {60 / mean_total:.2f} scenes/min")
    write_json(args.out, {"benchmark": "sdg", "machine": machine(), "threads": torch.get_num_threads(), "results": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
