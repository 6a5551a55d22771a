"""``lyra-sim sdg``: synthetic training data; a teacher renders prompts into Lyra-layout scenes
(settings :class:`lyra_sim.data.sdg.SdgCfg`), one task per scene on worker processes here or on
Ray (``--executor``)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lyra_sim.cli.shared import (add_config_argument, add_executor_arguments, add_overrides_argument, batch_progress,
                                 executor_cfg_from_args, load_command_cfg)
from lyra_sim.errors import InvalidInputError, LyraSimError


def parse_trajectories(text: str) -> list[str]:
    """``left,right,zoom_out`` -> Lyra camera path names, each one of ``LYRA_TRAJECTORIES``."""
    return check_trajectories([t.strip() for t in text.split(",") if t.strip()])


def check_trajectories(names: list[str]) -> list[str]:
    """``names`` when each is one of ``LYRA_TRAJECTORIES`` and there is at least one."""
    from lyra_sim.cameras.trajectories import LYRA_TRAJECTORIES

    unknown = [n for n in names if n not in LYRA_TRAJECTORIES]
    if not names or unknown:
        raise InvalidInputError(f"--trajectories: unknown {unknown or 'empty list'}; choose from {', '.join(LYRA_TRAJECTORIES)}")
    return list(names)


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim sdg`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    g = sub.add_parser("sdg", help="synthetic data generation: render prompts with a teacher into Lyra-layout scenes")
    # Flags default to None ("not given") so that --config and the overrides can set the field;
    # the documented defaults are SdgCfg's. --prompts, --num-scenes and --out may come from the config.
    g.add_argument("--teacher", default=None, help="teacher to use (default: procedural, the embedded one)")
    g.add_argument("--prompts", type=Path, default=None, help="text file, one prompt per line (see configs/prompts/)")
    g.add_argument("--num-scenes", type=int, default=None, help="scenes in the whole run (all shards)")
    g.add_argument("--out", type=Path, default=None, help="dataset root; scene i goes to OUT/<i:06d>/")
    g.add_argument("--shard", default=None, help="k/N: make only scenes with index %% N == k (default: all)")
    g.add_argument("--seed", type=int, default=None, help="base seed; scene i uses seed + i (default: 0)")
    g.add_argument("--frames", type=int, default=None, help="frames per trajectory (Lyra: 121; default: 49)")
    g.add_argument("--width", type=int, default=None, help="frame width (default: 320)")
    g.add_argument("--height", type=int, default=None, help="frame height (default: 176)")
    g.add_argument("--movement", type=float, default=None, help="trajectory movement factor (default: 1)")
    g.add_argument("--dynamic", action="store_true", help="moving scenes, 12 trajectories (6 + time-flipped copies)")
    g.add_argument("--trajectories", default=None,
                   help="comma-separated subset of Lyra's camera paths, e.g. left,right,zoom_out (default: all six)")
    g.add_argument("--codec", default=None, help="latent codec: dct | dct-t1 | dct-t4 | dct-t8 (default: dct = dct-t8)")
    g.add_argument("--no-shadows", action="store_true", help="skip shadow rays (about 1.5x faster)")
    add_executor_arguments(g, "scene")
    g.add_argument("--quiet", action="store_true")
    add_config_argument(g, help="sdg config YAML (fields of lyra_sim.data.sdg.SdgCfg, e.g. num_scenes: 100)")
    add_overrides_argument(g, metavar="key=value", help="key=value overrides of the config, e.g. frames=121 trajectories=[left,right]")
    g.set_defaults(func=run)
    return g


def cfg_from_args(args: argparse.Namespace):
    """The :class:`~lyra_sim.data.sdg.SdgCfg` of ``args``: ``--config``, the ``key=value``
    overrides, then the flags given.

    Raises:
        InvalidInputError: a bad config or override, unknown trajectories; no prompts, number of
            scenes or output root in either the command line or the config.
    """
    from lyra_sim.data.sdg_config import load_sdg_cfg

    cfg = load_command_cfg(load_sdg_cfg, args, {
        "teacher": args.teacher, "prompts": None if args.prompts is None else str(args.prompts),
        "num_scenes": args.num_scenes, "out": None if args.out is None else str(args.out), "shard": args.shard,
        "seed": args.seed, "frames": args.frames, "width": args.width, "height": args.height, "movement": args.movement,
        "dynamic": True if args.dynamic else None,
        "trajectories": parse_trajectories(args.trajectories) if args.trajectories else None,
        "codec": args.codec, "shadows": False if args.no_shadows else None,
    })
    for field, flag in (("prompts", "--prompts FILE"), ("num_scenes", "--num-scenes N"), ("out", "--out DIR")):
        if getattr(cfg, field) is None:
            raise InvalidInputError(f"no {field} given: give {flag} or {field}: in --config")
    if cfg.trajectories is not None:
        cfg.trajectories = check_trajectories(cfg.trajectories)
    return cfg


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim sdg`` with the parsed ``args``; returns the exit code."""
    cfg = cfg_from_args(args)  # first: a bad setting is refused before torch loads

    from lyra_sim.data.sdg import generate_dataset
    from lyra_sim.io.prompts import read_prompts
    from lyra_sim.io.shards import Shard
    from lyra_sim.teachers import ProceduralTeacher

    if cfg.teacher != "procedural":
        raise LyraSimError(f"teacher {cfg.teacher!r} is not available yet; use --teacher procedural")
    executor = executor_cfg_from_args(args)
    prompts = read_prompts(cfg.prompts)
    shard = Shard.parse(cfg.shard)
    teacher = ProceduralTeacher(codec=cfg.codec, shadows=cfg.shadows)
    mine = sum(1 for i in range(cfg.num_scenes) if shard.owns(i))
    t0 = time.perf_counter()
    with batch_progress(f"sdg {shard} ({executor.kind})", mine, quiet=args.quiet) as on_event:
        result = generate_dataset(teacher, prompts, cfg.num_scenes, cfg.out, shard, cfg.seed, cfg.request_defaults(),
                                  executor=executor, on_event=on_event)
    if not args.quiet:
        print(f"shard {shard} of {cfg.out}: {len(result.made)} scenes made, {len(result.skipped)} already there, "
              f"{len(result.failed)} failed in {time.perf_counter() - t0:.1f} s; index: {result.index} "
              f"(lyra-sim batch-report {cfg.out})")
    return 1 if result.failed else 0
