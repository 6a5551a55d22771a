"""``lyra-sim check``: validate a scene USD and drop bodies on its collider with PhysX."""

from __future__ import annotations

import argparse
from pathlib import Path

from lyra_sim.cli.shared import stdout_to_stderr, warn_unchecked


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``lyra-sim check`` and its flags to ``sub`` (the subparsers action); returns its parser."""
    c = sub.add_parser("check", help="validate a world USD and run a PhysX drop test at its spawn points")
    c.add_argument("world", type=Path, help="world USD written by `lyra-sim export` (scene.usda / .usdz)")
    c.add_argument("--no-drop", action="store_true", help="validators only, no physics")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(func=run)
    return c


def run(args: argparse.Namespace) -> int:
    """Run ``lyra-sim check`` with the parsed ``args``; returns the exit code."""
    import json

    from lyra_sim.export.physics_check import check_world

    with stdout_to_stderr(args.json):  # PhysX/Warp banners must not break the JSON document
        result = check_world(args.world, drop=not args.no_drop)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        for issue in result.validation:
            print(f"{issue.severity:<7} {issue.validator}: {issue.message}")
        for d in result.drops:
            print(f"{'ok  ' if d.passed else 'FAIL'} {d.body} at spawn {d.spawn_index}: z {d.final_z:.3f} m "
                  f"(expected {d.expected_z:.3f}), speed {d.speed:.3f} m/s")
        print(result.summary())
    if not args.no_drop:
        warn_unchecked("check", result.to_dict())
    # A skipped drop test (no ovphysx, or --no-drop) is not a failure of the world: exit 0, said on stderr.
    return 1 if result.status == "failed" else 0
