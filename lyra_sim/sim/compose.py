"""World composition in plain USD: exported scenes as payloads, a physics scene, lights, robots.

Prim layout (defaultPrim ``/World``; Z up, metres, kilograms)::

    /World/PhysicsScene               the world's only UsdPhysics.Scene (each scene's own is deactivated)
    /World/Lights/Dome                UsdLux.DomeLight, fills every environment
    /World/Ground                     static box collider whose top is the scenes' floor level
                                      (z = 0), under every environment; invisible (WorldCfg.ground_plane)
    /World/envs/env_NNNN              Xform at the environment's grid cell
        Scene                         payload of the exported scene's root layer, turned (rotateZ) and
                                      shifted (translate) about its footprint centre; its collider
                                      material carries the environment's friction/restitution
        Robot[_k]                     reference to the robot asset at a spawn point (translate +
                                      rotateZ); ``lyra:floorHeight`` / ``lyra:spawnIndex`` recorded;
                                      on a slope it faces up or down it, ankles pitched to it
                                      (:mod:`lyra_sim.sim.stance`)
        Light                         UsdLux.SphereLight above the environment (intensity, colour
                                      temperature drawn per environment)

Environments sit on a square grid far enough apart that no two scenes' colliders overlap, so
a PhysX scene without per-environment collision filtering (CPU PhysX, ``ovphysx``) still
simulates them independently. The draws (:mod:`lyra_sim.sim.randomize`) are stored in the
root layer's ``customLayerData["lyra_sim_world"]`` so :func:`read_world_record` can replay them.

All authoring works on any ``Usd.Stage``: the Kit extension calls the same functions on the
stage open in Isaac Sim.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from lyra_sim.errors import InvalidInputError
from lyra_sim.export.usd_prims import gaussian_prims
from lyra_sim.export.usd_physics import author_physics_scene
from lyra_sim.io.atomic import atomic_output
from lyra_sim.sim.randomize import EnvDraw, RandomizationCfg, WorldDraws, draw_world
from lyra_sim.sim.robots import RobotSpec, resolve_robot
from lyra_sim.sim.scenes import ExportedScene, open_scene, static_colliders
from lyra_sim.sim.stance import set_ankle_pitch, stance_on_ground

WORLD_RECORD_KEY = "lyra_sim_world"
ENV_ROOT = "/World/envs"
GROUND_PATH = "/World/Ground"
FLOOR_HEIGHT_ATTR = "lyra:floorHeight"
_ANGULAR_DRIVES = ("angular", "rotX", "rotY", "rotZ")
SPAWN_INDEX_ATTR = "lyra:spawnIndex"
SH_C0 = 0.28209479177387814  # zeroth real spherical-harmonic basis value


@dataclass
class WorldCfg:
    """What :func:`compose_world` builds."""

    num_envs: int = 1
    """Environments (copies of a scene, each with its robots). Defaults to 1."""

    env_spacing: float | None = None
    """Distance between neighbouring grid cells, metres; None: the widest scene's turning
    circle plus its offset range plus ``env_margin``. Defaults to None."""

    env_margin: float = 2.0
    """Free gap between the turning circles of neighbouring scenes, metres. Defaults to 2.0."""

    robot_drives: bool = True
    """Keep the robots' joint drives; False makes ragdolls: every drive's stiffness is zeroed
    and its damping set to ``ragdoll_joint_damping``. Defaults to True."""

    ragdoll_joint_damping: float = 1.0
    """Viscous damping left on every angular joint drive of a ragdoll, N m s/rad: an unpowered
    joint still resists motion (gearbox friction and back-EMF in a robot, soft tissue in a
    body). With none, a collapsed humanoid's hanging limbs swing as undamped pendulums for
    seconds: of 48 builtin humanoids tipped over at spawn points of four exported rooms, 30 were
    at rest (every link < 0.1 m/s) 3 s later without damping, 46 with 1 N m s/rad (2 N m s/rad:
    also 46; much more made CPU PhysX unstable). Defaults to 1.0."""

    dome_light_intensity: float = 1000.0
    """``inputs:intensity`` of the dome light over all environments. Defaults to 1000."""

    light_height: float = 3.0
    """Height of each environment's sphere light above the floor, metres. Defaults to 3.0."""

    gravity: float = 9.81
    """Gravity magnitude, m/s^2 (direction -Z). Defaults to 9.81."""

    ground_plane: bool = True
    """Put a static collider under all environments with its top at the scenes' floor level
    (z = 0, the floor plane the export fitted). An exported TSDF collider is an open surface: its
    floor ends where the cameras saw no more and is missing under furniture, so a robot falling
    past a spawn point's clearance dropped through the world (ragdoll links ended 0.3-0.9 m
    below the floor). Where the collider has floor, its surface (at or above z = 0) still
    carries the robot. Defaults to True."""

    randomization: RandomizationCfg = field(default_factory=RandomizationCfg)
    """What is drawn per environment. Defaults to RandomizationCfg()."""


# ----------------------------------------------------------------------------------- building blocks
def new_world_stage(path: str | Path | None = None):
    """An empty world stage (in memory when ``path`` is None): Z up, metres, kg, /World default."""
    from pxr import Usd, UsdGeom, UsdPhysics

    stage = Usd.Stage.CreateInMemory() if path is None else Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.SetStageKilogramsPerUnit(stage, 1.0)
    world = UsdGeom.Xform.Define(stage, "/World")
    stage.SetDefaultPrim(world.GetPrim())
    return stage


def add_scene(stage, prim_path: str, scene: ExportedScene, yaw: float = 0.0, offset=(0.0, 0.0)):
    """Payload ``scene`` at ``prim_path``, turned by ``yaw`` degrees about its footprint centre,
    which lands at ``offset`` [2] metres in the parent's frame. The scene's own physics scene is
    deactivated (a world has one). Returns the scene Xform."""
    from pxr import Gf, UsdGeom, UsdPhysics

    xf = UsdGeom.Xform.Define(stage, prim_path)
    xf.GetPrim().GetPayloads().AddPayload(Path(scene.usd).resolve().as_posix())
    c = scene.center_xy
    rot = _rot_z(yaw)
    t = np.array([offset[0], offset[1]]) - rot[:2, :2] @ c
    xf.AddTranslateOp().Set(Gf.Vec3d(float(t[0]), float(t[1]), 0.0))
    xf.AddRotateZOp().Set(float(yaw))
    for prim in stage.GetPrimAtPath(prim_path).GetAllChildren():
        for sub in [prim, *prim.GetAllChildren()]:
            if sub.IsA(UsdPhysics.Scene):
                sub.SetActive(False)
    return xf


def add_robot(stage, prim_path: str, robot: RobotSpec, position, yaw: float = 0.0, drives: bool = True,
              ragdoll_damping: float = 0.0):
    """Reference ``robot`` at ``prim_path`` standing on the floor point ``position`` [3] (parent
    frame, metres) facing ``yaw`` degrees. With ``drives=False`` every joint drive's stiffness
    is overridden to 0 and its damping to ``ragdoll_damping`` (N m s/rad; angular drives only,
    linear ones get 0): a ragdoll. Returns the robot Xform."""
    from pxr import Gf, Sdf, Usd, UsdGeom

    xf = UsdGeom.Xform.Define(stage, prim_path)
    xf.GetPrim().GetReferences().AddReference(robot.usd_path)
    x, y, z = (float(v) for v in position)
    xf.AddTranslateOp().Set(Gf.Vec3d(x, y, z + robot.spawn_height))
    xf.AddRotateZOp().Set(float(yaw))
    xf.GetPrim().CreateAttribute(FLOOR_HEIGHT_ATTR, Sdf.ValueTypeNames.Double, custom=True).Set(z)
    if not drives:
        for prim in Usd.PrimRange(xf.GetPrim()):
            for name in prim.GetAppliedSchemas():
                if name.startswith("PhysicsDriveAPI:"):
                    instance = name.split(":", 1)[1]
                    # UsdPhysics angular drives are per degree: N m s/deg.
                    damping = ragdoll_damping * math.pi / 180.0 if instance in _ANGULAR_DRIVES else 0.0
                    prim.CreateAttribute(f"drive:{instance}:physics:stiffness", Sdf.ValueTypeNames.Float).Set(0.0)
                    prim.CreateAttribute(f"drive:{instance}:physics:damping", Sdf.ValueTypeNames.Float).Set(float(damping))
    return xf


def set_collider_material(stage, scene_path: str, static_friction: float, dynamic_friction: float, restitution: float) -> int:
    """Override the physics material bound to every static collider under ``scene_path``;
    returns how many materials were set."""
    from pxr import UsdPhysics, UsdShade

    done = set()
    for prim in static_colliders(stage, scene_path):
        material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial("physics")
        if not material or material.GetPath() in done:
            continue
        api = UsdPhysics.MaterialAPI(material.GetPrim())
        api.CreateStaticFrictionAttr().Set(float(static_friction))
        api.CreateDynamicFrictionAttr().Set(float(dynamic_friction))
        api.CreateRestitutionAttr().Set(float(restitution))
        done.add(material.GetPath())
    return len(done)


def set_collider_visibility(stage, visible: bool, root: str = "/") -> int:
    """Show or hide every static collider under ``root`` (they are authored invisible, purpose
    "guide"); returns how many were changed."""
    from pxr import UsdGeom

    colliders = static_colliders(stage, root)
    for prim in colliders:
        img = UsdGeom.Imageable(prim)
        img.CreateVisibilityAttr().Set(UsdGeom.Tokens.inherited if visible else UsdGeom.Tokens.invisible)
        img.CreatePurposeAttr().Set(UsdGeom.Tokens.default_ if visible else UsdGeom.Tokens.guide)
    return len(colliders)


def jitter_gaussian_colors(stage, scene_path: str, gain) -> int:
    """Multiply the rendered colour of every Gaussian under ``scene_path`` by ``gain`` [3]
    (per channel) by overriding its SH coefficients: the DC term maps as
    ``dc' = g*dc + (g-1)*0.5/C0`` (colour = 0.5 + C0*dc + ...), higher terms scale by g.
    Returns how many Gaussian prims were changed."""
    from pxr import Usd, Vt

    g = np.asarray(gain, np.float32)
    if np.allclose(g, 1.0):
        return 0
    changed = 0
    for prim in gaussian_prims(stage):
        if not str(prim.GetPath()).startswith(scene_path + "/"):
            continue
        attr = prim.GetAttribute("radiance:sphericalHarmonicsCoefficients")
        degree = prim.GetAttribute("radiance:sphericalHarmonicsDegree").Get()
        value = attr.Get(Usd.TimeCode.Default()) if attr else None
        if value is None or degree is None:
            continue
        k = (int(degree) + 1) ** 2
        sh = np.asarray(value, np.float32).reshape(-1, k, 3) * g
        sh[:, 0] += (g - 1.0) * 0.5 / SH_C0
        attr.Set(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(sh.reshape(-1, 3))))
        changed += 1
    return changed


def add_env_light(stage, prim_path: str, height: float, intensity: float, color_temperature: float):
    """A SphereLight ``height`` metres above the environment origin."""
    from pxr import Gf, UsdLux

    light = UsdLux.SphereLight.Define(stage, prim_path)
    light.CreateRadiusAttr(0.3)
    light.CreateIntensityAttr(float(intensity))
    light.CreateEnableColorTemperatureAttr(True)
    light.CreateColorTemperatureAttr(float(color_temperature))
    light.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, float(height)))
    return light


def add_ground(stage, prim_path: str, half_extent: float, thickness: float = 1.0):
    """A static, invisible box collider covering [-half_extent, half_extent]^2 metres with its
    top face at z = 0 (a box rather than an infinite plane, so it is bounded like the grid)."""
    from pxr import Gf, UsdGeom, UsdPhysics

    box = UsdGeom.Cube.Define(stage, prim_path)
    box.CreateSizeAttr(1.0)
    box.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, -thickness / 2.0))
    box.AddScaleOp().Set(Gf.Vec3f(2.0 * half_extent, 2.0 * half_extent, thickness))
    box.CreatePurposeAttr(UsdGeom.Tokens.guide)
    box.CreateVisibilityAttr(UsdGeom.Tokens.invisible)
    UsdPhysics.CollisionAPI.Apply(box.GetPrim())
    return box


def grid_origins(num_envs: int, spacing: float) -> np.ndarray:
    """[N, 3] environment origins on a square grid centred on the world origin, metres."""
    cols = math.ceil(math.sqrt(num_envs))
    rows = math.ceil(num_envs / cols)
    i = np.arange(num_envs)
    x = (i // cols - (rows - 1) / 2.0) * spacing
    y = (i % cols - (cols - 1) / 2.0) * spacing
    return np.stack([x, y, np.zeros(num_envs)], axis=1)


def _rot_z(degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    return np.array([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]])


def robot_floor_point(scene: ExportedScene, draw: EnvDraw, k: int) -> np.ndarray:
    """[3] where robot ``k`` of environment ``draw`` stands, in the environment's frame, metres
    (its drawn offset from the spawn point follows the ground plane there)."""
    robot = draw.robots[k]
    spawn = scene.spawn_points[robot.spawn]
    p = np.asarray(spawn.position, np.float64).copy()
    n = np.asarray(spawn.normal, np.float64)
    p[:2] += robot.offset
    p[2] -= (n[0] * robot.offset[0] + n[1] * robot.offset[1]) / n[2]
    rot = _rot_z(draw.scene_yaw)
    p[:2] = rot[:2, :2] @ (p[:2] - scene.center_xy) + np.asarray(draw.scene_offset)
    return p


def robot_ground_normal(scene: ExportedScene, draw: EnvDraw, k: int) -> np.ndarray:
    """[3] unit normal of the ground under robot ``k`` of environment ``draw``, environment frame."""
    return _rot_z(draw.scene_yaw) @ np.asarray(scene.spawn_points[draw.robots[k].spawn].normal, np.float64)


# ----------------------------------------------------------------------------------- the world
def compose_world(scenes, robots, cfg: WorldCfg | None = None, draws: WorldDraws | None = None,
                  assets_root: str | None = None):
    """Compose exported scenes and robots into one world stage (in memory).

    Args:
        scenes: exported scene folders (paths or :class:`ExportedScene`), the pool environments
            draw from.
        robots: the robot(s) standing in every environment: a name (``h1``, ``g1``, ``builtin``),
            a USD path, a :class:`RobotSpec`, or a list of them (one of each per environment, at
            distinct spawn points); an empty list for scenes only.
        cfg: layout, lights, drives and randomization; :class:`WorldCfg` defaults when None.
        draws: recorded draws to replay (from :func:`read_world_record`); None draws afresh
            from ``cfg.randomization``.
        assets_root: Isaac assets root for ``h1``/``g1`` (see :func:`resolve_robot`).

    Returns:
        The in-memory ``Usd.Stage`` with payloads loaded and absolute asset paths
        (:func:`write_world` makes the scene paths relative to the written file).

    Raises:
        InvalidInputError: a scene folder is missing or has no collider, a robot is unknown,
            a scene has fewer spawn points than robots, or ``draws`` does not fit.
    """
    cfg = cfg or WorldCfg()
    pool = [s if isinstance(s, ExportedScene) else open_scene(s) for s in scenes]
    if not pool:
        raise InvalidInputError("no scenes given; pass at least one folder written by `lyra-sim export`")
    robot_list = [] if robots is None else (list(robots) if isinstance(robots, (list, tuple)) else [robots])
    specs = [resolve_robot(r, assets_root) for r in robot_list]
    if specs:
        for scene in pool:
            if len(scene.spawn_points) < len(specs):
                raise InvalidInputError(
                    f"{scene.directory}: {len(scene.spawn_points)} spawn point(s) for {len(specs)} robot(s); "
                    "re-export the scene (spawn.num_points, spawn.robot_radius) or place fewer robots")
    clearances = [[p.clearance for p in s.spawn_points] for s in pool]
    if draws is None:
        draws = draw_world(cfg.num_envs, clearances, len(specs), cfg.randomization)
    _check_draws(draws, pool, len(specs))
    spacing = cfg.env_spacing
    if spacing is None:
        spacing = max(s.footprint_diagonal for s in pool) + 2 * cfg.randomization.scene.offset_range + cfg.env_margin

    from pxr import Sdf, UsdGeom, UsdLux

    stage = new_world_stage()
    author_physics_scene(stage, cfg.gravity, "/World/PhysicsScene")
    UsdGeom.Scope.Define(stage, "/World/Lights")
    UsdLux.DomeLight.Define(stage, "/World/Lights/Dome").CreateIntensityAttr(float(cfg.dome_light_intensity))
    UsdGeom.Scope.Define(stage, ENV_ROOT)
    origins = grid_origins(len(draws.envs), spacing)
    if cfg.ground_plane:
        add_ground(stage, GROUND_PATH, float(np.abs(origins[:, :2]).max(initial=0.0)) + spacing)
    for draw, origin in zip(draws.envs, origins):
        env_path = f"{ENV_ROOT}/env_{draw.env:04d}"
        env = UsdGeom.Xform.Define(stage, env_path)
        env.AddTranslateOp().Set(tuple(float(v) for v in origin))
        scene = pool[draw.scene]
        add_scene(stage, f"{env_path}/Scene", scene, draw.scene_yaw, draw.scene_offset)
        set_collider_material(stage, f"{env_path}/Scene", draw.static_friction, draw.dynamic_friction, draw.restitution)
        jitter_gaussian_colors(stage, f"{env_path}/Scene", draw.gaussian_gain)
        add_env_light(stage, f"{env_path}/Light", cfg.light_height, draw.light_intensity, draw.light_color_temperature)
        for k, (spec, robot) in enumerate(zip(specs, draw.robots)):
            name = "Robot" if k == 0 else f"Robot_{k}"
            floor = robot_floor_point(scene, draw, k)
            floor[2] += robot.drop_height
            yaw, rise = robot.yaw, 0.0
            if spec.ankle_pitch_joints:
                yaw, rise = stance_on_ground(robot_ground_normal(scene, draw, k), robot.yaw)
            xf = add_robot(stage, f"{env_path}/{name}", spec, floor, yaw, cfg.robot_drives, cfg.ragdoll_joint_damping)
            set_ankle_pitch(stage, f"{env_path}/{name}", spec, rise)
            xf.GetPrim().GetAttribute(FLOOR_HEIGHT_ATTR).Set(float(floor[2] - robot.drop_height))
            xf.GetPrim().CreateAttribute(SPAWN_INDEX_ATTR, Sdf.ValueTypeNames.Int, custom=True).Set(int(robot.spawn))
    record = {
        "draws": json.loads(draws.to_json()),
        "scenes": [Path(s.directory).resolve().as_posix() for s in pool],
        "robots": [{"name": s.name, "usd_path": s.usd_path, "spawn_height": s.spawn_height} for s in specs],
        "env_spacing": spacing,
        "cfg": asdict(cfg),
    }
    stage.SetMetadataByDictKey("customLayerData", WORLD_RECORD_KEY, json.dumps(record, sort_keys=True))
    return stage


def _check_draws(draws: WorldDraws, pool: list[ExportedScene], n_robots: int) -> None:
    for d in draws.envs:
        if not 0 <= d.scene < len(pool):
            raise InvalidInputError(f"the draws name scene {d.scene} but {len(pool)} scene(s) were given; "
                                    "replay with the same scene folders, in the same order")
        if len(d.robots) != n_robots or any(r.spawn >= len(pool[d.scene].spawn_points) for r in d.robots):
            raise InvalidInputError("the draws do not fit these robots/spawn points; replay with the same "
                                    "scenes and robots the world was composed with")


def read_world_record(stage) -> dict:
    """What :func:`compose_world` recorded ({} when absent); ``record["draws"]`` as :class:`WorldDraws`.

    Scene folders written relative (by :func:`write_world`) come back absolute, resolved against
    the folder of the world file, so a moved or unzipped world still finds its scenes.
    """
    layer = stage.GetRootLayer()
    text = layer.customLayerData.get(WORLD_RECORD_KEY)
    if not text:
        return {}
    record = json.loads(text)
    record["draws"] = WorldDraws.from_json(json.dumps(record["draws"]))
    base = Path(layer.realPath).parent if layer.realPath else None
    if base is not None:
        record["scenes"] = [s if os.path.isabs(s) else (base / s).resolve().as_posix() for s in record.get("scenes", [])]
    return record


ASSETS_DIR = "assets"
"""Folder next to a written world that holds copies of the packaged robot assets it uses."""


def write_world(stage, out: str | Path, overwrite: bool = False, relative_scenes: bool = True) -> Path:
    """Write ``stage``'s root layer to ``out`` (.usda/.usdc/.usd) atomically.

    With ``relative_scenes`` (the default) the world can be moved or zipped together with its
    scene folders: scene payloads and the recorded scene folders are written relative to
    ``out``'s folder; robot assets that ship inside lyra-sim (the built-in humanoid) are copied
    to ``ASSETS_DIR/`` beside ``out`` and referenced there; other local robot files are
    referenced by relative path; URLs (Isaac's H1/G1 on a Nucleus or S3 assets root) are kept.

    Raises:
        InvalidInputError: a suffix other than .usda/.usdc/.usd.
        OutputExistsError: ``out``, or a different file at ``ASSETS_DIR/<name>``, exists and
            ``overwrite`` is False.
    """
    from pxr import Sdf, UsdUtils

    out = Path(out)
    if out.suffix not in (".usda", ".usdc", ".usd"):
        raise InvalidInputError(f"{out}: a world is written as .usda, .usdc or .usd")
    layer = Sdf.Layer.CreateAnonymous(".usda")
    layer.TransferContent(stage.GetRootLayer())
    copies: dict[Path, Path] = {}
    if relative_scenes:
        base = out.resolve().parent
        package = Path(__file__).resolve().parents[1]

        def relative(path: str) -> str:
            if "://" in path or not os.path.isabs(path):
                return path
            source = Path(path)
            if source.is_relative_to(package):  # inside the installed package: ship a copy
                copies[source] = base / ASSETS_DIR / source.name
                return f"./{ASSETS_DIR}/{source.name}"
            return Path(os.path.relpath(path, base)).as_posix()

        UsdUtils.ModifyAssetPaths(layer, relative)
        text = layer.customLayerData.get(WORLD_RECORD_KEY)
        if text:
            record = json.loads(text)
            record["scenes"] = [relative(s) for s in record.get("scenes", [])]
            for robot in record.get("robots", []):
                if robot.get("usd_path"):
                    robot["usd_path"] = relative(robot["usd_path"])
            data = dict(layer.customLayerData)
            data[WORLD_RECORD_KEY] = json.dumps(record, sort_keys=True)
            layer.customLayerData = data
    for source, target in copies.items():
        if target.exists() and target.read_bytes() == source.read_bytes():
            continue
        with atomic_output(target, overwrite) as tmp:
            tmp.write_bytes(source.read_bytes())
    with atomic_output(out, overwrite) as tmp:
        layer.Export(str(tmp))
    return out
