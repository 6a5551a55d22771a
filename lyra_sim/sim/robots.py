"""Robots a world can hold: Isaac Sim's Unitree humanoids, lyra-sim's own humanoid, any USD.

A robot is referenced by asset path. The Unitree assets live in Isaac Sim's asset store under
``/Isaac/Robots/...``; their full path is the Isaac assets root (what
``isaacsim.storage.native.get_assets_root_path()`` returns inside Isaac Sim, or the
``ISAACSIM_ASSET_ROOT`` environment variable) followed by that path. ``builtin`` is the
humanoid shipped in ``lyra_sim/assets/`` (see :mod:`lyra_sim.sim.humanoid`), usable offline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from lyra_sim.errors import InvalidInputError
from lyra_sim.sim.humanoid import ANKLE_PITCH_JOINTS, ASSET_PATH, PELVIS_HEIGHT

ASSETS_ROOT_ENV = "ISAACSIM_ASSET_ROOT"


@dataclass(frozen=True)
class RobotSpec:
    """A robot to place in a world.

    Attributes:
        name: short name, also the robot's prim name stem ("h1", "builtin", a file stem).
        usd_path: the asset: an Isaac asset path ("/Isaac/Robots/...") when ``isaac_asset``,
            else a local file path or URL.
        spawn_height: height of the asset's origin above the floor when it stands, metres
            (H1's origin is its pelvis, 1.05 m up; the builtin humanoid's origin is on the floor).
        isaac_asset: ``usd_path`` is relative to the Isaac assets root.
        description: one line for listings.
        ankle_pitch_joints: driven ankle joints whose pitch (a revolute joint's drive, or a D6
            joint's ``rotY`` drive) turns about the robot's +Y (left) axis, positive rotation
            pitching the toes down, as prim paths below the robot's root; a
            robot that names them is set down on sloped ground facing up or down the slope with
            its soles flat on it (:mod:`lyra_sim.sim.stance`).
        root_offset: height of the robot's root link (its articulation root, whose pose is what
            Isaac Lab's ``root_pose`` and ``init_state`` mean) above the asset's origin, metres.
            H1/G1's origin is their pelvis (0); the builtin humanoid's origin is on the floor and
            its pelvis 0.96 m above it (:data:`lyra_sim.sim.humanoid.PELVIS_HEIGHT`). The root of
            a standing robot is at floor + ``spawn_height`` + ``root_offset``.
    """

    name: str
    usd_path: str
    spawn_height: float = 0.0
    isaac_asset: bool = False
    description: str = ""
    ankle_pitch_joints: tuple[str, ...] = ()
    root_offset: float = 0.0

    @property
    def root_height(self) -> float:
        """Height of the root link above the floor when the robot stands, metres."""
        return self.spawn_height + self.root_offset


# Heights from Isaac Lab's isaaclab_assets.robots.unitree (H1_CFG / G1_CFG init_state.pos).
ROBOTS: dict[str, RobotSpec] = {
    "h1": RobotSpec("h1", "/Isaac/Robots/Unitree/H1/h1.usd", 1.05, True, "Unitree H1 humanoid (Isaac Sim assets)"),
    "g1": RobotSpec("g1", "/Isaac/Robots/Unitree/G1/g1.usd", 0.74, True, "Unitree G1 humanoid (Isaac Sim assets)"),
    "builtin": RobotSpec("builtin", str(ASSET_PATH), 0.0, False, "lyra-sim capsule humanoid (packaged, works offline)",
                         ANKLE_PITCH_JOINTS, PELVIS_HEIGHT),
}

USD_SUFFIXES = (".usd", ".usda", ".usdc", ".usdz")


def isaac_assets_root(assets_root: str | None = None) -> str | None:
    """The Isaac assets root: ``assets_root``, else ``$ISAACSIM_ASSET_ROOT``, else what Isaac Sim
    reports when running inside it; None when none is known."""
    if assets_root:
        return assets_root.rstrip("/")
    if os.environ.get(ASSETS_ROOT_ENV):
        return os.environ[ASSETS_ROOT_ENV].rstrip("/")
    try:
        from isaacsim.storage.native import get_assets_root_path
    except ImportError:
        return None
    root = get_assets_root_path()
    return root.rstrip("/") if root else None


def resolve_robot(robot: str | RobotSpec, assets_root: str | None = None, spawn_height: float | None = None) -> RobotSpec:
    """A :class:`RobotSpec` whose ``usd_path`` can be referenced as is.

    Args:
        robot: a registered name (``h1``, ``g1``, ``builtin``), a path to a robot USD, or a spec.
        assets_root: Isaac assets root for Isaac assets (default: see :func:`isaac_assets_root`).
        spawn_height: overrides the spec's height of the origin above the floor, metres.

    Raises:
        InvalidInputError: unknown name, missing file, or an Isaac asset with no assets root.
    """
    if isinstance(robot, RobotSpec):
        spec = robot
    elif robot.lower() in ROBOTS:
        spec = ROBOTS[robot.lower()]
    elif robot.lower().endswith(USD_SUFFIXES) or os.sep in robot or "://" in robot:
        if "://" not in robot and not Path(robot).is_file():
            raise InvalidInputError(f"robot file {robot} does not exist; give the path of a robot USD or one of "
                                    f"{', '.join(ROBOTS)}")
        path = robot if "://" in robot else str(Path(robot).resolve())
        spec = RobotSpec(Path(robot).stem, path, 0.0, False, f"user robot {robot}")
    else:
        raise InvalidInputError(f"unknown robot {robot!r}; choose one of {', '.join(ROBOTS)} "
                                "or give the path of a robot USD file")
    if spec.isaac_asset:
        root = isaac_assets_root(assets_root)
        if root is None:
            raise InvalidInputError(
                f"robot {spec.name!r} is an Isaac Sim asset ({spec.usd_path}); pass the Isaac assets root "
                f"(CLI: --assets-root, or set {ASSETS_ROOT_ENV}) or use the offline robot 'builtin'")
        spec = replace(spec, usd_path=root + spec.usd_path, isaac_asset=False)
    if spawn_height is not None:
        spec = replace(spec, spawn_height=float(spawn_height))
    return spec
