"""Spawn points: places on free floor where a robot of a given footprint and height fits.

Works on the collider in the sim frame (Z up, metres, floor at z = 0). The collider's surface
is sampled densely and binned into an XY grid: a cell is *floor* where an upward-facing surface
lies within ``floor_tolerance`` of z = 0, and *blocked* where any surface lies between
``max_step_height`` and ``robot_height`` (an obstacle, or a ceiling too low). The clearance of a
free cell is its distance to the nearest cell that is not free floor (unknown counts as not
free). Points are then picked greedily, farthest first, among cells with clearance >=
``robot_radius`` whose floor under the footprint varies by at most ``max_floor_roughness``,
at least ``min_spacing`` apart; a point's height is the highest floor under its footprint
(where a dropped robot comes to rest).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lyra_sim.export import mesh_ops
from lyra_sim.export.collider import CollisionProxy
from lyra_sim.export.config import SpawnCfg


@dataclass
class SpawnPoint:
    """A place to put a robot, sim frame.

    Attributes:
        position: [3] floor point (x, y, z), metres.
        clearance: distance to the nearest obstacle or floor edge, metres.
        headroom: free height above the floor within ``robot_radius``, metres (None: open sky
            up to the collider's top).
    """

    position: np.ndarray
    clearance: float
    headroom: float | None

    def to_dict(self) -> dict:
        return {"position": [round(float(v), 5) for v in self.position], "clearance": round(self.clearance, 4),
                "headroom": None if self.headroom is None else round(self.headroom, 4)}


@dataclass
class FloorMap:
    """The XY grid behind the spawn points (for previews and tests).

    Attributes:
        origin: (x, y) of cell (0, 0)'s corner; cell: edge length, metres.
        floor, free: [X, Y] bool; clearance: [X, Y] metres.
        top, bottom: [X, Y] highest / lowest floor sample per cell (-inf / +inf where none).
        points: [P, 3] the surface samples the grid was built from.
    """

    origin: np.ndarray
    cell: float
    floor: np.ndarray
    free: np.ndarray
    clearance: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    points: np.ndarray


def floor_map(proxy: CollisionProxy, cfg: SpawnCfg, max_samples: int = 3_000_000, keep_out: np.ndarray | None = None) -> FloorMap:
    """Rasterise the sim-frame collider into floor / free / clearance grids.

    Args:
        keep_out: [K, 3] sim-frame points of geometry that moves through the world (a 4D
            world's moving parts at every instant); cells under them are blocked.
    """
    from scipy import ndimage

    area = proxy.area
    count = int(min(max_samples, max(10_000, 8 * area / cfg.cell_size**2)))
    pts, nrm = mesh_ops.sample_surface(proxy.vertices, proxy.faces, count, seed=1)
    near_floor = (np.abs(pts[:, 2]) <= cfg.floor_tolerance) & (nrm[:, 2] > np.cos(np.radians(25.0)))
    if not near_floor.any():
        empty = np.zeros((1, 1), bool)
        return FloorMap(np.zeros(2), cfg.cell_size, empty, empty, np.zeros((1, 1)), np.full((1, 1), -np.inf),
                        np.full((1, 1), np.inf), pts)
    lo = pts[near_floor, :2].min(0) - 2 * cfg.cell_size
    hi = pts[near_floor, :2].max(0) + 2 * cfg.cell_size
    shape = np.ceil((hi - lo) / cfg.cell_size).astype(int) + 1
    ij = np.floor((pts[:, :2] - lo) / cfg.cell_size).astype(int)
    inside = ((ij >= 0) & (ij < shape)).all(1)
    flat = ij[:, 0] * shape[1] + ij[:, 1]
    floor = np.zeros(shape.prod(), bool)
    floor[flat[inside & near_floor]] = True
    top = np.full(shape.prod(), -np.inf)
    bottom = np.full(shape.prod(), np.inf)
    # Anything a foot could rest on counts toward the top: floor, and low clutter under max_step_height
    # (walkable for a robot, but a bump under a spawn point tips what is dropped there).
    low = inside & (pts[:, 2] >= -cfg.floor_tolerance) & (pts[:, 2] <= cfg.max_step_height)
    np.maximum.at(top, flat[low], pts[low, 2])
    np.minimum.at(bottom, flat[inside & near_floor], pts[inside & near_floor, 2])
    blocking = inside & (pts[:, 2] > cfg.max_step_height) & (pts[:, 2] < cfg.robot_height)
    blocking |= inside & (pts[:, 2] < -cfg.floor_tolerance) & (pts[:, 2] > -cfg.robot_height)  # a pit, not floor
    blocked = np.zeros(shape.prod(), bool)
    blocked[flat[blocking]] = True
    if keep_out is not None and len(keep_out):
        kij = np.floor((keep_out[:, :2] - lo) / cfg.cell_size).astype(int)
        kin = ((kij >= 0) & (kij < shape)).all(1) & (keep_out[:, 2] > -cfg.floor_tolerance) & (keep_out[:, 2] < cfg.robot_height)
        blocked[kij[kin, 0] * shape[1] + kij[kin, 1]] = True
    floor = ndimage.binary_closing(floor.reshape(shape), iterations=2)  # sampling gaps, not real holes
    blocked = blocked.reshape(shape)
    free = floor & ~blocked
    clearance = ndimage.distance_transform_edt(free) * cfg.cell_size
    return FloorMap(lo, cfg.cell_size, floor, free, clearance, top.reshape(shape), bottom.reshape(shape), pts)


def find_spawn_points(proxy: CollisionProxy, cfg: SpawnCfg | None = None, keep_out: np.ndarray | None = None) -> list[SpawnPoint]:
    """Spawn points on the sim-frame collider ``proxy``; empty when no floor is free enough.

    ``keep_out``: [K, 3] sim-frame points of moving geometry; no robot spawns under them
    (see :func:`floor_map`)."""
    from scipy import ndimage

    cfg = cfg or SpawnCfg()
    fmap = floor_map(proxy, cfg, keep_out=keep_out)
    # Edge distance counts from cell centres; a cell needs the full radius to the nearest blocked cell.
    ok = fmap.clearance >= cfg.robot_radius + 0.5 * cfg.cell_size
    # The robot stands on the highest floor under its footprint; a bumpy patch is not free floor.
    r = int(np.ceil(cfg.robot_radius / cfg.cell_size))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disk = xx**2 + yy**2 <= r * r
    highest = ndimage.maximum_filter(fmap.top, footprint=disk, mode="constant", cval=-np.inf)
    lowest = ndimage.minimum_filter(fmap.bottom, footprint=disk, mode="constant", cval=np.inf)
    ok &= np.isfinite(highest) & (highest - lowest <= cfg.max_floor_roughness)
    cand = np.argwhere(ok)
    if len(cand) == 0:
        return []
    xy = fmap.origin + (cand + 0.5) * fmap.cell
    clear = fmap.clearance[ok]
    chosen = [int(np.argmax(clear))]
    dist = np.linalg.norm(xy - xy[chosen[0]], axis=1)
    while len(chosen) < cfg.num_points:
        # Farthest from the chosen ones; ties broken toward more clearance.
        score = np.where(dist >= cfg.min_spacing, dist + 1e-3 * clear, -np.inf)
        nxt = int(np.argmax(score))
        if not np.isfinite(score[nxt]):
            break
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(xy - xy[nxt], axis=1))
    heights = highest[ok]
    return [_point(fmap.points, xy[i], float(heights[i]), float(clear[i]), cfg) for i in chosen]


def _point(points: np.ndarray, xy: np.ndarray, z: float, clearance: float, cfg: SpawnCfg) -> SpawnPoint:
    """The spawn point at ``xy`` on floor height ``z``, with the head-room above it."""
    near = np.linalg.norm(points[:, :2] - xy, axis=1) <= max(cfg.robot_radius, 2 * cfg.cell_size)
    zs = points[near, 2]
    above = zs[zs > cfg.max_step_height]
    headroom = float(above.min() - z) if len(above) else None
    return SpawnPoint(np.array([xy[0], xy[1], z]), clearance, headroom)
