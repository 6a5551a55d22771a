"""Isaac Sim 6 standalone: a generated world headless, an H1 at a spawn point, N seconds of physics.

Reports, as one JSON line, whether the robot stayed upright (its body up axis within
``--max-tilt`` degrees of +Z) and above the collider (root never below ``--min-height`` metres
over the floor under its spawn point). Without a walking policy an H1 may fold at the knees;
"above_collider" is the collider check, "upright" is reported alongside.

    ./python.sh extension/scripts/h1_on_world.py path/to/exported_scene --seconds 3

Exit status: 0 both held, 1 one did not, 2 not run inside Isaac Sim.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

NOT_ISAAC = ("this script needs Isaac Sim 6's Python: run it with ./python.sh from an Isaac Sim install, or in "
             "the Python 3.12 environment where `pip install 'isaacsim[all,extscache]'` put Isaac Sim")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scene", type=Path, help="folder written by `lyra-sim export`")
    p.add_argument("--robot", default="h1", help="h1 | g1 | builtin | PATH to a robot USD (default: h1)")
    p.add_argument("--seconds", type=float, default=3.0, help="simulated time, seconds (default: 3)")
    p.add_argument("--dt", type=float, default=1.0 / 60.0, help="physics step, seconds (default: 1/60)")
    p.add_argument("--seed", type=int, default=0, help="randomization seed: spawn point, yaw, scene turn (default: 0)")
    p.add_argument("--max-tilt", type=float, default=45.0, help="largest tilt still upright, degrees (default: 45)")
    p.add_argument("--min-height", type=float, default=0.3,
                   help="lowest root height over the floor that is still above the collider, metres (default: 0.3)")
    p.add_argument("--gui", action="store_true", help="open a window instead of running headless")
    return p.parse_args(argv)


def verdict(root_z, quats_wxyz, floor_z: float, max_tilt: float, min_height: float) -> dict:
    """Judge a run from the root's height ``root_z`` [T] (metres) and orientation ``quats_wxyz``
    [T, 4]: upright = the body +Z axis stayed within ``max_tilt`` degrees of world +Z;
    above_collider = root stayed ``min_height`` metres over ``floor_z``."""
    tilts = []
    for w, x, y, z in quats_wxyz:
        up_z = 1.0 - 2.0 * (x * x + y * y) / (w * w + x * x + y * y + z * z)  # body +Z in world, z component
        tilts.append(math.degrees(math.acos(max(-1.0, min(1.0, up_z)))))
    lowest = min(root_z) - floor_z
    return {"upright": max(tilts) <= max_tilt, "above_collider": lowest >= min_height,
            "max_tilt_deg": round(max(tilts), 2), "lowest_root_over_floor_m": round(lowest, 4),
            "final_root_over_floor_m": round(root_z[-1] - floor_z, 4)}


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        from isaacsim import SimulationApp
    except ImportError:
        print(NOT_ISAAC, file=sys.stderr)
        return 2
    app = SimulationApp({"headless": not args.gui})  # Kit first: omni/isaacsim modules import only after this
    try:
        import numpy as np
        from isaacsim.core.experimental.prims import Articulation
        from isaacsim.core.experimental.utils import app as app_utils
        from isaacsim.core.experimental.utils import stage as stage_utils
        from isaacsim.core.simulation_manager import SimulationManager
        from isaacsim.storage.native import get_assets_root_path

        from lyra_sim.sim import RandomizationCfg, WorldCfg, compose_world, write_world
        from lyra_sim.sim.compose import FLOOR_HEIGHT_ATTR

        world = compose_world([args.scene], args.robot, WorldCfg(num_envs=1, randomization=RandomizationCfg(seed=args.seed)),
                              assets_root=get_assets_root_path())
        robot_path = "/World/envs/env_0000/Robot"
        floor_z = world.GetPrimAtPath(robot_path).GetAttribute(FLOOR_HEIGHT_ATTR).Get()
        out = write_world(world, Path(tempfile.mkdtemp(prefix="lyra-sim-")) / "world.usda")
        stage_utils.open_stage(str(out))
        while stage_utils.is_stage_loading():
            app.update()
        SimulationManager.setup_simulation(dt=args.dt)
        robot = Articulation(robot_path)
        app_utils.play()
        heights, quats = [], []
        for _ in range(max(1, round(args.seconds / args.dt))):
            app_utils.update_app(steps=1)
            pos, quat = robot.get_world_poses()
            pos, quat = (np.asarray(a.numpy() if hasattr(a, "numpy") else a).reshape(-1) for a in (pos, quat))
            heights.append(float(pos[2]))
            quats.append([float(v) for v in quat[:4]])
        app_utils.stop()
        report = {"world": str(out), "robot": args.robot, "seconds": args.seconds,
                  **verdict(heights, quats, floor_z, args.max_tilt, args.min_height)}
        print(json.dumps(report))
        return 0 if report["upright"] and report["above_collider"] else 1
    finally:
        app.close()


if __name__ == "__main__":
    sys.exit(main())
