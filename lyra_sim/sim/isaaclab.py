"""Isaac Lab 3 configuration for generated worlds: a terrain, a pool of scenes over N envs, event terms.

Three entry points, all returning Isaac Lab's own configuration objects (``isaaclab`` is
imported only when they are called, so ``import lyra_sim.sim`` never needs it):

- :func:`terrain_cfg`: one exported scene as ``TerrainImporterCfg(terrain_type="usd")``, shared
  by every environment (Isaac Lab's usual rough-terrain layout).
- :func:`scene_cfg`: an ``InteractiveSceneCfg`` whose environments each hold one scene of a
  pool (``MultiUsdFileCfg`` at ``{ENV_REGEX_NS}/Scene``), a robot and a dome light.
- :func:`event_terms`: ``EventTermCfg`` terms that apply :mod:`lyra_sim.sim.randomize` draws:
  scene yaw/offset and collider friction/restitution before the simulation starts
  ("prestartup"), and the robot's root at a drawn spawn point on every reset ("reset").

The draws come from :func:`plan_pool`, the same draws :func:`~lyra_sim.sim.compose_world`
would make for that seed, so a world written by ``lyra-sim world`` and an Isaac Lab run with
the same scenes and seed start their environments identically. Isaac Lab's ordered
multi-asset spawner gives environment i the (i mod P)-th of P files, which is randomize's
``"cycle"`` scene choice; ``"random"`` scene choice is refused here.

Frames: environment frame = Isaac Lab's ``env.scene.env_origins[i]`` translation of the world
frame; Z up, metres; quaternions (x, y, z, w), Isaac Lab 3's order. A root pose is the pose of
the robot's root link (``RobotSpec.root_height`` above the floor when standing: the builtin
humanoid's pelvis is 0.96 m above its asset origin).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from lyra_sim.errors import InvalidInputError, LyraSimError
from lyra_sim.sim.compose import robot_floor_point, set_collider_material
from lyra_sim.sim.randomize import (
    EnvDraw,
    RandomizationCfg,
    WorldDraws,
    draw_env,
    draw_world,
)
from lyra_sim.sim.robots import ROBOTS, RobotSpec, resolve_robot
from lyra_sim.sim.scenes import ExportedScene, open_scene

SCENE_ENTITY = "scene"
ROBOT_ENTITY = "robot"
SCENE_PRIM = "Scene"
ROBOT_PRIM = "Robot"
# The prims an op of ours writes; a suffix keeps them apart from the spawner's own translate/orient.
XFORM_SUFFIX = "lyra"
ISAACLAB_HINT = ("run it inside Isaac Lab 3 (`./isaaclab.sh -p your_script.py`, or the Python environment "
                 "where `pip install isaaclab` put it); lyra-sim's other commands do not need Isaac Lab")


class IsaacLabMissingError(LyraSimError, ImportError):
    """Isaac Lab (or Isaac Lab's robot assets) cannot be imported here."""


def isaaclab_modules() -> SimpleNamespace:
    """Isaac Lab's configuration classes, by the names this module uses.

    Raises:
        IsaacLabMissingError: ``isaaclab`` cannot be imported.
    """
    try:
        import isaaclab.sim as sim_utils
        from isaaclab.actuators import ImplicitActuatorCfg
        from isaaclab.assets import ArticulationCfg, AssetBaseCfg
        from isaaclab.managers import EventTermCfg, SceneEntityCfg
        from isaaclab.scene import InteractiveSceneCfg
        from isaaclab.terrains import TerrainImporterCfg
    except ImportError as err:
        raise IsaacLabMissingError(f"Isaac Lab is not importable here ({err}); {ISAACLAB_HINT}") from None
    return SimpleNamespace(sim_utils=sim_utils, ImplicitActuatorCfg=ImplicitActuatorCfg,
                           ArticulationCfg=ArticulationCfg, AssetBaseCfg=AssetBaseCfg, EventTermCfg=EventTermCfg,
                           SceneEntityCfg=SceneEntityCfg, InteractiveSceneCfg=InteractiveSceneCfg,
                           TerrainImporterCfg=TerrainImporterCfg)


# ----------------------------------------------------------------------------------- the plan (no Isaac Lab)
class ScenePool:
    """Scenes, robot and per-environment draws of an Isaac Lab run, decided before Isaac Lab starts.

    Attributes:
        scenes: the pool; environment i holds ``scenes[i % len(scenes)]``.
        robot: the robot standing in each environment (None: scenes only). Isaac assets (h1,
            g1) stay unresolved: Isaac Lab's own ``isaaclab_assets`` configs load them.
        draws: one :class:`EnvDraw` per environment (scene yaw/offset, spawn, material, ...).
        randomization: what the draws came from; resets draw fresh robot poses from its
            ``robot`` part.
        env_spacing: distance between environment origins, metres; no two scenes overlap.
        replicate_physics: scenes stay as exported in each environment (see :func:`plan_pool`).

    Not a dataclass on purpose: Isaac Lab's config classes deep-copy the event terms' params and
    set every field of every dataclass inside them, which fails on frozen ones (RobotSpec). A
    plan is read-only once drawn, so every term and copy shares this one object.
    """

    def __init__(self, scenes: list[ExportedScene], robot: RobotSpec | None, draws: WorldDraws,
                 randomization: RandomizationCfg, env_spacing: float, replicate_physics: bool = False):
        self.scenes, self.robot, self.draws = scenes, robot, draws
        self.randomization, self.env_spacing = randomization, env_spacing
        self.replicate_physics = replicate_physics

    def __deepcopy__(self, memo) -> ScenePool:
        return self

    def __repr__(self) -> str:
        return (f"ScenePool({len(self.scenes)} scenes, robot={self.robot.name if self.robot else None}, "
                f"num_envs={self.num_envs}, env_spacing={self.env_spacing:.2f}, seed={self.randomization.seed})")

    @property
    def num_envs(self) -> int:
        return len(self.draws.envs)

    def reset_draw(self, env: int, step: int) -> EnvDraw:
        """The draw environment ``env`` resets to at simulation step ``step``.

        Step 0 is the recorded draw (the first episode replays the composed world). Later
        resets keep the environment's scene, its yaw/offset and material, and draw a new robot
        pose from ``(seed, step)``, so a run is reproducible from its seed and the steps at
        which environments were reset.
        """
        recorded = self.draws.envs[env]
        if step == 0 or self.robot is None:
            return recorded
        seed = int(np.random.SeedSequence([self.randomization.seed, int(step)]).generate_state(1)[0])
        clearances = [[p.clearance for p in self.scenes[recorded.scene].spawn_points]]
        fresh = draw_env(env, clearances, 1, replace(self.randomization, seed=seed))
        return replace(recorded, robots=fresh.robots)

    def root_pose(self, env: int, step: int = 0) -> np.ndarray:
        """[7] the robot's root link pose in the environment frame at a reset: position (metres),
        the floor point plus ``robot.root_height`` plus the drawn drop height, and quaternion
        (x, y, z, w) of a turn about +Z."""
        if self.robot is None:
            raise InvalidInputError("this scene pool has no robot; plan it with robot='h1', 'g1', 'builtin' or a USD")
        draw = self.reset_draw(env, step)
        p = self.floor_point(env, step)
        p[2] += self.robot.root_height + draw.robots[0].drop_height
        half = math.radians(draw.robots[0].yaw) / 2.0
        return np.array([p[0], p[1], p[2], 0.0, 0.0, math.sin(half), math.cos(half)])

    def floor_point(self, env: int, step: int = 0) -> np.ndarray:
        """[3] the floor point the robot stands on at a reset, metres, in the environment frame."""
        draw = self.reset_draw(env, step)
        p = robot_floor_point(self.scenes[draw.scene], draw, 0)
        if self.replicate_physics:  # the scene was not centred on the environment origin
            p[:2] += self.scenes[draw.scene].center_xy
        return p


def plan_pool(scenes, num_envs: int, robot: str | RobotSpec | None = "h1",
              randomization: RandomizationCfg | None = None, env_spacing: float | None = None,
              env_margin: float = 2.0, replicate_physics: bool = False) -> ScenePool:
    """Draw ``num_envs`` environments over a pool of exported scenes for Isaac Lab.

    Args:
        scenes: exported scene folders (or :class:`ExportedScene`).
        robot: ``h1`` / ``g1`` (Isaac Lab's Unitree configs), ``builtin``, a robot USD path or
            spec, or None for scenes only.
        randomization: draws; its ``scene.choice`` must be ``"cycle"`` (see module docstring).
        env_spacing: distance between environment origins, metres; None: the widest scene's
            turning circle plus twice the offset range plus ``env_margin``.
        replicate_physics: the physics engine imports each scene once and copies it into every
            environment using it, at the environment origin (Isaac Lab 3's Newton does only
            this: per-environment USD edits never reach its model). Scenes then stay as
            exported, neither turned, shifted nor centred, and keep their own collider
            material; robots still start at drawn spawn points, headings and offsets.

    Raises:
        InvalidInputError: missing scene or collider, unknown robot, too few spawn points,
            ``"random"`` scene choice.
    """
    randomization = randomization or RandomizationCfg()
    if replicate_physics:
        randomization = replace(randomization, scene=replace(randomization.scene, yaw_range=(0.0, 0.0), offset_range=0.0))
    if randomization.scene.choice != "cycle":
        raise InvalidInputError("Isaac Lab's ordered multi-USD spawner gives environment i scene i mod P; "
                                "use RandomizationCfg.scene.choice='cycle' (shuffle the scene list to vary it)")
    pool = [s if isinstance(s, ExportedScene) else open_scene(s) for s in scenes]
    if not pool:
        raise InvalidInputError("no scenes given; pass at least one folder written by `lyra-sim export`")
    spec = None
    if robot is not None:
        named = ROBOTS.get(robot.lower()) if isinstance(robot, str) else None
        spec = named if named is not None and named.isaac_asset else resolve_robot(robot)
    draws = draw_world(num_envs, [[p.clearance for p in s.spawn_points] for s in pool], int(spec is not None),
                       randomization)
    if env_spacing is None and replicate_physics:  # not centred: the farthest collider corner from the origin counts
        env_spacing = 2 * max(float(np.abs(s.bounds[:, :2]).max()) for s in pool) + env_margin
    elif env_spacing is None:
        env_spacing = max(s.footprint_diagonal for s in pool) + 2 * randomization.scene.offset_range + env_margin
    return ScenePool(pool, spec, draws, randomization, float(env_spacing), replicate_physics)


# ----------------------------------------------------------------------------------- event functions
def _env_ids(env, env_ids) -> list[int]:
    return list(range(env.num_envs)) if env_ids is None else [int(i) for i in env_ids]


def place_scenes(env, env_ids, pool: ScenePool, scene_prim: str = SCENE_PRIM) -> None:
    """Event ("prestartup"): turn and shift each environment's scene by its draw and deactivate
    the scene's own physics scene (the simulation has one).

    Edits USD on ``env.scene.stage`` at ``{env.scene.env_prim_paths[i]}/{scene_prim}``: its
    transform becomes ``translate:lyra`` then ``rotateZ:lyra`` (degrees) about the footprint
    centre, as :func:`~lyra_sim.sim.add_scene` authors it.
    """
    from pxr import Gf, Usd, UsdGeom, UsdPhysics

    stage = env.scene.stage
    for i in _env_ids(env, env_ids):
        draw = pool.draws.envs[i]
        prim = stage.GetPrimAtPath(f"{env.scene.env_prim_paths[i]}/{scene_prim}")
        if not prim:
            raise InvalidInputError(f"no scene prim at {env.scene.env_prim_paths[i]}/{scene_prim}; "
                                    "build the scene with lyra_sim.sim.isaaclab.scene_cfg")
        centre = pool.scenes[draw.scene].center_xy
        a = math.radians(draw.scene_yaw)
        rotated = np.array([math.cos(a) * centre[0] - math.sin(a) * centre[1],
                            math.sin(a) * centre[0] + math.cos(a) * centre[1]])
        t = np.asarray(draw.scene_offset) - rotated
        xf = UsdGeom.Xformable(prim)
        translate = xf.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble, XFORM_SUFFIX)
        rotate = xf.AddRotateZOp(UsdGeom.XformOp.PrecisionDouble, XFORM_SUFFIX)
        translate.Set(Gf.Vec3d(float(t[0]), float(t[1]), 0.0))
        rotate.Set(float(draw.scene_yaw))
        xf.SetXformOpOrder([translate, rotate])
        for sub in Usd.PrimRange(prim):
            if sub.IsA(UsdPhysics.Scene):
                sub.SetActive(False)


def set_collider_materials(env, env_ids, pool: ScenePool, scene_prim: str = SCENE_PRIM) -> None:
    """Event ("prestartup"): each environment's collider material gets its drawn static and
    dynamic friction and restitution (Isaac Lab applies its own terrain material only to
    generated and plane terrains, so the USD material is what PhysX reads)."""
    stage = env.scene.stage
    for i in _env_ids(env, env_ids):
        d = pool.draws.envs[i]
        set_collider_material(stage, f"{env.scene.env_prim_paths[i]}/{scene_prim}",
                              d.static_friction, d.dynamic_friction, d.restitution)


def reset_robot_at_spawn_points(env, env_ids, pool: ScenePool, asset_cfg=None) -> None:
    """Event ("reset"): put each reset environment's robot root at a drawn spawn point
    (:meth:`ScenePool.root_pose`, keyed by ``env.common_step_counter``), at rest.

    Writes ``[n, 7]`` world poses (environment origin added; quaternion x, y, z, w) and
    ``[n, 6]`` zero velocities through the articulation's ``write_root_pose_to_sim_index`` /
    ``write_root_velocity_to_sim_index`` (Isaac Lab 3).
    """
    import torch

    name = asset_cfg.name if asset_cfg is not None else ROBOT_ENTITY
    robot = env.scene[name]
    ids = _env_ids(env, env_ids)
    step = int(getattr(env, "common_step_counter", 0))
    local = torch.tensor(np.stack([pool.root_pose(i, step) for i in ids]), dtype=torch.float32, device=env.device)
    index = torch.tensor(ids, dtype=torch.long, device=env.device)
    local[:, :3] += env.scene.env_origins[index, :3].to(local.dtype)
    robot.write_root_pose_to_sim_index(root_pose=local, env_ids=index)
    robot.write_root_velocity_to_sim_index(root_velocity=torch.zeros(len(ids), 6, device=env.device), env_ids=index)


# ----------------------------------------------------------------------------------- Isaac Lab configs
def terrain_cfg(scene, prim_path: str = "/World/ground"):
    """``TerrainImporterCfg(terrain_type="usd", usd_path=...)`` for one exported scene (a folder
    or :class:`ExportedScene`), shared by all environments.

    The scene's own ``PhysicsScene`` comes along inside the terrain; Isaac Lab's simulation
    context authors its own. Use :func:`scene_cfg` for one scene per environment.
    """
    lab = isaaclab_modules()
    scene = scene if isinstance(scene, ExportedScene) else open_scene(scene)
    return lab.TerrainImporterCfg(prim_path=prim_path, terrain_type="usd", usd_path=str(Path(scene.usd).resolve()))


def robot_cfg(pool: ScenePool):
    """The ``ArticulationCfg`` of the pool's robot at ``{ENV_REGEX_NS}/Robot``.

    h1/g1 come from ``isaaclab_assets.robots.unitree`` (``H1_CFG`` / ``G1_CFG``, with their
    actuator models); any other USD gets an implicit actuator on every joint that keeps the
    stiffness/damping authored in the USD.

    Raises:
        IsaacLabMissingError: Isaac Lab or, for h1/g1, ``isaaclab_assets`` is missing.
    """
    lab = isaaclab_modules()
    spec = pool.robot
    prim_path = "{ENV_REGEX_NS}/" + ROBOT_PRIM
    if spec.isaac_asset:
        try:
            from isaaclab_assets.robots import unitree
        except ImportError as err:
            raise IsaacLabMissingError(f"isaaclab_assets is not importable ({err}); {ISAACLAB_HINT}") from None
        return getattr(unitree, f"{spec.name.upper()}_CFG").replace(prim_path=prim_path)
    return lab.ArticulationCfg(
        prim_path=prim_path,
        spawn=lab.sim_utils.UsdFileCfg(usd_path=spec.usd_path),
        init_state=lab.ArticulationCfg.InitialStateCfg(pos=(0.0, 0.0, spec.root_height)),
        actuators={"all_joints": lab.ImplicitActuatorCfg(joint_names_expr=[".*"], stiffness=None, damping=None)},
    )


def cycle_worlds(weights: np.ndarray, num_clones: int) -> np.ndarray:
    """Isaac Lab 3 clone strategy: environment i gets world prototype i mod P (its default,
    ``sequential``, gives contiguous groups), so environment i holds scene i mod P as the
    draws of :func:`plan_pool` assume.

    Args:
        weights: [P] relative weights of the world prototypes (ignored: every scene is used in turn).
        num_clones: number of environments.

    Returns:
        [num_clones] prototype index per environment.
    """
    return np.arange(num_clones) % len(weights)


def scene_cfg(pool: ScenePool, dome_light_intensity: float = 1000.0):
    """An ``InteractiveSceneCfg`` of ``pool.num_envs`` environments, each holding one scene of
    the pool, the robot, and one dome light over all.

    ``replicate_physics`` is the pool's (False: each environment's USD is read as authored) and the clone strategy
    :func:`cycle_worlds` gives environment i scene i mod P; the scenes are spaced so they never
    touch, so no collision filtering between environments is needed.
    """
    lab = isaaclab_modules()
    cfg = lab.InteractiveSceneCfg(num_envs=pool.num_envs, env_spacing=pool.env_spacing,
                                  replicate_physics=pool.replicate_physics)
    cfg.clone_cfg.clone_strategy = cycle_worlds
    cfg.scene = lab.AssetBaseCfg(
        prim_path="{ENV_REGEX_NS}/" + SCENE_PRIM,
        spawn=lab.sim_utils.MultiUsdFileCfg(usd_path=[str(Path(s.usd).resolve()) for s in pool.scenes],
                                            random_choice=False),
    )
    if pool.robot is not None:
        cfg.robot = robot_cfg(pool)
    cfg.light = lab.AssetBaseCfg(prim_path="/World/Light",
                                 spawn=lab.sim_utils.DomeLightCfg(intensity=float(dome_light_intensity)))
    return cfg


def event_terms(pool: ScenePool) -> dict:
    """``EventTermCfg`` terms by name, for an env config's ``events`` (Isaac Lab's event
    manager takes a dict or a configclass): ``place_scenes`` and ``collider_material``
    ("prestartup", unless the pool replicates physics), and ``reset_robot`` ("reset") when the
    pool has a robot."""
    lab = isaaclab_modules()
    terms = {} if pool.replicate_physics else {  # a replicated scene is imported as exported
        "place_scenes": lab.EventTermCfg(func=place_scenes, mode="prestartup", params={"pool": pool}),
        "collider_material": lab.EventTermCfg(func=set_collider_materials, mode="prestartup", params={"pool": pool}),
    }
    if pool.robot is not None:
        terms["reset_robot"] = lab.EventTermCfg(
            func=reset_robot_at_spawn_points, mode="reset",
            params={"pool": pool, "asset_cfg": lab.SceneEntityCfg(ROBOT_ENTITY)})
    return terms
