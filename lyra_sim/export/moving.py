"""Kinematic colliders for the parts of a 4D world that move.

A moving world needs a static collider that holds only what is *always* there, and for each
instant the geometry that is there *then*. Both come from depth of the **same cameras at several
instants** (:class:`TimedDepth`): the procedural teacher renders it exactly, a time-conditioned
decoder gives it for every input camera at each decoded time. Comparing one pixel of one camera
across time is immune to what defeats comparisons between different cameras (a 3 cm chair leg
8 m away is hit by one camera's rays and missed by its neighbour's):

1. **there, then free** (:func:`there_then_free`): a point was there at instant k and free
   space at another when the same pixel of the same camera saw a surface within ``margin`` of
   it at k and looked more than ``margin`` past it at another instant;
2. **static collider**: the usual collider fused from every frame, less its faces that were
   there, then free (:func:`remove_moving`); surfaces occupied at every instant (the core of a
   spinning box, the floor under a sliding one) are never seen through and stay static, which is
   physically right: static + moving(t) is the world at t;
3. **kinematic collider at instant k** (:func:`moving_collider`): instant k's depth from every
   camera fused into a mesh (:func:`~lyra_sim.export.collider.build_collision_proxy`), keeping
   the faces that were there at k and free at another instant, grown by a ring of triangles so
   the piece meets the floor without a seam, in connected pieces of at least ``min_triangles``;
4. **keep-out** (:func:`moving_points`): the pixels nearer at k than at some other instant,
   back-projected, are the space moving geometry passes through; no robot spawns under them.

Everything here is in the scene frame of the depth; the pipeline moves the meshes into the sim
frame with the static world's alignment and authors them as kinematic bodies
(:mod:`lyra_sim.export.usd_kinematic`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import Tensor

from lyra_sim.cameras import Cameras
from lyra_sim.cameras.rays import camera_rays
from lyra_sim.errors import ExportError, InvalidInputError
from lyra_sim.export import mesh_ops
from lyra_sim.export.collider import CollisionProxy, build_collision_proxy
from lyra_sim.export.config import ColliderCfg, MovingColliderCfg
from lyra_sim.export.depth import DepthSource, DepthViews
from lyra_sim.cameras.projection import project_to_pixels


@dataclass
class TimedDepth:
    """Depth of the same V cameras at K instants, in the scene frame.

    Attributes:
        depth: [K, V, H, W] z-depth along each camera's optical axis, scene units; <= 0 or
            non-finite: nothing hit / unknown.
        cameras: V cameras (OpenCV) of size W x H.
        times: K normalised times in [0, 1], increasing.
        source: "teacher" (exact) or "decoded".
    """

    depth: Tensor
    cameras: Cameras
    times: list[float]
    source: DepthSource = "teacher"

    def __post_init__(self) -> None:
        if self.depth.ndim != 4:
            raise InvalidInputError(f"TimedDepth.depth must be [K, V, H, W], got {list(self.depth.shape)}")
        k, v, h, w = self.depth.shape
        if len(self.times) != k or len(self.cameras) != v or (self.cameras.height, self.cameras.width) != (h, w):
            raise InvalidInputError(f"TimedDepth: {k} instants x {v} views of {w}x{h} need {k} times and {v} cameras "
                                    f"of that size, got {len(self.times)} times and {len(self.cameras)} cameras of "
                                    f"{self.cameras.width}x{self.cameras.height}")
        if any(b <= a for a, b in zip(self.times, self.times[1:])):
            raise InvalidInputError(f"TimedDepth.times must increase, got {self.times}")

    def views(self, k: int) -> DepthViews:
        """Instant ``k`` as :class:`DepthViews`."""
        return DepthViews(self.depth[k], self.cameras, None, self.source)

    def index(self, t: float) -> int:
        """The instant nearest to time ``t``."""
        return int(np.argmin([abs(s - float(t)) for s in self.times]))


@dataclass
class MovingCollider:
    """The moving geometry of one instant.

    Attributes:
        time: normalised time in [0, 1].
        proxy: the triangle mesh (scene frame until transformed); 0 faces when nothing moves.
        pieces: connected pieces kept.
        stats: what was done (points, triangles, seconds), for the report.
    """

    time: float
    proxy: CollisionProxy
    pieces: int = 0
    stats: dict = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return len(self.proxy.faces) == 0

    def transformed(self, matrix) -> MovingCollider:
        return MovingCollider(self.time, self.proxy.transformed(matrix), self.pieces, dict(self.stats))

    def summary(self) -> dict:
        """JSON-ready numbers for ``report.json`` (bounds in the mesh's frame)."""
        out = {"time": round(self.time, 4), "triangles": len(self.proxy.faces), "pieces": self.pieces}
        if not self.empty:
            out["bounds_min"] = [round(float(v), 4) for v in self.proxy.vertices.min(0)]
            out["bounds_max"] = [round(float(v), 4) for v in self.proxy.vertices.max(0)]
        out.update(self.stats)
        return out


def moving_points(timed: TimedDepth, margin: float, stride: int = 1) -> list[np.ndarray]:
    """Per instant, [P_k, 3] scene-frame points of surfaces that are there at k and were free
    space at some other instant (see the module docstring).

    Args:
        margin: a depth must be nearer by more than this (scene units) to count; the TSDF
            truncation band is a good value (it is what the collider cannot resolve anyway).
        stride: use every ``stride``-th row and column.
    """
    depth = timed.depth[:, :, ::stride, ::stride].float()
    valid = torch.isfinite(depth) & (depth > 0)
    # Farthest free space seen along each pixel's ray at any instant (nothing hit: infinitely far).
    farthest = torch.where(valid, depth, torch.full_like(depth, float("inf"))).amax(0)
    cams = timed.cameras.to("cpu", torch.float32)
    origins, dirs = camera_rays(cams)
    origins, dirs = origins[:, ::stride, ::stride], dirs[:, ::stride, ::stride]
    cos = (dirs * cams.c2w[:, None, None, :3, 2]).sum(-1).clamp(min=1e-6)
    out = []
    for k in range(len(timed.times)):
        moving = valid[k] & (farthest > depth[k] + margin)
        pts = origins[moving] + (depth[k][moving] / cos[moving])[:, None] * dirs[moving]
        out.append(pts.double().numpy())
    return out


def there_then_free(points: np.ndarray | Tensor, timed: TimedDepth, margin: float) -> Tensor:
    """[P, K] bool: point p was there at instant k and free space at another instant, as one camera
    saw it: the same pixel of the same camera has depth within ``margin`` of p's at k and more than
    ``margin`` beyond p (or nothing) at another instant.

    One pixel of one camera is compared with itself only, so a surface thinner than a pixel
    (hit by one camera's ray, missed by the next camera's) is never mistaken for free space.
    """
    pts = torch.as_tensor(points, dtype=torch.float32)
    K, V, H, W = timed.depth.shape
    depth = timed.depth.float()
    depth = torch.where(torch.isfinite(depth) & (depth > 0), depth, torch.full_like(depth, float("inf")))
    depth = depth.permute(1, 0, 2, 3).reshape(V, K, H * W)  # per camera: [K, pixels]
    w2c = timed.cameras.w2c.float()
    K_ = timed.cameras.K.float()
    result = torch.zeros(len(pts), K, dtype=torch.bool)
    for v in range(V):
        idx, lin, z = project_to_pixels(pts, w2c[v], K_[v], W, H)
        if not len(idx):
            continue
        d = depth[v][:, lin]  # [K, n]
        zi = z[idx][None]
        seen = (d - zi).abs() <= margin
        freed = (d - zi > margin).any(0, keepdim=True)
        result[idx] |= (seen & freed).T
    return result


def remove_moving(proxy: CollisionProxy, timed: TimedDepth, margin: float) -> tuple[CollisionProxy, int]:
    """The static collider without the faces (two or more vertices) that were there at one
    instant and free space at another; returns the mesh and how many faces went."""
    changed = there_then_free(proxy.vertices, timed, margin).any(1).numpy()
    drop = changed[proxy.faces].sum(1) >= 2
    verts, faces = mesh_ops.keep_faces(proxy.vertices, proxy.faces, ~drop)
    return CollisionProxy(verts, faces), int(drop.sum())


def moving_collider(timed: TimedDepth, k: int, voxel_size: float,
                    collider: ColliderCfg | None = None, cfg: MovingColliderCfg | None = None) -> MovingCollider:
    """The kinematic collider of instant ``k`` (step 3 of the module docstring).

    Args:
        voxel_size: TSDF voxel in scene units; use the static collider's so the two meet.
        collider: the static collider's settings (truncation, cleanup); defaults when None.

    Raises:
        ExportError: instant k's depth holds no surface.
    """
    collider = collider or ColliderCfg()
    cfg = cfg or MovingColliderCfg()
    t0 = time.perf_counter()
    stats: dict = {}
    now_cfg = ColliderCfg(**{**asdict(collider), "voxel_size": float(voxel_size), "max_triangles": 10**9,
                             "min_component_fraction": 0.0})
    try:
        mesh, _ = build_collision_proxy(timed.views(k), now_cfg)
    except ExportError as err:
        raise ExportError(f"the collider at time {timed.times[k]:g}: {err}") from None
    verts, faces = mesh.vertices, mesh.faces
    moving_v = there_then_free(verts, timed, cfg.margin_voxels * voxel_size)[:, k].numpy()
    moving_f = moving_v[faces].sum(1) >= 2
    for _ in range(cfg.grow_rings):
        ring = np.zeros(len(verts), bool)
        ring[faces[moving_f].ravel()] = True
        moving_f = ring[faces].any(1)
    verts, faces = mesh_ops.keep_faces(verts, faces, moving_f)
    pieces = 0
    if len(faces):
        labels = mesh_ops.connected_components(faces, len(verts))
        face_label = labels[faces[:, 0]]
        sizes = np.bincount(face_label)
        pieces = int((sizes >= cfg.min_triangles).sum())
        verts, faces = mesh_ops.keep_faces(verts, faces, sizes[face_label] >= cfg.min_triangles)
    if len(faces) > cfg.max_triangles:
        verts, faces = mesh_ops.simplify(verts, faces, cfg.max_triangles)
    stats.update({"instant_mesh_triangles": len(mesh.faces), "moving_vertices": int(moving_v.sum()), "seconds": round(time.perf_counter() - t0, 3)})
    return MovingCollider(float(timed.times[k]), CollisionProxy(verts.astype(np.float64), faces.astype(np.int64)), pieces, stats)


def moving_colliders(timed: TimedDepth, times: list[float], voxel_size: float, collider: ColliderCfg | None = None,
                     cfg: MovingColliderCfg | None = None) -> tuple[list[MovingCollider], np.ndarray]:
    """The kinematic collider of each of ``times`` (each at its nearest instant of ``timed``).

    Returns:
        (one :class:`MovingCollider` per time, [P, 3] the moving points of every instant: the
        space moving geometry passes through, which the static collider and spawn points avoid).
    """
    collider = collider or ColliderCfg()
    cfg = cfg or MovingColliderCfg()
    points = moving_points(timed, cfg.margin_voxels * voxel_size)
    result = [moving_collider(timed, timed.index(t), voxel_size, collider, cfg) for t in times]
    every = np.concatenate(points) if points else np.zeros((0, 3))
    return result, every
