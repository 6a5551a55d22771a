"""UsdPhysics authoring of a world: physics scene, static collider, material, spawn points.

Prim layout (all under the default prim ``/World``)::

    /World/PhysicsScene          UsdPhysics.Scene, gravity -Z, 9.81 m/s^2
    /World/Collider              UsdGeom.Mesh, purpose "guide", invisible; PhysicsCollisionAPI +
                                 PhysicsMeshCollisionAPI (approximation "none"); no RigidBodyAPI,
                                 so PhysX treats it as static; physics material bound
    /World/Looks/ColliderMaterial  UsdShade.Material + PhysicsMaterialAPI
    /World/SpawnPoints/spawn_NNN Xform at the point; lyra:clearance, lyra:headroom (metres),
                                 lyra:normal (unit ground normal, in the parent's frame)

Tested on in-memory stages (``Usd.Stage.CreateInMemory``) like Isaac Lab's kitless tests.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from lyra_sim.export.config import ColliderCfg
from lyra_sim.export.spawn import SpawnPoint

if TYPE_CHECKING:  # annotations only: importing the collider (torch) would slow `lyra-sim check`
    from lyra_sim.export.collider import CollisionProxy

COLLIDER_PATH = "/World/Collider"
PHYSICS_SCENE_PATH = "/World/PhysicsScene"
MATERIAL_PATH = "/World/Looks/ColliderMaterial"
SPAWN_ROOT = "/World/SpawnPoints"
METADATA_KEY = "lyra_sim"


def author_physics_scene(stage, gravity: float = 9.81, path: str = PHYSICS_SCENE_PATH):
    """A ``UsdPhysics.Scene`` with gravity along the stage's -up axis."""
    from pxr import Gf, UsdGeom, UsdPhysics

    scene = UsdPhysics.Scene.Define(stage, path)
    down = Gf.Vec3f(0, 0, -1) if UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z else Gf.Vec3f(0, -1, 0)
    scene.CreateGravityDirectionAttr(down)
    scene.CreateGravityMagnitudeAttr(float(gravity))
    return scene


def author_collider(stage, proxy: CollisionProxy, cfg: ColliderCfg | None = None, path: str = COLLIDER_PATH):
    """The static, invisible collision mesh with its physics material; returns the UsdGeom.Mesh."""
    from pxr import UsdGeom, UsdPhysics, UsdShade, Vt

    cfg = cfg or ColliderCfg()
    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(proxy.vertices, dtype=np.float32)))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(proxy.faces), 3, dtype=np.int32)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(np.ascontiguousarray(proxy.faces.ravel(), dtype=np.int32)))
    mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    mesh.CreateDoubleSidedAttr(True)
    lo, hi = proxy.vertices.min(0), proxy.vertices.max(0)
    mesh.CreateExtentAttr(Vt.Vec3fArray.FromNumpy(np.stack([lo, hi]).astype(np.float32)))
    mesh.CreatePurposeAttr(UsdGeom.Tokens.guide)
    mesh.CreateVisibilityAttr(UsdGeom.Tokens.invisible)
    prim = mesh.GetPrim()
    UsdPhysics.CollisionAPI.Apply(prim).CreateCollisionEnabledAttr(True)
    UsdPhysics.MeshCollisionAPI.Apply(prim).CreateApproximationAttr(cfg.approximation)

    material = UsdShade.Material.Define(stage, MATERIAL_PATH)
    phys = UsdPhysics.MaterialAPI.Apply(material.GetPrim())
    phys.CreateStaticFrictionAttr(float(cfg.static_friction))
    phys.CreateDynamicFrictionAttr(float(cfg.dynamic_friction))
    phys.CreateRestitutionAttr(float(cfg.restitution))
    UsdShade.MaterialBindingAPI.Apply(prim).Bind(material, UsdShade.Tokens.weakerThanDescendants, "physics")
    return mesh


def author_spawn_points(stage, points: list[SpawnPoint], root: str = SPAWN_ROOT) -> list[str]:
    """One Xform per spawn point (translate op) with ``lyra:clearance`` / ``lyra:headroom`` and
    ``lyra:normal`` (the ground's unit normal, a ``normal3f`` in the same frame as the point)."""
    from pxr import Gf, Sdf, UsdGeom

    UsdGeom.Scope.Define(stage, root)
    paths = []
    for i, point in enumerate(points):
        xf = UsdGeom.Xform.Define(stage, f"{root}/spawn_{i:03d}")
        xf.AddTranslateOp().Set(Gf.Vec3d(*[float(v) for v in point.position]))
        prim = xf.GetPrim()
        prim.CreateAttribute("lyra:clearance", Sdf.ValueTypeNames.Float, custom=True).Set(float(point.clearance))
        headroom = prim.CreateAttribute("lyra:headroom", Sdf.ValueTypeNames.Float, custom=True)
        headroom.Set(float(point.headroom) if point.headroom is not None else float("inf"))
        prim.CreateAttribute("lyra:normal", Sdf.ValueTypeNames.Normal3f, custom=True).Set(Gf.Vec3f(*[float(v) for v in point.normal]))
        paths.append(str(xf.GetPath()))
    return paths


def read_spawn_points(stage, root: str = SPAWN_ROOT) -> list[SpawnPoint]:
    """The spawn points authored by :func:`author_spawn_points` (world positions and normals;
    a point written before normals were stored reads as flat ground, +Z)."""
    from pxr import Gf, Usd, UsdGeom

    prim = stage.GetPrimAtPath(root)
    if not prim:
        return []
    out = []
    for child in prim.GetChildren():
        xf = UsdGeom.Xformable(child)
        t = xf.ComputeLocalToWorldTransform(Usd.TimeCode.Default()).ExtractTranslation()
        clearance = child.GetAttribute("lyra:clearance").Get()
        headroom = child.GetAttribute("lyra:headroom").Get()
        normal = child.GetAttribute("lyra:normal").Get() if child.HasAttribute("lyra:normal") else None
        n = xf.ComputeParentToWorldTransform(Usd.TimeCode.Default()).TransformDir(Gf.Vec3d(normal if normal is not None else (0, 0, 1)))
        out.append(SpawnPoint(np.array([t[0], t[1], t[2]]), float(clearance or 0.0),
                              None if headroom is None or not np.isfinite(headroom) else float(headroom),
                              np.array([n[0], n[1], n[2]]) / n.GetLength()))
    return out


def author_metadata(stage, info: dict) -> None:
    """Record ``info`` (the transform from the scene frame, scale source, ...) on the stage.

    Stored twice: as ``customLayerData["lyra_sim"]`` (a JSON string, so every value survives
    USD's dictionary typing) and as ``customData`` on the default prim.
    """
    text = json.dumps(info, sort_keys=True)
    stage.SetMetadataByDictKey("customLayerData", METADATA_KEY, text)
    default = stage.GetDefaultPrim()
    if default:
        default.SetCustomDataByKey(METADATA_KEY, text)


def read_metadata(stage) -> dict:
    """The dictionary :func:`author_metadata` wrote ({} when absent)."""
    data = stage.GetRootLayer().customLayerData.get(METADATA_KEY)
    return json.loads(data) if data else {}
