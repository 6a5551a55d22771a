"""``lyra-sim convert IN OUT``: a 3DGS file from one format to another (PLY, SuperSplat compressed
PLY, antimatter15 .splat, Niantic .spz), the input's format told by its content, the output's by
its name or ``--format``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim convert`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    c = sub.add_parser("convert", help="convert a 3DGS file between PLY, compressed PLY, .splat and .spz")
    c.add_argument("input", type=Path, help="3DGS file: PLY, SuperSplat compressed PLY, antimatter15 .splat or Niantic .spz (detected by content)")
    c.add_argument("output", type=Path, help="output file; its name picks the format: *.ply, *.compressed.ply, *.splat, *.spz")
    c.add_argument("--format", choices=["ply", "compressed-ply", "splat", "spz"], default=None,
                   help="output format, whatever the output's name (default: from the name)")
    c.add_argument("--spz-version", type=int, choices=[2, 3, 4], default=3,
                   help="SPZ version to write: 3 (default, gzip, read by every viewer), 2 (old readers) or 4 (zstd)")
    c.add_argument("--overwrite", action="store_true", help="replace an existing output")
    c.add_argument("--quiet", action="store_true", help="no summary line")
    c.set_defaults(func=run)
    return c


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim convert`` with the parsed ``args``; returns the exit code."""
    import time
    import warnings

    from lyra_sim.gaussians.formats import LABELS, detect_format, format_for_path, read_gaussians, write_gaussians

    t0 = time.perf_counter()
    source = detect_format(args.input)
    target = args.format or format_for_path(args.output)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = read_gaussians(args.input)
        path = write_gaussians(scene, args.output, format=target, overwrite=args.overwrite, spz_version=args.spz_version)
    for w in caught:  # trailing bytes, dropped SH bands, skipped extensions: one line each
        print(f"lyra-sim convert: warning: {w.message}", file=sys.stderr)
    if not args.quiet:
        label = LABELS[target] + (f" v{args.spz_version}" if target == "spz" else "")
        print(f"{source.label} -> {label}: {len(scene):,} Gaussians (SH degree {scene.sh_degree}), "
              f"{args.input.stat().st_size / 1e6:.1f} MB -> {path.stat().st_size / 1e6:.1f} MB "
              f"in {time.perf_counter() - t0:.1f} s: {path}")
    return 0
