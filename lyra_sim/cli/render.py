"""``lyra-sim render``: fly-through PNG frames, an MP4 and a contact sheet of a 3DGS PLY (settings
:class:`lyra_sim.render.flythrough.RenderCfg`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lyra_sim.cli.shared import add_config_argument, add_overrides_argument, load_command_cfg, progress_display, split_overrides
from lyra_sim.errors import InvalidInputError


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
    # Flags default to None ("not given") so that --config and the overrides can set the field;
    # the documented defaults are RenderCfg's. SCENE and --out may come from the config instead.
    r.add_argument("scene", type=Path, nargs="?", default=None,
                   help="3DGS file: PLY (any SH degree), SuperSplat compressed PLY, .splat or .spz")
    add_overrides_argument(r, metavar="key=value",
                           help="overrides of the config, anywhere on the line (fields of lyra_sim.render.flythrough.RenderCfg), "
                                "e.g. frames=30 up=[0,0,1]")
    r.add_argument("--out", type=Path, default=None, help="output directory")
    r.add_argument("--trajectory", default=None,
                   help="orbit (around the content, all of it in view) | auto (spiral when the scene faces the first "
                        "camera, else orbit) | spiral | left | right | up | down | zoom_in | zoom_out | clockwise | "
                        "counterclockwise | path/to/trajectory.npz (default: orbit)")
    r.add_argument("--frames", type=int, default=None, help="number of frames (default: 60)")
    r.add_argument("--width", type=int, default=None, help="image width in pixels (default: 512)")
    r.add_argument("--height", type=int, default=None, help="image height in pixels (default: 384)")
    r.add_argument("--fov", type=float, default=None, help="vertical field of view in degrees (default: 60)")
    r.add_argument("--movement", type=float, default=None, help="scale of Lyra trajectory motion (default: 1)")
    r.add_argument("--up", type=parse_vec3, default=None,
                   help="world up for orbits, 'x,y,z' (default: 0,-1,0 = OpenCV camera frame; use 0,0,1 for Z-up)")
    r.add_argument("--fps", type=int, default=None, help="video frame rate (default: 24)")
    r.add_argument("--background", type=parse_color, default=None, help="white | black | gray | r,g,b (default: white)")
    r.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    r.add_argument("--no-frames", action="store_true", help="write only the MP4 and the contact sheet")
    r.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    r.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_config_argument(r, help="render config YAML (fields of lyra_sim.render.flythrough.RenderCfg, e.g. frames: 30)")
    r.set_defaults(func=run)
    return r


def cfg_from_args(args: argparse.Namespace):
    """The :class:`~lyra_sim.render.flythrough.RenderCfg` of ``args``: ``--config``, the
    ``key=value`` overrides, then the flags given.

    Raises:
        InvalidInputError: a bad config or override; no scene or no output directory in either
            the command line or the config.
    """
    from lyra_sim.render.config import load_render_cfg

    # `render --out o key=value` (no SCENE) hands the first override to SCENE: take it back.
    scene, extra = split_overrides([] if args.scene is None else [str(args.scene)])
    cfg = load_command_cfg(load_render_cfg, args, {
        "scene": scene[0] if scene else None, "out": None if args.out is None else str(args.out),
        "trajectory": args.trajectory, "frames": args.frames, "width": args.width, "height": args.height,
        "fov": args.fov, "movement": args.movement, "up": args.up, "fps": args.fps, "background": args.background,
        "device": args.device, "write_frames": False if args.no_frames else None,
    }, overrides=[*extra, *args.overrides])
    if cfg.scene is None:
        raise InvalidInputError("no scene to render: give SCENE (a 3DGS file) or scene: in --config")
    if cfg.out is None:
        raise InvalidInputError("no output directory: give --out DIR or out: in --config")
    return cfg


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim render`` with the parsed ``args``; returns the exit code."""
    from lyra_sim.gaussians.formats import detect_format

    cfg = cfg_from_args(args)  # first: a bad setting or file fails before torch loads, with nothing written
    detect_format(cfg.scene)  # a missing or unreadable scene file: one line, before torch loads

    import torch

    from lyra_sim.gaussians.formats import read_gaussians
    from lyra_sim.render.flythrough import preview_cameras, render_flythrough

    device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    t0 = time.perf_counter()
    scene = read_gaussians(cfg.scene, device=device)
    cameras = preview_cameras(
        scene, cfg.trajectory, cfg.frames, cfg.width, cfg.height, cfg.fov, cfg.movement, up=tuple(cfg.up)
    )
    with progress_display(quiet=args.quiet) as progress:
        files = render_flythrough(
            scene,
            cameras,
            cfg.out,
            fps=cfg.fps,
            background=tuple(cfg.background),
            overwrite=args.overwrite,
            write_frames=cfg.write_frames,
            progress=progress,
        )
    if not args.quiet:
        print(f"{len(scene):,} Gaussians, {len(cameras)} frames of {cameras.width}x{cameras.height} on {device} "
              f"in {time.perf_counter() - t0:.1f} s")
        print(f"video:         {files.video}")
        print(f"contact sheet: {files.contact_sheet}")
        if files.frames:
            print(f"frames:        {files.frames[0].parent}/frame_*.png")
    return 0
