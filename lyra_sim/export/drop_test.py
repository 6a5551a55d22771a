"""Drop tests in real PhysX (or Newton) on CPU: do bodies come to rest on a world's colliders?

Static worlds (:func:`drop_test`): the world's physics prims (Gaussians left out) are copied into
a test stage; at each spawn point a humanoid-sized capsule (kept upright by a huge inertia, like
a balancing robot) and, in a second run, a box are dropped from a little above their resting
height; after ``seconds`` of simulation each must be at rest at the expected height: on the
collider, not through it, not stuck above it. The expected height is the spawn point's ground
plane (its normal tilts it on a slope) raised by the highest collider surface above it under the
body's footprint (sampled from the mesh itself), so a slightly uneven floor is judged by where a
body can really rest; on a slope the box is set down turned to the ground plane.

Moving (4D) worlds (:func:`moving_drop_test`): a box is dropped onto the top of each kinematic
collider with the world placed at that collider's time.

Needs ``ovphysx`` (:mod:`lyra_sim.export.physx_runner`), or ``newton`` for the static drop test in
Newton (:mod:`lyra_sim.export.newton_runner`); heights in metres, sim frame.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from lyra_sim.export.config import PhysicsCheckCfg
from lyra_sim.export.physx_runner import physics_stage, require_ovphysx, simulate
from lyra_sim.export.spawn import SpawnPoint
from lyra_sim.export.usd_prims import gaussian_prims
from lyra_sim.export.usd_kinematic import kinematic_bodies, stage_at_time

Engine = Literal["physx", "newton"]
"""A physics engine of ``lyra-sim check``."""


@dataclass
class DropResult:
    """One dropped body. Heights in metres (sim frame)."""

    body: str
    spawn_index: int
    expected_z: float
    final_z: float
    speed: float
    passed: bool


def _collider_samples(stage) -> np.ndarray:
    """Dense surface samples of every static mesh collider of ``stage`` (world frame), [P, 3]."""
    from pxr import Usd, UsdGeom, UsdPhysics

    from lyra_sim.export.mesh_ops import sample_surface

    out = []
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    for prim in stage.Traverse():
        if not (prim.IsA(UsdGeom.Mesh) and prim.HasAPI(UsdPhysics.CollisionAPI)) or prim.HasAPI(UsdPhysics.RigidBodyAPI):
            continue
        mesh = UsdGeom.Mesh(prim)
        pts = np.asarray(mesh.GetPointsAttr().Get(), np.float64)
        counts = np.asarray(mesh.GetFaceVertexCountsAttr().Get())
        idx = np.asarray(mesh.GetFaceVertexIndicesAttr().Get())
        if len(pts) == 0 or not (counts == 3).all():
            continue
        m = np.array(cache.GetLocalToWorldTransform(prim), np.float64).T
        pts = pts @ m[:3, :3].T + m[:3, 3]
        faces = idx.reshape(-1, 3)
        area = 0.5 * np.linalg.norm(np.cross(pts[faces[:, 1]] - pts[faces[:, 0]], pts[faces[:, 2]] - pts[faces[:, 0]]), axis=1).sum()
        out.append(sample_surface(pts, faces, int(min(2_000_000, max(10_000, area / 0.02**2))), seed=2)[0])
    return np.concatenate(out) if out else np.zeros((0, 3))


def _support_height(samples: np.ndarray, point: SpawnPoint, radius: float, window: float = 0.3) -> float:
    """Where a body of footprint ``radius`` dropped at ``point`` comes to rest: the height at the
    point's (x, y) of its ground plane (through the point, normal ``point.normal``) raised by the
    highest collider surface above that plane under the footprint, within ``window`` of it (the
    point's own height if there is none)."""
    n = np.asarray(point.normal, np.float64)
    d = samples - np.asarray(point.position, np.float64)
    above = (d @ n) / n[2]  # vertical height above the plane
    near = (np.hypot(d[:, 0], d[:, 1]) <= radius) & (np.abs(above) <= window)
    return float(point.position[2] + (above[near].max() if near.any() else 0.0))


def _add_bodies(path: Path, points: list[SpawnPoint], kind: str, cfg: PhysicsCheckCfg) -> list[tuple[str, float]]:
    """Add one dynamic body per spawn point; returns (prim path, expected resting z of its centre).

    The capsule stands upright (as a balancing robot would): on ground tilted by t its sphere
    touches the plane where the plane's normal passes through the sphere's centre, radius / cos t
    above the plane. The box is turned to lie flat on the local plane, its centre half an edge
    along the normal. Both start ``drop_height`` straight above where they should rest."""
    from pxr import Gf, Usd, UsdGeom, UsdPhysics

    stage = Usd.Stage.Open(str(path))
    samples = _collider_samples(stage)
    UsdGeom.Scope.Define(stage, "/World/DropTest")
    bodies = []
    for i, point in enumerate(points):
        x, y, _ = (float(v) for v in point.position)
        n = np.asarray(point.normal, np.float64)
        z = _support_height(samples, point, cfg.capsule_radius if kind == "capsule" else cfg.box_size / 2)
        prim_path = f"/World/DropTest/{kind}_{i:03d}"
        if kind == "capsule":
            geom = UsdGeom.Capsule.Define(stage, prim_path)
            geom.CreateRadiusAttr(cfg.capsule_radius)
            geom.CreateHeightAttr(cfg.capsule_height)
            geom.CreateAxisAttr(UsdGeom.Tokens.z)
            centre = np.array([x, y, z + cfg.capsule_radius / n[2] + cfg.capsule_height / 2])
            geom.AddTranslateOp().Set(Gf.Vec3d(*centre[:2], centre[2] + cfg.drop_height))
        else:
            geom = UsdGeom.Cube.Define(stage, prim_path)
            geom.CreateSizeAttr(cfg.box_size)
            centre = np.array([x, y, z]) + n * cfg.box_size / 2
            geom.AddTranslateOp().Set(Gf.Vec3d(*centre[:2], centre[2] + cfg.drop_height))
            geom.AddOrientOp().Set(Gf.Quatf(Gf.Rotation(Gf.Vec3d(0, 0, 1), Gf.Vec3d(*n)).GetQuat()))
        prim = geom.GetPrim()
        UsdPhysics.RigidBodyAPI.Apply(prim)
        UsdPhysics.CollisionAPI.Apply(prim)
        mass = UsdPhysics.MassAPI.Apply(prim)
        if kind == "capsule":
            mass.CreateMassAttr(70.0)
            mass.CreateDiagonalInertiaAttr(Gf.Vec3f(1e6, 1e6, 1e6))  # stays upright, like a balancing robot
        else:
            mass.CreateMassAttr(5.0)
        bodies.append((prim_path, float(centre[2])))
    stage.Save()
    return bodies


def drop_test(world: str | Path, points: list[SpawnPoint], cfg: PhysicsCheckCfg | None = None,
              engine: Engine = "physx") -> list[DropResult]:
    """Drop a capsule and a box at each spawn point onto the world's collider (two runs), in
    PhysX (steps of ``cfg.dt``) or Newton (steps of ``cfg.newton.dt``, each body in a world of
    its own: :mod:`lyra_sim.export.newton_runner`). Both engines step the same test stage and
    are judged by the same heights and tolerances.

    Raises:
        ExportError: the engine is not installed.
    """
    cfg = cfg or PhysicsCheckCfg()
    if engine == "newton":
        from lyra_sim.export.newton_runner import require_newton, simulate as newton_simulate

        require_newton()
        steps = max(1, round(cfg.seconds / cfg.newton.dt))
        run = lambda path, prims: newton_simulate(path, steps, cfg.newton.dt, prims, cfg.newton)
        # Each body is a Newton world of its own, so the capsule and the box at one spawn point
        # can share a run without touching: one run instead of two (its steps are the cost).
        runs = [("capsule", "box")]
    else:
        require_ovphysx()
        steps = max(1, round(cfg.seconds / cfg.dt))
        run = lambda path, prims: simulate(path, steps, cfg.dt)
        runs = [("capsule",), ("box",)]
    results = []
    with tempfile.TemporaryDirectory(prefix="lyra-check-") as tmp:
        for kinds in runs:
            path = Path(tmp) / f"drop_{'_'.join(kinds)}.usda"
            physics_stage(Path(world), path)
            bodies = [(kind, i, prim, rest) for kind in kinds for i, (prim, rest) in enumerate(_add_bodies(path, points, kind, cfg))]
            state = run(path, [prim for _, _, prim, _ in bodies])
            for kind, i, prim_path, rest in bodies:
                if prim_path not in state:
                    results.append(DropResult(kind, i, rest, float("nan"), float("nan"), False))
                    continue
                pos, vel = state[prim_path]
                speed = float(np.linalg.norm(vel))
                ok = abs(pos[2] - rest) <= cfg.height_tolerance and speed <= cfg.max_speed
                results.append(DropResult(kind, i, rest, float(pos[2]), speed, bool(ok)))
    return results


# ------------------------------------------------------------------------ 4D worlds
@dataclass
class MovingDropResult:
    """A box dropped onto the top of one instant's kinematic collider. Heights in metres.

    Attributes:
        time: the instant (normalised).
        box_edge: the box's edge, fitted to the collider's top patch (metres).
        expected_z / final_z: resting height of the box centre expected / simulated.
    """

    time: float
    body: str
    box_edge: float
    expected_z: float
    final_z: float
    speed: float
    passed: bool


def flattest_patch(vertices: np.ndarray, faces: np.ndarray, radius: float) -> tuple[np.ndarray, float, float] | None:
    """(centre xy [2], height, fraction of the disc covered) of the upward-facing disc of ``radius``
    with the most surface under it (where a dropped box can rest), or None if nothing faces up.

    Args:
        vertices: [V, 3] mesh vertices (Z up, metres); faces: [F, 3] triangle indices.
        radius: the disc's radius, metres.
    """
    from scipy.spatial import cKDTree

    from lyra_sim.export.mesh_ops import sample_surface

    area = float(0.5 * np.linalg.norm(np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]],
                                               vertices[faces[:, 2]] - vertices[faces[:, 0]]), axis=1).sum())
    density = 40_000 / max(area, 1e-9)  # samples per m^2
    pts, nrm = sample_surface(vertices, faces, 40_000, seed=4)
    up = pts[nrm[:, 2] > np.cos(np.radians(15.0))]
    if len(up) == 0:
        return None
    tree = cKDTree(up[:, :2])
    cand = up[:: max(1, len(up) // 2000)]
    best, best_count = None, -1
    for c, near in zip(cand, tree.query_ball_point(cand[:, :2], radius)):
        count = int((np.abs(up[near, 2] - c[2]) < 0.02).sum())
        if count > best_count:
            best, best_count = c, count
    return best[:2], float(best[2]), best_count / (density * np.pi * radius**2)


def moving_drop_test(dynamic_world: str | Path, cfg: PhysicsCheckCfg | None = None, box_edge: float = 0.12,
                     min_cover: float = 0.8) -> list[MovingDropResult]:
    """For each kinematic collider of a 4D world (``scene_dynamic.usdc``), drop a box onto its top
    with the world placed at that collider's time (:func:`lyra_sim.export.usd_kinematic.stage_at_time`):
    it must come to rest on the moving geometry, which proves the body is solid, in place and
    current at its time. The box (``box_edge`` metres) is dropped on the upward-facing disc of
    its size with the most surface under it; a collider with no disc at least ``min_cover``
    covered (thin legs, no flat top) is not tested.
    """
    from pxr import Gf, Usd, UsdGeom, UsdPhysics

    cfg = cfg or PhysicsCheckCfg()
    require_ovphysx()
    steps = max(1, round(cfg.seconds / cfg.dt))
    results = []
    with tempfile.TemporaryDirectory(prefix="lyra-check-4d-") as tmp:
        stage = Usd.Stage.Open(str(dynamic_world))
        for t, body in kinematic_bodies(stage):
            path = stage_at_time(dynamic_world, t, Path(tmp) / f"t_{t:.3f}.usdc")
            at = Usd.Stage.Open(str(path))
            for prim in gaussian_prims(at):
                prim.SetActive(False)
            mesh = UsdGeom.Mesh(at.GetPrimAtPath(f"{body}/collider"))
            m = np.array(UsdGeom.XformCache(Usd.TimeCode.Default()).GetLocalToWorldTransform(mesh.GetPrim()), np.float64).T
            pts = np.asarray(mesh.GetPointsAttr().Get(), np.float64) @ m[:3, :3].T + m[:3, 3]
            faces = np.asarray(mesh.GetFaceVertexIndicesAttr().Get()).reshape(-1, 3)
            top = flattest_patch(pts, faces, box_edge / 2)
            if top is None or top[2] < min_cover:
                continue
            (x, y), z, _ = top
            edge = float(box_edge)
            cube = UsdGeom.Cube.Define(at, "/World/DropTest/box")
            cube.CreateSizeAttr(edge)
            rest = z + edge / 2
            cube.AddTranslateOp().Set(Gf.Vec3d(float(x), float(y), rest + cfg.drop_height))
            UsdPhysics.RigidBodyAPI.Apply(cube.GetPrim())
            UsdPhysics.CollisionAPI.Apply(cube.GetPrim())
            UsdPhysics.MassAPI.Apply(cube.GetPrim()).CreateMassAttr(1.0)
            at.GetRootLayer().Export(str(path))
            state = simulate(path, steps, cfg.dt)
            if "/World/DropTest/box" not in state:
                results.append(MovingDropResult(t, body, edge, rest, float("nan"), float("nan"), False))
                continue
            pos, vel = state["/World/DropTest/box"]
            speed = float(np.linalg.norm(vel))
            ok = abs(pos[2] - rest) <= cfg.height_tolerance and speed <= cfg.max_speed
            results.append(MovingDropResult(t, body, edge, rest, float(pos[2]), speed, bool(ok)))
    return results
