"""Robots on the collider in real PhysX on CPU (``ovphysx``): do they stand, does a ragdoll rest?

:func:`simulate_robots` steps a composed world (its Gaussians left out; PhysX ignores them)
and follows every robot's articulation links. Heights are measured from the floor under the
robot's spawn point (``lyra:floorHeight``, written by :func:`compose_world`), in metres.

- A *standing* robot (drives on) must keep its root link above ``standing_fraction`` of its
  starting height for the whole run, and no link may sink below the floor.
- A *ragdoll* (drives off) must end lying on the floor (root below ``lying_fraction`` of its
  starting height), at rest, without any link having passed through the floor.

``ovphysx`` is a test/optional dependency; without it :func:`simulate_robots` raises
:class:`~lyra_sim.errors.ExportError` saying how to install it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lyra_sim.export.physx_runner import physics_stage, simulate_trajectories
from lyra_sim.sim.compose import ENV_ROOT, FLOOR_HEIGHT_ATTR


@dataclass
class RobotPhysicsCfg:
    """How long to simulate and what counts as standing, lying and at rest."""

    seconds: float = 3.0
    """Simulated time. Defaults to 3.0."""

    dt: float = 1.0 / 60.0
    """Physics step, seconds. Defaults to 1/60."""

    sample_every: int = 6
    """Record the links' state every this many steps. Defaults to 6 (10 Hz at 60 Hz)."""

    standing_fraction: float = 0.8
    """A standing robot's root stays above this fraction of its starting height. Defaults to 0.8."""

    lying_fraction: float = 0.4
    """A ragdoll at rest has its root below this fraction of its starting height. Defaults to 0.4."""

    floor_tolerance: float = 0.03
    """A link centre may dip this far below the floor height before it counts as through the
    floor (the TSDF floor is bumpy by a few cm), metres. Defaults to 0.03."""

    rest_speed: float = 0.1
    """Every link slower than this at the end means at rest, m/s. Defaults to 0.1."""


@dataclass
class RobotRun:
    """One robot's run. Heights in metres above its floor; speeds m/s.

    Attributes:
        robot: robot prim path; env: its environment prim path.
        floor_height: world z of the floor under the spawn point.
        root_start / root_min / root_final: root-link height at the first sample, lowest, last.
        lowest_link: lowest link centre over the whole run.
        final_speed: fastest link at the end.
        times: [T] sample times, seconds; root_heights: [T] root height at each.
        final_root_xy: [2] root position at the end (world, metres).
    """

    robot: str
    env: str
    floor_height: float
    root_start: float
    root_min: float
    root_final: float
    lowest_link: float
    final_speed: float
    times: np.ndarray
    root_heights: np.ndarray
    final_root_xy: np.ndarray

    def stood(self, cfg: RobotPhysicsCfg) -> bool:
        return self.root_min >= cfg.standing_fraction * self.root_start and self.lowest_link >= -cfg.floor_tolerance

    def lies_at_rest(self, cfg: RobotPhysicsCfg) -> bool:
        return (self.root_final <= cfg.lying_fraction * self.root_start and self.lowest_link >= -cfg.floor_tolerance
                and self.final_speed <= cfg.rest_speed)


def _robots(stage) -> list[tuple[str, str, float, str]]:
    """(robot path, env path, floor height, root link path) of every robot in a composed world."""
    from pxr import Usd, UsdPhysics

    found = []
    envs = stage.GetPrimAtPath(ENV_ROOT)
    for env in envs.GetChildren() if envs else []:
        for prim in env.GetChildren():
            floor = prim.GetAttribute(FLOOR_HEIGHT_ATTR)
            if not floor or floor.Get() is None:
                continue
            roots = [p for p in Usd.PrimRange(prim) if p.HasAPI(UsdPhysics.ArticulationRootAPI)]
            if roots:
                found.append((str(prim.GetPath()), str(env.GetPath()), float(floor.Get()), str(roots[0].GetPath())))
    return found


def simulate_robots(world: str | Path, cfg: RobotPhysicsCfg | None = None) -> list[RobotRun]:
    """Simulate the composed world file ``world`` and report every robot.

    Raises:
        ExportError: ovphysx is not installed.
    """
    from pxr import Usd

    cfg = cfg or RobotPhysicsCfg()
    robots = _robots(Usd.Stage.Open(str(world)))
    steps = max(1, round(cfg.seconds / cfg.dt))
    with tempfile.TemporaryDirectory(prefix="lyra-robots-") as tmp:
        path = Path(tmp) / "physics.usda"
        physics_stage(Path(world), path)
        times, bodies = simulate_trajectories(path, steps, cfg.dt, every=cfg.sample_every)
    runs = []
    for robot, env, floor, root in robots:
        links = [b for name, b in bodies.items() if name.startswith(robot + "/")]
        if root not in bodies or not links:
            raise RuntimeError(f"PhysX simulated no links of {robot}; is it an articulation?")
        root_z = bodies[root].position[:, 2] - floor
        lowest = min(float(b.position[:, 2].min()) for b in links) - floor
        speed = max(float(np.linalg.norm(b.linear_velocity[-1])) for b in links)
        runs.append(RobotRun(robot, env, floor, float(root_z[0]), float(root_z.min()), float(root_z[-1]), lowest, speed,
                             times, root_z, bodies[root].position[-1, :2].copy()))
    return runs
