"""``lyra-sim world``: exported scenes and robots composed into one world USD with N randomized
environments (:func:`lyra_sim.sim.compose_world`, settings :class:`lyra_sim.sim.WorldCfg`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lyra_sim.cli.shared import add_config_argument, add_overrides_argument, load_command_cfg, split_overrides
from lyra_sim.errors import LyraSimError


def load_world_cfg(path: Path | None = None, overrides: list[str] = ()):
    """:class:`lyra_sim.sim.WorldCfg` from defaults, then a YAML file, then ``key=value`` overrides
    (``randomization.lighting.intensity_range=[1e4,2e4]``)."""
    from lyra_sim.config import load_structured
    from lyra_sim.sim import WorldCfg

    return load_structured(WorldCfg, path, overrides, what="world config")


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim world`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    w = sub.add_parser("world", help="compose exported scenes and robots into one world USD (N randomized environments)")
    w.add_argument("scenes", nargs="*", metavar="SCENE_DIR", help="folders written by `lyra-sim export` (one or more)")
    add_overrides_argument(w, metavar="key=value", help="overrides of the config, anywhere on the line "
                           "(fields of lyra_sim.sim.WorldCfg, e.g. randomization.robot.drop_height=0.05)")
    w.add_argument("--robot", default="builtin",
                   help="h1 | g1 (Isaac Sim assets) | builtin (lyra-sim's humanoid) | PATH to a robot USD | none (default: builtin)")
    w.add_argument("--num-envs", type=int, default=None, help="environments on the grid (default: 1)")
    w.add_argument("--seed", type=int, default=None, help="randomization seed; environment i draws from (seed, i) (default: 0)")
    w.add_argument("--out", type=Path, required=True, help="world file (.usda / .usdc)")
    w.add_argument("--env-spacing", type=float, default=None, help="grid spacing in metres (default: from the widest scene)")
    w.add_argument("--ragdoll", action="store_true", help="unpowered robots: joint drive stiffness 0, passive damping kept (WorldCfg.ragdoll_joint_damping)")
    w.add_argument("--assets-root", default=None, help="Isaac Sim assets root for h1/g1 (default: $ISAACSIM_ASSET_ROOT)")
    w.add_argument("--replay", type=Path, default=None, help="reuse the draws recorded in an earlier world .usda")
    w.add_argument("--overwrite", action="store_true", help="replace an existing output")
    w.add_argument("--quiet", action="store_true", help="no summary")
    add_config_argument(w, help="world config YAML (fields of lyra_sim.sim.WorldCfg)")
    w.set_defaults(func=run)
    return w


def scene_dirs(args: argparse.Namespace) -> list[Path]:
    """The SCENE_DIR arguments (the positional items that are not ``key=value`` overrides)."""
    scenes, _ = split_overrides(args.scenes)
    if not scenes:
        raise LyraSimError("no scene folder given: lyra-sim world SCENE_DIR [SCENE_DIR ...] --out world.usda")
    return [Path(s) for s in scenes]


def cfg_from_args(args: argparse.Namespace):
    """The :class:`~lyra_sim.sim.WorldCfg` of ``args``: ``--config``, the ``key=value``
    overrides (``args.overrides`` and any left among the positional arguments), then the flags given."""
    _, among_scenes = split_overrides(args.scenes)
    return load_command_cfg(load_world_cfg, args, {
        "num_envs": args.num_envs, "env_spacing": args.env_spacing, "randomization.seed": args.seed,
        "robot_drives": False if args.ragdoll else None}, overrides=[*among_scenes, *(args.overrides or [])])


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim world`` with the parsed ``args``; returns the exit code."""
    from pxr import Usd

    from lyra_sim.sim import compose_world, read_world_record, write_world

    scenes = scene_dirs(args)
    cfg = cfg_from_args(args)
    draws = None
    if args.replay is not None:
        stage = Usd.Stage.Open(str(args.replay)) if args.replay.is_file() else None
        record = read_world_record(stage) if stage is not None else {}
        if not record:
            raise LyraSimError(f"{args.replay}: not a world written by `lyra-sim world`; give its .usda to replay")
        draws = record["draws"]
    robots = [] if args.robot == "none" else [args.robot]
    stage = compose_world(scenes, robots, cfg, draws=draws, assets_root=args.assets_root)
    out = write_world(stage, args.out, overwrite=args.overwrite)
    if not args.quiet:
        print(f"wrote {out}: {len(read_world_record(stage)['draws'].envs)} environment(s) over {len(scenes)} scene(s), "
              f"robot {args.robot}, seed {cfg.randomization.seed}")
    return 0
