"""``lyra-sim check``: validate a scene USD, drop bodies and stand the humanoid on its collider in PhysX and/or Newton."""

from __future__ import annotations

import argparse
from pathlib import Path

from lyra_sim.cli.shared import progress_display, stdout_to_stderr, warn_unchecked


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim check`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    c = sub.add_parser("check", help="validate a world USD; drop bodies and stand the humanoid at its spawn points (PhysX, Newton)")
    c.add_argument("world", type=Path, help="world folder or its USD written by `lyra-sim export` / `generate` (scene.usda / .usdz)")
    c.add_argument("--engine", default="physx", metavar="physx|newton|all",
                   help="physics engine(s) to check the world in (default: physx, about 3 s; newton adds about 30 s, "
                        "2 min more the first time Warp compiles its kernels); with two, disagreements are listed")
    c.add_argument("--no-drop", action="store_true", help="validators only, no physics")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.add_argument("--quiet", action="store_true", help="no progress bar (--json has none either)")
    c.set_defaults(func=run)
    return c


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim check`` with the parsed ``args``; returns the exit code."""
    import json

    from lyra_sim.errors import InvalidInputError
    from lyra_sim.progress import using
    from lyra_sim.sim.engine_check import check_engines, parse_engines

    engines = parse_engines(args.engine)  # a typo fails before any work
    args.world = world_file(args.world)
    if args.no_drop:
        from lyra_sim.export.physics_check import check_world

        with stdout_to_stderr(args.json):  # PhysX/Warp banners must not break the JSON document
            result = check_world(args.world, drop=False)
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
        else:
            for issue in result.validation:
                print(f"{issue.severity:<7} {issue.validator}: {issue.message}")
            print(result.summary())
        # Validators only is not a failure of the world: exit 0 unless they found an error.
        return 1 if result.status == "failed" else 0
    quiet = args.json or args.quiet
    say = None if quiet else (lambda line: print(f"checking in {line}", flush=True))
    # A bar per engine run (stage, count, time left) on stderr; stdout keeps the one JSON document.
    with stdout_to_stderr(args.json), progress_display(quiet=quiet) as bar, using(bar):
        result = check_engines(args.world, engines, progress=say)
    if result.reason == "no spawn points":
        raise InvalidInputError(f"{args.world}: the world has no spawn points, so no body or robot can be placed in it; "
                                "re-export it with spawn points (spawn.enabled=true; lower spawn.robot_radius or spawn.min_spacing)")
    report = result.to_dict()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for issue in result.validation:
            print(f"{issue.severity:<7} {issue.validator}: {issue.message}")
        for name in result.asked:
            r = result.engines[name]
            for d in r.drops:
                print(f"{'ok  ' if d.passed else 'FAIL'} {name:<6} {d.body} at spawn {d.spawn_index}: z {d.final_z:.3f} m "
                      f"(expected {d.expected_z:.3f}), speed {d.speed:.3f} m/s")
            for s in r.stands:
                print(f"{'ok  ' if s.passed else 'FAIL'} {name:<6} humanoid at spawn {s.spawn_index}: pelvis "
                      f"{s.root_start:.3f} -> lowest {s.root_min:.3f} m, lowest link {s.lowest_link:.3f} m above the floor")
        for d in result.disagreements:
            print(f"DISAGREE {d['test']} at spawn {d['spawn_index']}: physx {d['physx']}, newton {d['newton']}")
        print(result.summary())
    warn_unchecked("check", report)
    # A skipped engine (not installed) is not a failure of the world: exit 0, said on stderr.
    return 1 if result.status == "failed" else 0


def world_file(path: Path) -> Path:
    """``path`` itself, or the world USD inside the folder ``path`` (scene.usda, .usdc or .usdz,
    the names `export` and `generate` write)."""
    from lyra_sim.errors import InvalidInputError
    from lyra_sim.sim.scenes import ROOT_LAYER_NAMES

    if not path.is_dir():
        return path
    found = [path / name for name in ROOT_LAYER_NAMES if (path / name).is_file()]
    if not found:
        raise InvalidInputError(f"{path}: a folder without {', '.join(ROOT_LAYER_NAMES)}; give a world folder written by "
                                "`lyra-sim export` or `generate`, or the world's USD file")
    return found[0]
