"""Benchmark write_ply / read_ply on random scenes.

    python bench/ply.py [--sizes 2000000 10000000] [--sh-degree 3] [--out bench/results/ply.json]

Each size: build a random scene, time write_ply (to a new file) and read_ply (best of --repeats
runs; the file was just written, so reads hit a warm page cache: this measures parsing and
conversion, not the disk; writes end in the page cache, as write_ply does not fsync), record
the file size and the process's peak RSS so far (ru_maxrss, monotonic over the run, so run one
size per process to attribute it exactly). Files go to a temporary directory (default /tmp)
and are deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from lyra_sim.gaussians.ply import read_ply, write_ply
from lyra_sim.gaussians.scene import GaussianScene
from lyra_sim.gaussians.sh import num_sh_bases


def random_scene(n: int, degree: int, seed: int = 0) -> GaussianScene:
    g = torch.Generator().manual_seed(seed)
    return GaussianScene(
        means=torch.randn(n, 3, generator=g) * 5,
        quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g), dim=-1),
        scales=torch.exp(torch.randn(n, 3, generator=g) - 4),
        opacities=torch.rand(n, generator=g),
        sh=torch.randn(n, num_sh_bases(degree), 3, generator=g) * 0.3,
    )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def best_of(repeats: int, fn, setup=lambda: None) -> tuple[float, float, float]:
    """(wall, user CPU, system CPU) seconds of the fastest of ``repeats`` runs of ``fn``."""
    runs = []
    for _ in range(repeats):
        setup()
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        fn()
        wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
        runs.append((wall, r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime))
    return min(runs)


def bench(n: int, degree: int, repeats: int, tmpdir: Path) -> dict:
    scene = random_scene(n, degree)
    path = tmpdir / f"bench_{n}_{degree}.ply"
    try:
        # A fresh file each time: renaming onto an existing one makes ext4 flush it (auto_da_alloc).
        # os.sync() between runs (untimed) so the kernel writing back the previous file to disk does
        # not compete with the timed run: we time the code, not the disk.
        def fresh() -> None:
            path.unlink(missing_ok=True)
            os.sync()

        write_s, write_user, write_sys = best_of(repeats, lambda: write_ply(scene, path), setup=fresh)
        size = path.stat().st_size
        scene = None  # free it before the reads are timed
        read_s, read_user, read_sys = best_of(repeats, lambda: read_ply(path), setup=os.sync)
    finally:
        path.unlink(missing_ok=True)
    return {
        "gaussians": n,
        "sh_degree": degree,
        "file_mib": round(size / 2**20, 1),
        "write_s": round(write_s, 3),
        "read_s": round(read_s, 3),
        "write_mib_s": round(size / 2**20 / write_s, 1),
        "read_mib_s": round(size / 2**20 / read_s, 1),
        # System time here is mostly page faults on freshly allocated memory; on some VMs first
        # touches of memory are slow and dominate the wall time of the large sizes.
        "write_cpu_user_s": round(write_user, 3),
        "write_cpu_sys_s": round(write_sys, 3),
        "read_cpu_user_s": round(read_user, 3),
        "read_cpu_sys_s": round(read_sys, 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000_000, 10_000_000])
    parser.add_argument("--sh-degree", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tmpdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--out", type=Path, default=Path("bench/results/ply.json"))
    args = parser.parse_args()

    rows = [bench(n, args.sh_degree, args.repeats, args.tmpdir) for n in args.sizes]
    print(f"{'gaussians':>11} {'deg':>3} {'file MiB':>9} {'write s (user/sys)':>19} {'read s (user/sys)':>19} "
          f"{'write MiB/s':>11} {'read MiB/s':>10} {'peak RSS MiB':>12}")
    for r in rows:
        w = f"{r['write_s']:.2f} ({r['write_cpu_user_s']:.2f}/{r['write_cpu_sys_s']:.2f})"
        rd = f"{r['read_s']:.2f} ({r['read_cpu_user_s']:.2f}/{r['read_cpu_sys_s']:.2f})"
        print(
            f"{r['gaussians']:>11,} {r['sh_degree']:>3} {r['file_mib']:>9} {w:>19} {rd:>19} "
            f"{r['write_mib_s']:>11} {r['read_mib_s']:>10} {r['peak_rss_mib']:>12}"
        )
    print(f"best of {args.repeats} runs each; reads hit a warm page cache (the file was just written)")
    result = {
        "benchmark": "ply",
        "note": f"best of {args.repeats}; page cache warm; peak RSS is cumulative over sizes in this process",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__},
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
