"""``lyra-sim view``: a world or a splat file in the browser (viser), until Ctrl-C
(:func:`lyra_sim.viewer.view`)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim view`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    v = sub.add_parser("view", help="look at a world (Gaussians, collider, spawn points, robot) in the browser")
    v.add_argument("path", type=Path,
                   help="a folder written by `lyra-sim generate` or `lyra-sim export`, a world .usda written by "
                        "`lyra-sim world`, or a splat file (PLY, compressed PLY, .splat, .spz)")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; 0.0.0.0 for other machines)")
    v.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080; 0: any free port)")
    v.add_argument("--time", type=float, default=None, help="a 4D world's instant shown first, in [0, 1] (default: the first)")
    v.add_argument("--max-splats", type=int, default=None,
                   help="Gaussians sent to the browser per scene and time; more are randomly subsampled (default: 1000000)")
    v.set_defaults(func=run)
    return v


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim view`` with the parsed ``args``; returns the exit code (0 after Ctrl-C)."""
    from lyra_sim.errors import InvalidInputError
    from lyra_sim.viewer import DEFAULT_MAX_SPLATS, view

    if args.max_splats is not None and args.max_splats < 1:
        raise InvalidInputError(f"--max-splats must be at least 1, got {args.max_splats}")
    view(args.path, host=args.host, port=args.port, time=args.time,
         max_splats=args.max_splats or DEFAULT_MAX_SPLATS, block=True,
         say=lambda line: print(line, flush=True), warn=lambda line: print(line, file=sys.stderr, flush=True))
    # Stopped by Ctrl-C. viser's server threads are not daemons and can outlive its stop(); the
    # command has written nothing, so it ends now instead of waiting for them at exit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
