"""``lyra-sim info``: what a 3DGS file holds (format, count, SH degree, bounds, scale and opacity statistics);
any format :func:`lyra_sim.gaussians.formats.read_gaussians` reads."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim info`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    i = sub.add_parser("info", help="print what a 3DGS file (PLY, compressed PLY, .splat, .spz) holds")
    i.add_argument("scene", type=Path, help="3DGS file: PLY, SuperSplat compressed PLY, antimatter15 .splat or Niantic .spz")
    i.set_defaults(func=run)
    return i


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim info`` with the parsed ``args``; returns the exit code. numpy only: looking
    at a file never imports torch."""
    import numpy as np

    from lyra_sim.gaussians.formats import detect_format, read_gaussian_arrays

    fmt = detect_format(args.scene)
    scene = read_gaussian_arrays(args.scene)
    label = fmt.label
    if fmt.name in ("ply", "compressed-ply"):
        from lyra_sim.gaussians.ply_header import read_ply_header

        label += f", {read_ply_header(args.scene).format}"
    print(f"file:       {args.scene} ({Path(args.scene).stat().st_size / 1e6:.1f} MB, {label})")
    print(f"gaussians:  {len(scene):,}")
    print(f"sh degree:  {scene.sh_degree}")
    if len(scene) == 0:
        return 0
    lo, hi = scene.bounds().tolist()
    qlo, qhi = scene.bounds(quantile=0.01).tolist()

    def fmt(v: list[float]) -> str:
        return "(" + ", ".join(f"{x:.3f}" for x in v) + ")"

    print(f"bounds:     min {fmt(lo)}  max {fmt(hi)}")
    print(f"bounds 98%: min {fmt(qlo)}  max {fmt(qhi)}")
    s = scene.scales.max(-1)
    print(f"scale:      median {np.median(s):.4g}, 99th pct {np.quantile(s[:1_000_000], 0.99):.4g}, max {s.max():.4g} (largest axis)")
    print("opacity:")
    counts, _ = np.histogram(scene.opacities, bins=10, range=(0.0, 1.0))
    width = 40
    for i, c in enumerate(counts.tolist()):
        bar = "#" * int(round(width * c / max(counts.max(), 1)))
        print(f"  {i / 10:.1f}-{(i + 1) / 10:.1f} {int(c):>10,} {bar}")
    return 0
