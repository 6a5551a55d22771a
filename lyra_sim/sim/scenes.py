"""Exported scene folders read back for world composition.

A scene folder is what ``lyra-sim export`` (:func:`lyra_sim.export.export_scene`) writes:
``scene.usda`` / ``.usdc`` / ``.usdz`` (Gaussians, a static collider mesh, spawn points,
metadata; Z up, metres, floor at z = 0), ``report.json``, ``collider.obj``. Composition needs
the root layer, the collider (without it a robot falls through the world), the collider's
footprint (to lay scenes out without overlap) and the spawn points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lyra_sim.errors import InvalidInputError
from lyra_sim.export.spawn import SpawnPoint
from lyra_sim.export.usd_physics import read_metadata, read_spawn_points

ROOT_LAYER_NAMES = ("scene.usda", "scene.usdc", "scene.usdz")


@dataclass
class ExportedScene:
    """One exported scene, in its own sim frame (Z up, metres, floor at z = 0).

    Attributes:
        directory: the scene folder.
        usd: its root layer.
        spawn_points: where robots may stand (may be empty).
        collider_paths: prim paths of the static mesh colliders in the root layer.
        bounds: [2, 3] min/max corner of the colliders, metres.
        metadata: what export recorded (``sim_from_scene``, scale source, ...).
    """

    directory: Path
    usd: Path
    spawn_points: list[SpawnPoint]
    collider_paths: list[str]
    bounds: np.ndarray
    metadata: dict = field(default_factory=dict)

    @property
    def center_xy(self) -> np.ndarray:
        """[2] centre of the collider footprint, metres."""
        return 0.5 * (self.bounds[0, :2] + self.bounds[1, :2])

    @property
    def footprint_diagonal(self) -> float:
        """Diameter of the circle the footprint sweeps when turned about its centre, metres."""
        return float(np.linalg.norm(self.bounds[1, :2] - self.bounds[0, :2]))


def static_colliders(stage, root: str = "/") -> list:
    """Mesh prims under ``root`` with collision enabled and no rigid body (static colliders)."""
    from pxr import Usd, UsdGeom, UsdPhysics

    start = stage.GetPrimAtPath(root)
    found = []
    for prim in Usd.PrimRange(start) if start else []:
        if not (prim.IsA(UsdGeom.Mesh) and prim.HasAPI(UsdPhysics.CollisionAPI)) or prim.HasAPI(UsdPhysics.RigidBodyAPI):
            continue
        if UsdPhysics.CollisionAPI(prim).GetCollisionEnabledAttr().Get() is False:
            continue
        found.append(prim)
    return found


def open_scene(directory: str | Path) -> ExportedScene:
    """Read the exported scene in ``directory``.

    Raises:
        InvalidInputError: the folder does not exist, holds no ``scene.usd*``, cannot be opened,
            or has no collider.
    """
    from pxr import Usd, UsdGeom

    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInputError(f"{directory}: no such scene folder; give a folder written by `lyra-sim export`")
    usd = next((directory / n for n in ROOT_LAYER_NAMES if (directory / n).is_file()), None)
    if usd is None:
        raise InvalidInputError(f"{directory}: holds no {'/'.join(ROOT_LAYER_NAMES)}; "
                                "give a folder written by `lyra-sim export`")
    stage = Usd.Stage.Open(str(usd))
    if stage is None:
        raise InvalidInputError(f"{usd}: OpenUSD cannot open it; re-export the scene")
    colliders = static_colliders(stage)
    if not colliders:
        raise InvalidInputError(f"{usd}: the scene has no collider, so a robot would fall through it; "
                                "re-export it without --no-collider")
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    for prim in colliders:
        pts = np.asarray(UsdGeom.Mesh(prim).GetPointsAttr().Get() or [], np.float64).reshape(-1, 3)
        if len(pts) == 0:
            continue
        m = np.array(cache.GetLocalToWorldTransform(prim), np.float64).T
        pts = pts @ m[:3, :3].T + m[:3, 3]
        lo, hi = np.minimum(lo, pts.min(0)), np.maximum(hi, pts.max(0))
    if not np.isfinite(lo).all():
        raise InvalidInputError(f"{usd}: the scene's collider has no vertices; re-export the scene")
    return ExportedScene(directory, usd, read_spawn_points(stage), [str(p.GetPath()) for p in colliders],
                         np.stack([lo, hi]), read_metadata(stage))
