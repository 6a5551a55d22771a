"""The collision proxy: depth maps -> TSDF -> marching cubes -> cleanup -> a triangle budget.

Steps (each reported in :class:`ColliderStats`):

1. fuse every depth map into a TSDF (:mod:`lyra_sim.export.tsdf`); voxel size from the
   geometry's extent unless given;
2. marching cubes over observed cells only;
3. drop floaters: vertices that more views see through than see (free-space test over at most
   ``max_views`` views), then connected components under ``min_component_fraction`` of the area;
4. fill holes of at most ``max_hole_edges`` boundary edges;
5. quadric decimation to ``max_triangles``;
6. after alignment, in the sim frame: floor flattening (:func:`flatten_floor`), up-facing
   vertices within ``floor_flatten_voxels`` of z = 0 moved onto it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from lyra_sim.errors import ExportError
from lyra_sim.export import mesh_ops
from lyra_sim.export.config import ColliderCfg
from lyra_sim.export.depth import DepthViews
from lyra_sim.export.tsdf import auto_voxel_size, extract_mesh, fuse_tsdf, see_through
from lyra_sim.progress import step


@dataclass
class CollisionProxy:
    """A static triangle mesh for physics.

    Attributes:
        vertices: [V, 3] float64 positions (scene frame until aligned, then sim frame, metres).
        faces: [F, 3] int64 vertex indices, counter-clockwise seen from free space.
    """

    vertices: np.ndarray
    faces: np.ndarray

    @property
    def num_triangles(self) -> int:
        return len(self.faces)

    @property
    def is_watertight(self) -> bool:
        return mesh_ops.is_watertight(self.faces)

    @property
    def area(self) -> float:
        return float(mesh_ops.face_areas(self.vertices, self.faces).sum())

    def face_normals(self) -> np.ndarray:
        return mesh_ops.face_normals(self.vertices, self.faces)

    def transformed(self, matrix) -> CollisionProxy:
        """The mesh after ``x -> M x`` ([4, 4] similarity; a reflection would flip the winding)."""
        m = np.asarray(torch.as_tensor(matrix, dtype=torch.float64).cpu())
        faces = self.faces if np.linalg.det(m[:3, :3]) > 0 else self.faces[:, ::-1].copy()
        return CollisionProxy(self.vertices @ m[:3, :3].T + m[:3, 3], faces)


@dataclass
class ColliderStats:
    """What :func:`build_collision_proxy` did, for the report."""

    views: int = 0
    voxel_size: float = 0.0
    grid: list[int] = field(default_factory=list)
    marching_cubes_triangles: int = 0
    floater_triangles_removed: int = 0
    small_component_triangles_removed: int = 0
    holes_filled: int = 0
    triangles: int = 0
    seconds: dict = field(default_factory=dict)
    far_pixels_not_fused: float = 0.0
    """Fraction of the valid depth pixels left out as too far (``ColliderCfg.max_depth_ratio``)."""
    floor_flatten_band: float = 0.0
    """Half-width of the flattened band about z = 0, sim metres (0: not flattened)."""
    floor_flattened_vertices: int = 0
    floor_flatten_max_shift: float = 0.0
    """Largest vertical move of a flattened vertex, sim metres."""


def build_collision_proxy(views: DepthViews, cfg: ColliderCfg | None = None) -> tuple[CollisionProxy, ColliderStats]:
    """Fuse ``views`` into a cleaned, simplified collision mesh in the views' frame.

    Raises:
        ExportError: no valid depth, or no surface in it.
    """
    cfg = cfg or ColliderCfg()
    stats = ColliderStats(views=len(views))
    t0 = time.perf_counter()
    if cfg.max_depth_ratio is not None and cfg.max_depth_ratio <= 1:
        raise ExportError(f"collider max_depth_ratio must be > 1 (or None), got {cfg.max_depth_ratio}")
    fused = views.near(cfg.max_depth_ratio) if cfg.max_depth_ratio is not None else views
    valid = int(views.valid().sum())
    stats.far_pixels_not_fused = round(1.0 - int(fused.valid().sum()) / max(valid, 1), 4)
    if cfg.voxel_size is not None and cfg.voxel_size <= 0:
        raise ExportError(f"collider voxel_size must be > 0, got {cfg.voxel_size}")
    voxel, bounds = auto_voxel_size(fused, cfg.resolution, whole=cfg.max_depth_ratio is not None, voxel_size=cfg.voxel_size)
    volume = fuse_tsdf(fused, voxel, bounds, cfg.truncation_voxels)
    stats.voxel_size, stats.grid = voxel, list(volume.shape)
    t1 = time.perf_counter()
    with step("collider marching cubes"):
        verts, faces = extract_mesh(volume)
    stats.marching_cubes_triangles = len(faces)
    t2 = time.perf_counter()

    # Floaters: surfaces that the views mostly look through.
    check = views.subsample(cfg.max_views)
    seen, through = see_through(torch.from_numpy(verts).float(), check, volume.truncation)
    floater_v = through.numpy() > cfg.free_space_ratio * np.maximum(seen.numpy(), 1)
    bad_face = floater_v[faces].sum(1) >= 2
    stats.floater_triangles_removed = int(bad_face.sum())
    verts, faces = mesh_ops.keep_faces(verts, faces, ~bad_face)
    n_before = len(faces)
    verts, faces = mesh_ops.keep_large_components(verts, faces, cfg.min_component_fraction)
    stats.small_component_triangles_removed = n_before - len(faces)
    if len(faces) == 0:
        raise ExportError("no surface survived the floater and component cleanup; the depth is too inconsistent "
                          "(try a larger collider voxel_size, or a higher free_space_ratio)")
    t3 = time.perf_counter()
    with step("collider holes and simplify"):
        verts, faces, stats.holes_filled = mesh_ops.fill_small_holes(verts, faces, cfg.max_hole_edges)
        verts, faces = mesh_ops.simplify(verts, faces, cfg.max_triangles)
    stats.triangles = len(faces)
    t4 = time.perf_counter()
    stats.seconds = {"fuse": t1 - t0, "marching_cubes": t2 - t1, "cleanup": t3 - t2, "holes_and_simplify": t4 - t3}
    return CollisionProxy(verts, faces), stats


def flatten_floor(proxy: CollisionProxy, cfg: ColliderCfg, voxel_size: float,
                  stats: ColliderStats | None = None) -> CollisionProxy:
    """Snap the sim-frame collider's floor onto z = 0 (see :attr:`ColliderCfg.floor_flatten_voxels`).

    Args:
        proxy: the collider in the sim frame (Z up, metres, floor plane z = 0).
        voxel_size: the TSDF voxel edge in sim metres.
        stats: updated with the band, the number of vertices moved and the largest move.
    """
    band = cfg.floor_flatten_voxels * voxel_size
    if band <= 0 or proxy.num_triangles == 0:
        return proxy
    verts, snapped = mesh_ops.snap_to_plane(proxy.vertices, proxy.faces, [0.0, 0.0, 1.0], 0.0, band,
                                            cfg.floor_flatten_max_tilt_degrees)
    if stats is not None:
        stats.floor_flatten_band = band
        stats.floor_flattened_vertices = int(snapped.sum())
        stats.floor_flatten_max_shift = float(np.abs(proxy.vertices[snapped, 2]).max(initial=0.0))
    return CollisionProxy(verts, proxy.faces)


def depth_to_collider(views: DepthViews, proxy: CollisionProxy, sim_from_scene, max_points: int = 200_000,
                      samples: int = 1_000_000) -> dict:
    """How far the fused depth's points lie from the finished collider (sim frame, metres).

    With rendered views these are the Gaussians' own surface points, so this says whether what
    the robot sees is where it collides. Distances are to dense samples of the collider surface
    (exact to a few millimetres at the default sampling).

    Returns:
        {"median_m", "p90_m", "points"}.
    """
    from scipy.spatial import cKDTree

    pts = views.points()
    if len(pts) > max_points:
        pts = pts[torch.randperm(len(pts), generator=torch.Generator().manual_seed(0))[:max_points]]
    m = np.asarray(torch.as_tensor(sim_from_scene, dtype=torch.float64))
    p = pts.double().numpy() @ m[:3, :3].T + m[:3, 3]
    count = int(min(samples, max(100_000, proxy.area / 0.01**2)))  # about one sample per cm^2
    surf, _ = mesh_ops.sample_surface(proxy.vertices, proxy.faces, count, seed=0)
    dist, _ = cKDTree(surf).query(p, k=1)
    if not len(dist):
        return {"median_m": None, "p90_m": None, "points": 0}
    return {"median_m": round(float(np.median(dist)), 4), "p90_m": round(float(np.quantile(dist, 0.9)), 4), "points": int(len(dist))}
