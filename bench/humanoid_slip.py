"""Do the humanoid's soles slip or pivot under small constant joint offsets? PhysX vs Newton.

The built-in humanoid stands at spawn points of the gallery's living room and corridor with
its leg drive targets held ``offset`` radians off the standing pose (a random sign per leg
DOF and robot, the same draws in every engine; 0 is the control) and we follow its feet and
pelvis for ``--seconds``:

- ``physx`` (main venv): ovphysx on CPU at 60 Hz, as ``lyra_sim.sim.physics`` / the stand check.
- ``newton-xpbd`` (main venv): Newton's XPBD at 500 Hz, as ``lyra-sim check --engine newton``.
- ``isaaclab`` (``.venv-isaaclab``): the stand task's physics (Newton, MuJoCo-Warp with
  Newton's contacts, 200 Hz), the offsets sent as constant actions.

Per robot: fall time (pelvis below 55 % of its standing height or tilted past 60 degrees; NaN:
stood), and over the first ``--window`` seconds (or until it fell): the largest horizontal
slip of either foot centre from where it settled (at 0.2 s), mm, and the largest change of
the yaw of the line through both feet, degrees (the body pivoting on its soles). Results merge
into ``bench/results/humanoid_slip.json`` under the engine's name, with machine and load.

    nice -n 19 .venv/bin/python bench/humanoid_slip.py --engine physx
    nice -n 19 .venv-isaaclab/bin/python bench/humanoid_slip.py --engine isaaclab
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results" / "humanoid_slip.json"
WORLDS = [REPO / "scenes" / "gallery" / "living_room", REPO / "scenes" / "gallery" / "corridor"]
LEG_WORDS = ("hip", "knee", "ankle")
SETTLE_S = 0.2


def leg_dof_signs(dofs: list[str], robot: int) -> dict[str, float]:
    """A random sign (+1/-1) per leg DOF of robot ``robot``, drawn from its index alone so every
    engine applies the same pattern (DOF names as Isaac Lab spells them: ``joint`` or ``joint:k``)."""
    legs = sorted(d for d in dofs if any(w in d for w in LEG_WORDS))
    signs = np.random.default_rng(1000 + robot).choice([-1.0, 1.0], size=len(legs))
    return dict(zip(legs, signs.tolist()))


def metrics(times, pelvis, left, right, standing_height: float, window: float, fall: float | None = None) -> dict:
    """Slip/pivot/fall numbers of one robot from [T] times and [T, 3] pelvis/foot positions
    (world, metres; ``pelvis`` heights above the floor); ``fall``: its fall time when the
    engine judged it (Isaac Lab's termination), else the pelvis below 55 % of standing height."""
    times = np.asarray(times)
    if fall is None:
        low = pelvis[:, 2] < 0.55 * standing_height
        fall = float(times[np.argmax(low)]) if low.any() else float("nan")
    end = min(window, fall) if math.isfinite(fall) else window
    if len(times) == 0 or times[-1] < SETTLE_S:
        return {"fall_s": fall, "slip_mm": float("nan"), "pivot_deg": float("nan")}
    settle = int(np.argmin(np.abs(times - SETTLE_S)))
    use = (times >= SETTLE_S) & (times <= end)
    if not use.any():
        return {"fall_s": fall, "slip_mm": float("nan"), "pivot_deg": float("nan")}
    slip = max(float(np.linalg.norm(f[use, :2] - f[settle, :2], axis=1).max()) for f in (left, right))
    d = left[:, :2] - right[:, :2]
    yaw = np.unwrap(np.arctan2(d[:, 1], d[:, 0]))
    pivot = float(np.degrees(np.abs(yaw[use] - yaw[settle]).max()))
    return {"fall_s": fall, "slip_mm": 1000.0 * slip, "pivot_deg": pivot}


# ---------------------------------------------------------------------------- PhysX / Newton XPBD
def _usd_dofs(stage, robot_path: str) -> dict[str, tuple[str, str]]:
    """{Isaac-Lab-style DOF name: (joint prim path, drive instance)} of a humanoid on ``stage``."""
    from pxr import Usd, UsdPhysics

    dofs = {}
    for prim in Usd.PrimRange(stage.GetPrimAtPath(robot_path)):
        drives = [n for n in ("angular", "rotX", "rotY", "rotZ") if prim.HasAPI(UsdPhysics.DriveAPI, n)]
        if drives == ["angular"]:
            dofs[prim.GetName()] = (str(prim.GetPath()), "angular")
        else:
            for k, n in enumerate(drives):
                dofs[f"{prim.GetName()}:{k}"] = (str(prim.GetPath()), n)
    return dofs


def run_usd_engine(engine: str, offsets: list[float], seconds: float, window: float, per_world: int) -> list[dict]:
    from pxr import Usd, UsdPhysics

    from lyra_sim.sim.humanoid import PELVIS_HEIGHT
    from lyra_sim.sim.scenes import open_scene
    from lyra_sim.sim.stand_test import author_stand_stage, robot_path

    rows = []
    for world in WORLDS:
        scene = open_scene(world)
        points = scene.spawn_points[:per_world]
        for offset in offsets:
            with tempfile.TemporaryDirectory(prefix="lyra-slip-") as tmp:
                path = author_stand_stage(scene.usd, points, Path(tmp) / "slip.usda")
                stage = Usd.Stage.Open(str(path))
                for i in range(len(points)):
                    dofs = _usd_dofs(stage, robot_path(i))
                    for dof, sign in leg_dof_signs(list(dofs), i).items():
                        joint, instance = dofs[dof]
                        attr = UsdPhysics.DriveAPI(stage.GetPrimAtPath(joint), instance).GetTargetPositionAttr()
                        attr.Set(float(attr.Get() or 0.0) + math.degrees(sign * offset))  # USD drives: degrees
                stage.Save()
                del stage
                if engine == "physx":
                    from lyra_sim.export.physx_runner import simulate_trajectories

                    dt = 1.0 / 60.0
                    times, bodies = simulate_trajectories(path, round(seconds / dt), dt, every=1)
                else:
                    from lyra_sim.export.config import NewtonCfg
                    from lyra_sim.export.newton_runner import simulate_trajectories

                    dt = NewtonCfg().dt
                    robots = [robot_path(i) for i in range(len(points))]
                    times, bodies = simulate_trajectories(path, round(seconds / dt), dt, round(0.02 / dt), robots)
            for i, point in enumerate(points):
                r = robot_path(i)
                floor = float(point.position[2])
                pelvis = bodies[f"{r}/pelvis"].position - np.array([0.0, 0.0, floor])
                m = metrics(times, pelvis, bodies[f"{r}/left_foot"].position, bodies[f"{r}/right_foot"].position,
                            PELVIS_HEIGHT, window)
                rows.append({"world": world.name, "spawn": i, "offset_rad": offset, **m})
            print(f"{engine} {world.name} offset {offset}: falls {sum(math.isfinite(r['fall_s']) for r in rows[-len(points):])}"
                  f"/{len(points)}", flush=True)
    return rows


# ---------------------------------------------------------------------------- Isaac Lab (Newton MJWarp)
def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run_isaaclab(offsets: list[float], seconds: float, window: float, per_world: int, solver: list[str],
                 shape: list[str], task: list[str]) -> list[dict]:
    import gymnasium as gym
    import torch

    import lyra_sim.sim.isaaclab_tasks as tasks

    cfg = tasks.task_cfg(tasks.STAND_TASK)
    cfg.scene.num_envs, cfg.worlds, cfg.seed = 2 * per_world, [str(w) for w in WORLDS], 0
    cfg.episode_length_s = seconds + 1.0
    for knob in ("init_joint_offset_rad", "push_speed_mps"):  # the task's randomization, off for this test
        if hasattr(cfg, knob):
            setattr(cfg, knob, 0.0)
    for target, pairs in ((cfg.sim.physics.solver_cfg, solver), (cfg.sim.physics.default_shape_cfg, shape)):
        for pair in pairs:
            key, value = pair.split("=", 1)
            setattr(target, key, _parse_value(value))
    for pair in task:
        key, value = pair.split("=", 1)
        setattr(cfg, key, _parse_value(value))
    env = gym.make(tasks.STAND_TASK, cfg=cfg).unwrapped
    env.reset()
    robot, n = env.robot, env.num_envs
    names = list(robot.joint_names)
    feet = [robot.body_names.index("left_foot"), robot.body_names.index("right_foot")]
    rows = []
    for offset in offsets:
        env.reset()
        action = torch.zeros(n, len(names))
        for i in range(n):
            for dof, sign in leg_dof_signs(names, i).items():
                action[i, names.index(dof)] = sign * offset / env.cfg.action_scale
        times, pelvis, left, right = [], [], [], []
        fell_at = [None] * n  # the step on which the env reset the robot after a fall
        for k in range(round(seconds / env.step_dt)):
            env.step(action)
            for i in torch.nonzero(env.reset_terminated.cpu()).flatten().tolist():
                fell_at[i] = k if fell_at[i] is None else fell_at[i]
            pos = robot.data.body_pos_w.torch.cpu() - env.scene.env_origins.cpu()[:, None, :]
            pel = pos[:, 0].clone()
            pel[:, 2] -= env.floor_z.cpu()
            times.append((k + 1) * env.step_dt)
            pelvis.append(pel), left.append(pos[:, feet[0]]), right.append(pos[:, feet[1]])
        P, L, R = (torch.stack(x, 1).numpy() for x in (pelvis, left, right))
        for i in range(n):
            k = len(times) if fell_at[i] is None else fell_at[i]  # after a fall the env reset it elsewhere
            m = metrics(times[:k], P[i, :k], L[i, :k], R[i, :k], float(env.root_height), window,
                        fall=None if fell_at[i] is None else times[k])
            rows.append({"world": env.pool.scenes[i % len(env.pool.scenes)].directory.name, "env": i, "offset_rad": offset, **m})
        print(f"isaaclab offset {offset}: falls {int(sum(math.isfinite(r['fall_s']) for r in rows[-n:]))}/{n}", flush=True)
    env.close()
    return rows


def summarize(rows: list[dict]) -> dict:
    out = {}
    for offset in sorted({r["offset_rad"] for r in rows}):
        sel = [r for r in rows if r["offset_rad"] == offset]
        falls = [r["fall_s"] for r in sel if math.isfinite(r["fall_s"])]
        out[str(offset)] = {
            "robots": len(sel), "fell": len(falls), "mean_fall_s": float(np.mean(falls)) if falls else None,
            "median_slip_mm": float(np.nanmedian([r["slip_mm"] for r in sel])),
            "max_slip_mm": float(np.nanmax([r["slip_mm"] for r in sel])),
            "median_pivot_deg": float(np.nanmedian([r["pivot_deg"] for r in sel])),
            "max_pivot_deg": float(np.nanmax([r["pivot_deg"] for r in sel])),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", required=True, choices=("physx", "newton-xpbd", "isaaclab"))
    parser.add_argument("--offsets", type=float, nargs="+", default=[0.0, 0.025, 0.05], help="radians")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--window", type=float, default=2.0, help="slip/pivot measured over [0.2, window] s")
    parser.add_argument("--per_world", type=int, default=4, help="robots per world")
    parser.add_argument("--label", default=None, help="key in the JSON (default: the engine)")
    parser.add_argument("--solver", nargs="*", default=[], metavar="KEY=VALUE",
                        help="isaaclab: MJWarpSolverCfg overrides, e.g. cone=elliptic impratio=100")
    parser.add_argument("--task", nargs="*", default=[], metavar="KEY=VALUE",
                        help="isaaclab: stand-task config overrides, e.g. joint_stiffness_scale=0.2")
    parser.add_argument("--shape", nargs="*", default=[], metavar="KEY=VALUE",
                        help="isaaclab: NewtonShapeCfg (default_shape_cfg) overrides, e.g. margin=0.01")
    args = parser.parse_args()
    load = list(os.getloadavg())
    start = time.perf_counter()
    if args.engine == "isaaclab":
        rows = run_isaaclab(args.offsets, args.seconds, args.window, args.per_world, args.solver, args.shape, args.task)
    else:
        rows = run_usd_engine(args.engine, args.offsets, args.seconds, args.window, args.per_world)
    summary = summarize(rows)
    for offset, s in summary.items():
        print(f"{args.engine} offset {offset} rad: fell {s['fell']}/{s['robots']} (mean {s['mean_fall_s']} s), "
              f"slip median {s['median_slip_mm']:.1f} mm max {s['max_slip_mm']:.1f}, "
              f"pivot median {s['median_pivot_deg']:.2f} deg max {s['max_pivot_deg']:.2f}")
    payload = json.loads(OUT.read_text()) if OUT.is_file() else {}
    payload[args.label or args.engine] = {
        "summary": summary, "robots": rows, "solver_overrides": args.solver, "shape_overrides": args.shape,
        "task_overrides": args.task, "seconds": args.seconds, "window_s": args.window,
        "wall_s": time.perf_counter() - start, "load_avg_before": load, "load_avg_after": list(os.getloadavg()),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "python": platform.python_version()},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(OUT)  # a benchmark overwrites its own previous entry on purpose
    print(f"wrote {OUT.relative_to(REPO)} [{args.label or args.engine}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
