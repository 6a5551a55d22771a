"""A generated scene and a robot authored into a stage someone else owns (Isaac Sim's open stage).

:class:`OpenStageWorld` is what the Kit extension's buttons call: load an exported scene with
its collider, drop a robot at a spawn point, show/hide the colliders, re-randomize. It reuses
the world-composition blocks (:func:`~lyra_sim.sim.add_scene`, :func:`~lyra_sim.sim.add_robot`,
:func:`~lyra_sim.sim.set_collider_visibility`) and one environment's draws
(:func:`~lyra_sim.sim.randomize.draw_env`), so what the user sees in Isaac Sim is what
``lyra-sim world`` would have composed for that draw.

Prim layout under ``root`` (default ``/World/LyraSim``)::

    root              Xform; scaled by 1/metersPerUnit and turned to the stage's up axis, so
                      the lyra-sim content (Z up, metres) keeps its size in any stage
        PhysicsScene  authored only when the stage has no active UsdPhysics.Scene
        Scene         payload of the exported scene at the draw's yaw/offset
        Robot         reference to the robot asset at the drawn spawn point

Each draw is appended to :attr:`OpenStageWorld.history` and stored as JSON in the root prim's
``customData["lyra_sim_draw"]``, so the session's current layout can be rebuilt.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from lyra_sim.errors import InvalidInputError
from lyra_sim.export.usd_physics import author_physics_scene
from lyra_sim.sim.compose import (
    add_robot,
    add_scene,
    robot_floor_point,
    robot_ground_normal,
    set_collider_material,
    set_collider_visibility,
)
from lyra_sim.sim.randomize import EnvDraw, RandomizationCfg, draw_env
from lyra_sim.sim.robots import RobotSpec, resolve_robot
from lyra_sim.sim.scenes import ExportedScene, open_scene
from lyra_sim.sim.stance import set_ankle_pitch, stance_on_ground

DRAW_KEY = "lyra_sim_draw"


class OpenStageWorld:
    """One lyra-sim scene (and optionally one robot) living in an existing ``Usd.Stage``.

    Args:
        stage: the stage to edit (in Kit: ``omni.usd.get_context().get_stage()``).
        randomization: what :meth:`rerandomize` draws. Defaults to ``RandomizationCfg()``.
        root: prim path that holds everything this class authors.
    """

    def __init__(self, stage, randomization: RandomizationCfg | None = None, root: str = "/World/LyraSim"):
        if stage is None:
            raise InvalidInputError("no open stage; open or create a stage first (File > New)")
        self.stage = stage
        self.randomization = randomization or RandomizationCfg()
        self.root = root.rstrip("/")
        self.scene: ExportedScene | None = None
        self.robot: RobotSpec | None = None
        self.draw: EnvDraw | None = None
        self.history: list[EnvDraw] = []

    @property
    def scene_path(self) -> str:
        return f"{self.root}/Scene"

    @property
    def robot_path(self) -> str:
        return f"{self.root}/Robot"

    def load_scene(self, directory: str | Path) -> str:
        """Put the exported scene in ``directory`` (with its collider) into the stage, replacing
        any scene loaded before, at the next draw's yaw/offset; returns the scene prim path.

        Raises:
            InvalidInputError: no such folder, no scene USD, or no collider.
        """
        self.scene = open_scene(directory)
        self._ensure_root()
        self._redraw()
        return self.scene_path

    def drop_robot(self, robot: str | RobotSpec = "builtin", assets_root: str | None = None) -> str:
        """Stand ``robot`` (``h1``, ``g1``, ``builtin`` or a USD path) at the current draw's spawn
        point, replacing an earlier robot; returns its prim path.

        Raises:
            InvalidInputError: no scene loaded, the scene has no spawn point, or an unknown robot.
        """
        if self.scene is None:
            raise InvalidInputError("load a scene first; the robot stands at one of its spawn points")
        if not self.scene.spawn_points:
            raise InvalidInputError(f"{self.scene.directory}: the scene has no spawn points; re-export it "
                                    "(spawn.num_points, spawn.robot_radius)")
        self.robot = resolve_robot(robot, assets_root)
        if not self.draw.robots:  # the scene was loaded without a robot: draw again with one
            self._redraw()
        else:
            self._place_robot()
        return self.robot_path

    def set_colliders_visible(self, visible: bool) -> int:
        """Show or hide the colliders of the loaded scene; returns how many changed."""
        return set_collider_visibility(self.stage, visible, self.scene_path)

    def rerandomize(self) -> EnvDraw:
        """Draw the next environment (scene yaw/offset, collider material, robot spawn and pose)
        and re-author the scene and robot with it; returns the draw.

        Raises:
            InvalidInputError: no scene loaded.
        """
        if self.scene is None:
            raise InvalidInputError("load a scene first; re-randomizing moves the loaded scene and robot")
        return self._redraw()

    # ------------------------------------------------------------------------------- internals
    def _ensure_root(self) -> None:
        from pxr import UsdGeom, UsdPhysics

        if self.stage.GetPrimAtPath(self.root):
            return
        xf = UsdGeom.Xform.Define(self.stage, self.root)
        units = UsdGeom.GetStageMetersPerUnit(self.stage) or 1.0
        if abs(units - 1.0) > 1e-9:
            xf.AddScaleOp().Set((1.0 / units,) * 3)
        if UsdGeom.GetStageUpAxis(self.stage) == UsdGeom.Tokens.y:
            xf.AddRotateXOp().Set(-90.0)  # lyra-sim's +Z onto the stage's +Y
        if not any(p.IsA(UsdPhysics.Scene) for p in self.stage.Traverse()):
            author_physics_scene(self.stage, path=f"{self.root}/PhysicsScene")

    def _redraw(self) -> EnvDraw:
        clearances = [[p.clearance for p in self.scene.spawn_points]]
        n_robots = 1 if self.robot is not None else 0
        self.draw = draw_env(len(self.history), clearances, n_robots, self.randomization)
        self.history.append(self.draw)
        self.stage.RemovePrim(self.scene_path)
        add_scene(self.stage, self.scene_path, self.scene, self.draw.scene_yaw, self.draw.scene_offset)
        set_collider_material(self.stage, self.scene_path, self.draw.static_friction, self.draw.dynamic_friction,
                              self.draw.restitution)
        if self.robot is not None:
            self._place_robot()
        self.stage.GetPrimAtPath(self.root).SetCustomDataByKey(DRAW_KEY, json.dumps(asdict(self.draw)))
        return self.draw

    def _place_robot(self) -> None:
        self.stage.RemovePrim(self.robot_path)
        floor = robot_floor_point(self.scene, self.draw, 0)
        floor[2] += self.draw.robots[0].drop_height
        yaw, rise = self.draw.robots[0].yaw, 0.0
        if self.robot.ankle_pitch_joints:
            yaw, rise = stance_on_ground(robot_ground_normal(self.scene, self.draw, 0), yaw)
        add_robot(self.stage, self.robot_path, self.robot, floor, yaw)
        set_ankle_pitch(self.stage, self.robot_path, self.robot, rise)
