"""Isaac Lab 3 example: N parallel environments over a pool of generated worlds, stepped (no training).

Each environment holds one exported scene (environment i: scene i mod P), turned and shifted
by lyra-sim's draws, with a robot reset to a drawn spawn point every ``--episode-steps``
steps. Prints one JSON line: per environment, its scene and the robot root's lowest and last
height over the environment origin (metres).

    ./isaaclab.sh -p extension/scripts/isaaclab_pool_envs.py SCENE_DIR [SCENE_DIR ...] --num_envs 16 --headless

Exit status: 0 ran, 2 not run inside Isaac Lab.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

NOT_ISAACLAB = ("this script needs Isaac Lab 3: run it with ./isaaclab.sh -p, or in the Python environment where "
                "`pip install isaaclab` (with Isaac Sim) put it")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenes", type=Path, nargs="+", metavar="SCENE_DIR", help="folders written by `lyra-sim export`")
    p.add_argument("--num_envs", type=int, default=8, help="parallel environments (default: 8)")
    p.add_argument("--robot", default="h1", help="h1 | g1 | builtin | PATH to a robot USD (default: h1)")
    p.add_argument("--steps", type=int, default=600, help="physics steps to run (default: 600)")
    p.add_argument("--episode-steps", type=int, default=300, help="steps between resets (default: 300)")
    p.add_argument("--dt", type=float, default=1.0 / 120.0, help="physics step, seconds (default: 1/120)")
    p.add_argument("--seed", type=int, default=0, help="randomization seed (default: 0)")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    try:
        from isaaclab.app import AppLauncher
    except ImportError:
        args = parser.parse_args(argv)  # --help still works outside Isaac Lab
        print(NOT_ISAACLAB, file=sys.stderr)
        return 2
    AppLauncher.add_app_launcher_args(parser)
    args = parser.parse_args(argv)
    app = AppLauncher(args).app  # Kit first: the imports below need it
    try:
        import isaaclab.sim as sim_utils
        from isaaclab.scene import InteractiveScene

        from lyra_sim.sim import RandomizationCfg
        from lyra_sim.sim import isaaclab as lyra_lab

        pool = lyra_lab.plan_pool(args.scenes, args.num_envs, args.robot, RandomizationCfg(seed=args.seed))
        sim = sim_utils.SimulationContext(sim_utils.SimulationCfg(dt=args.dt, device=args.device))
        scene = InteractiveScene(lyra_lab.scene_cfg(pool))
        # What the event functions read from a ManagerBasedEnv; this example has no managers.
        env = types.SimpleNamespace(scene=scene, num_envs=scene.num_envs, device=sim.device, common_step_counter=0)
        terms = lyra_lab.event_terms(pool)
        for term in terms.values():
            if term.mode == "prestartup":
                term.func(env, None, **term.params)
        sim.reset()
        robot = scene[lyra_lab.ROBOT_ENTITY]
        lowest = [float("inf")] * scene.num_envs
        for step in range(args.steps):
            if step % args.episode_steps == 0:
                env.common_step_counter = step
                scene.reset()
                terms["reset_robot"].func(env, None, **terms["reset_robot"].params)
                scene.write_data_to_sim()
            sim.step()
            scene.update(args.dt)
            heights = (robot.data.root_pos_w[:, 2] - scene.env_origins[:, 2]).tolist()
            lowest = [min(a, b) for a, b in zip(lowest, heights)]
        print(json.dumps({"num_envs": scene.num_envs, "steps": args.steps, "envs": [
            {"env": i, "scene": str(pool.scenes[d.scene].directory), "lowest_root_m": round(lowest[i], 4),
             "last_root_m": round(heights[i], 4)} for i, d in enumerate(pool.draws.envs)]}))
        return 0
    finally:
        app.close()


if __name__ == "__main__":
    sys.exit(main())
