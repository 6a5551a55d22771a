"""Does the built-in humanoid stand at every spawn point of a world? PhysX or Newton on CPU.

:func:`stand_test` copies the world's physics prims (Gaussians left out) into a test stage and
sets the humanoid (:mod:`lyra_sim.sim.humanoid`, PD drives holding its standing pose) down at
each spawn point, ``drop_height`` above the point's floor, facing up or down a slope with its
ankles pitched to it (:mod:`lyra_sim.sim.stance`), as :func:`lyra_sim.sim.compose_world` places
it. No ground plane is added: where the collider has no floor the robot falls, and the test says
so. After ``seconds`` each robot is judged as :meth:`lyra_sim.sim.physics.RobotRun.stood` judges
a composed world's robots: its pelvis never sank below ``standing_fraction`` of its starting
height and no link passed through the floor.

Robots never collide with each other: in PhysX a collision group filtered against itself holds
them, in Newton each robot is a world of its own (:mod:`lyra_sim.export.newton_runner`). Heights
in metres above the spawn point's floor (sim frame, Z up).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lyra_sim.export.config import NewtonCfg
from lyra_sim.export.drop_test import Engine
from lyra_sim.export.physx_runner import physics_stage
from lyra_sim.export.spawn import SpawnPoint
from lyra_sim.sim.humanoid import ASSET_PATH, ROOT_LINK
from lyra_sim.sim.robots import ROBOTS
from lyra_sim.sim.stance import set_ankle_pitch, stance_on_ground

STAND_ROOT = "/World/StandTest"


@dataclass
class StandTestCfg:
    """How long the humanoid stands and what counts as standing."""

    seconds: float = 2.0
    """Simulated time. Defaults to 2.0."""

    physx_dt: float = 1.0 / 60.0
    """PhysX step, seconds (Newton steps at ``newton.dt``). Defaults to 1/60."""

    sample_every: float = 0.1
    """Record the links every this many seconds. Defaults to 0.1."""

    drop_height: float = 0.02
    """The soles start this far above the spawn point's floor, metres. Defaults to 0.02."""

    standing_fraction: float = 0.8
    """A standing robot's pelvis stays above this fraction of its starting height. Defaults to 0.8."""

    floor_tolerance: float = 0.03
    """A link centre may dip this far below the floor before it counts as through it, metres
    (a TSDF floor is bumpy by a few cm). Defaults to 0.03."""

    newton: NewtonCfg = field(default_factory=NewtonCfg)
    """Newton's solver and step. Defaults to NewtonCfg()."""


@dataclass
class StandResult:
    """The humanoid at one spawn point. Heights in metres above the point's floor.

    Attributes:
        spawn_index: which spawn point; floor_z: its world height.
        root_start / root_min / root_final: pelvis height at the first sample, lowest, last.
        lowest_link: lowest link centre over the whole run.
        passed: it stood (see the module docstring).
    """

    spawn_index: int
    floor_z: float
    root_start: float
    root_min: float
    root_final: float
    lowest_link: float
    passed: bool


def robot_path(index: int) -> str:
    """Prim path of the humanoid at spawn point ``index`` in the test stage."""
    return f"{STAND_ROOT}/robot_{index:03d}"


def author_stand_stage(world: str | Path, points: list[SpawnPoint], out: Path, drop_height: float = 0.02) -> Path:
    """Write ``out``: the physics prims of ``world`` and one driven humanoid per spawn point."""
    from pxr import Gf, Usd, UsdGeom, UsdPhysics

    physics_stage(Path(world), out)
    stage = Usd.Stage.Open(str(out))
    UsdGeom.Scope.Define(stage, STAND_ROOT)
    spec = ROBOTS["builtin"]
    for i, point in enumerate(points):
        heading, rise = stance_on_ground(point.normal, 0.0)
        x, y, z = (float(v) for v in point.position)
        xf = UsdGeom.Xform.Define(stage, robot_path(i))
        xf.GetPrim().GetReferences().AddReference(str(ASSET_PATH))
        xf.AddTranslateOp().Set(Gf.Vec3d(x, y, z + spec.spawn_height + drop_height))
        xf.AddRotateZOp().Set(float(heading))
        set_ankle_pitch(stage, robot_path(i), spec, rise)
    group = UsdPhysics.CollisionGroup.Define(stage, f"{STAND_ROOT}/robots")
    group.GetCollidersCollectionAPI().CreateIncludesRel().SetTargets([STAND_ROOT])
    group.CreateFilteredGroupsRel().SetTargets([group.GetPath()])  # robots pass through each other
    stage.Save()
    return out


def stand_test(world: str | Path, points: list[SpawnPoint], engine: Engine = "physx",
               cfg: StandTestCfg | None = None) -> list[StandResult]:
    """Stand the humanoid at each of ``points`` (spawn points of the world file ``world``) for
    ``cfg.seconds`` in ``engine``; one result per point.

    Raises:
        ExportError: the engine is not installed.
    """
    cfg = cfg or StandTestCfg()
    if not points:
        return []
    robots = [robot_path(i) for i in range(len(points))]
    with tempfile.TemporaryDirectory(prefix="lyra-stand-") as tmp:
        path = author_stand_stage(world, points, Path(tmp) / "stand.usda", cfg.drop_height)
        if engine == "newton":
            from lyra_sim.export.newton_runner import simulate_trajectories

            dt = cfg.newton.dt
            steps = max(1, round(cfg.seconds / dt))
            _, bodies = simulate_trajectories(path, steps, dt, max(1, round(cfg.sample_every / dt)), robots, cfg.newton)
        else:
            from lyra_sim.export.physx_runner import simulate_trajectories

            dt = cfg.physx_dt
            steps = max(1, round(cfg.seconds / dt))
            _, bodies = simulate_trajectories(path, steps, dt, max(1, round(cfg.sample_every / dt)))
    results = []
    for i, (robot, point) in enumerate(zip(robots, points)):
        floor = float(point.position[2])
        root = bodies.get(f"{robot}/{ROOT_LINK}")
        links = [b for name, b in bodies.items() if name.startswith(robot + "/")]
        if root is None or not links:
            # The engine simulated no such body: nothing stood there.
            results.append(StandResult(i, floor, float("nan"), float("nan"), float("nan"), float("nan"), False))
            continue
        z = root.position[:, 2] - floor
        lowest = min(float(b.position[:, 2].min()) for b in links) - floor
        stood = bool(np.isfinite(z).all() and z.min() >= cfg.standing_fraction * z[0] and lowest >= -cfg.floor_tolerance)
        results.append(StandResult(i, floor, float(z[0]), float(z.min()), float(z[-1]), lowest, stood))
    return results
