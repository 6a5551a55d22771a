"""``lyra-sim render``: fly-through PNG frames, an MP4 and a contact sheet of a 3DGS PLY."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lyra_sim.cli.shared import progress_bar


def parse_color(text: str) -> tuple[float, float, float]:
    """``white`` / ``black`` / ``gray`` or ``r,g,b`` in [0, 1] -> (r, g, b)."""
    named = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0), "gray": (0.5, 0.5, 0.5)}
    if text in named:
        return named[text]
    try:
        r, g, b = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"colour must be white, black, gray or 'r,g,b' in [0, 1], got {text!r}") from None
    return (r, g, b)


def parse_vec3(text: str) -> tuple[float, float, float]:
    """``x,y,z`` -> (x, y, z)."""
    try:
        x, y, z = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'x,y,z', got {text!r}") from None
    return (x, y, z)


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim render`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    r = sub.add_parser("render", help="render a fly-through (PNG frames, MP4, contact sheet) of a 3DGS PLY")
    r.add_argument("scene", type=Path, help="3DGS file: PLY (any SH degree), SuperSplat compressed PLY, .splat or .spz")
    r.add_argument("--out", type=Path, required=True, help="output directory")
    r.add_argument("--trajectory", default="auto",
                   help="auto | spiral | orbit | left | right | up | down | zoom_in | zoom_out | clockwise | "
                        "counterclockwise | path/to/trajectory.npz (default: auto)")
    r.add_argument("--frames", type=int, default=60, help="number of frames (default: 60)")
    r.add_argument("--width", type=int, default=512, help="image width in pixels (default: 512)")
    r.add_argument("--height", type=int, default=384, help="image height in pixels (default: 384)")
    r.add_argument("--fov", type=float, default=60.0, help="vertical field of view in degrees (default: 60)")
    r.add_argument("--movement", type=float, default=1.0, help="scale of Lyra trajectory motion (default: 1)")
    r.add_argument("--up", type=parse_vec3, default=(0.0, -1.0, 0.0),
                   help="world up for orbits, 'x,y,z' (default: 0,-1,0 = OpenCV camera frame; use 0,0,1 for Z-up)")
    r.add_argument("--fps", type=int, default=24, help="video frame rate (default: 24)")
    r.add_argument("--background", type=parse_color, default=(1.0, 1.0, 1.0), help="white | black | gray | r,g,b (default: white)")
    r.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    r.add_argument("--no-frames", action="store_true", help="write only the MP4 and the contact sheet")
    r.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    r.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    r.set_defaults(func=run)
    return r


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim render`` with the parsed ``args``; returns the exit code."""
    import torch

    from lyra_sim.gaussians.formats import read_gaussians
    from lyra_sim.render.flythrough import preview_cameras, render_flythrough

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    t0 = time.perf_counter()
    scene = read_gaussians(args.scene, device=device)
    cameras = preview_cameras(
        scene, args.trajectory, args.frames, args.width, args.height, args.fov, args.movement, up=args.up
    )
    with progress_bar("rendering", len(cameras), quiet=args.quiet) as advance:
        files = render_flythrough(
            scene,
            cameras,
            args.out,
            fps=args.fps,
            background=args.background,
            overwrite=args.overwrite,
            write_frames=not args.no_frames,
            on_frame=lambda i: advance(),
        )
    if not args.quiet:
        print(f"{len(scene):,} Gaussians, {len(cameras)} frames of {cameras.width}x{cameras.height} on {device} "
              f"in {time.perf_counter() - t0:.1f} s")
        print(f"video:         {files.video}")
        print(f"contact sheet: {files.contact_sheet}")
        if files.frames:
            print(f"frames:        {files.frames[0].parent}/frame_*.png")
    return 0
