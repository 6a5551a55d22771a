"""``lyra-sim sdg``: synthetic training data; a teacher renders prompts into Lyra-layout scenes."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lyra_sim.cli.shared import progress_bar
from lyra_sim.errors import InvalidInputError, LyraSimError


def parse_trajectories(text: str) -> list[str]:
    """``left,right,zoom_out`` -> Lyra camera path names, each one of ``LYRA_TRAJECTORIES``."""
    from lyra_sim.cameras.trajectories import LYRA_TRAJECTORIES

    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in LYRA_TRAJECTORIES]
    if not names or unknown:
        raise InvalidInputError(f"--trajectories: unknown {unknown or 'empty list'}; choose from {', '.join(LYRA_TRAJECTORIES)}")
    return names


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim sdg`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    g = sub.add_parser("sdg", help="synthetic data generation: render prompts with a teacher into Lyra-layout scenes")
    g.add_argument("--teacher", default="procedural", help="teacher to use (default: procedural, the embedded one)")
    g.add_argument("--prompts", type=Path, required=True, help="text file, one prompt per line (see configs/prompts/)")
    g.add_argument("--num-scenes", type=int, required=True, help="scenes in the whole run (all shards)")
    g.add_argument("--out", type=Path, required=True, help="dataset root; scene i goes to OUT/<i:06d>/")
    g.add_argument("--shard", default=None, help="k/N: make only scenes with index %% N == k (default: all)")
    g.add_argument("--seed", type=int, default=0, help="base seed; scene i uses seed + i (default: 0)")
    g.add_argument("--frames", type=int, default=49, help="frames per trajectory (Lyra: 121; default: 49)")
    g.add_argument("--width", type=int, default=320, help="frame width (default: 320)")
    g.add_argument("--height", type=int, default=176, help="frame height (default: 176)")
    g.add_argument("--movement", type=float, default=1.0, help="trajectory movement factor (default: 1)")
    g.add_argument("--dynamic", action="store_true", help="moving scenes, 12 trajectories (6 + time-flipped copies)")
    g.add_argument("--trajectories", default=None,
                   help="comma-separated subset of Lyra's camera paths, e.g. left,right,zoom_out (default: all six)")
    g.add_argument("--codec", default="dct", help="latent codec: dct | dct-t1 | dct-t4 | dct-t8 (default: dct = dct-t8)")
    g.add_argument("--no-shadows", action="store_true", help="skip shadow rays (about 1.5x faster)")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=run)
    return g


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim sdg`` with the parsed ``args``; returns the exit code."""
    from lyra_sim.data.sdg import generate_dataset, summary_name
    from lyra_sim.io.prompts import read_prompts
    from lyra_sim.io.shards import Shard
    from lyra_sim.teachers import ProceduralTeacher

    if args.teacher != "procedural":
        raise LyraSimError(f"teacher {args.teacher!r} is not available yet; use --teacher procedural")
    prompts = read_prompts(args.prompts)
    shard = Shard.parse(args.shard)
    teacher = ProceduralTeacher(codec=args.codec, shadows=not args.no_shadows)
    defaults = {"num_frames": args.frames, "width": args.width, "height": args.height, "dynamic": args.dynamic,
                "movement_factor": args.movement}
    if args.trajectories:
        defaults["trajectories"] = tuple(parse_trajectories(args.trajectories))
    mine = sum(1 for i in range(args.num_scenes) if shard.owns(i))
    t0 = time.perf_counter()
    with progress_bar(f"sdg {shard.index}/{shard.count}", mine, quiet=args.quiet) as advance:
        summary = generate_dataset(teacher, prompts, args.num_scenes, args.out, shard, args.seed, defaults,
                                   on_scene=lambda i, what: advance())
    if not args.quiet:
        print(f"{summary['complete']}/{summary['expected']} scenes of shard {summary['shard']} in {args.out} "
              f"({time.perf_counter() - t0:.1f} s); summary: {Path(args.out) / summary_name(shard)}")
    return 0
