"""Spawn points: places on walkable ground where a robot of a given footprint and height fits.

Works on the collider in the sim frame (Z up, metres). The collider's surface is sampled
densely and binned into an XY grid of ``cell_size`` cells (larger on big captures: at most
``max_cells`` cells span the collider, see :func:`ground_cell_size`).

*Ground.* In each cell the samples that face up are stacked into layers (heights less than
``max_step_height`` apart are one layer: a floor with low clutter on it). Layers of neighbouring
cells whose tops differ by at most ``max_step_height`` are joined; the largest joined surface is
the ground, at any height: a room's floor, a hillside, a courtyard with its ramps. A shelf top, a
table top or a pillar top is a surface of its own, not ground.

*Free ground.* A ground cell is blocked where any surface lies between ``max_step_height`` and
``robot_height`` above its ground (an obstacle, or a ceiling too low) or more than
``floor_tolerance`` below it (a pit or a ledge). The clearance of a free cell is its distance to
the nearest cell that is not free ground (unknown counts as not free).

*Footprint.* Under each cell with clearance >= ``robot_radius`` a plane is fitted to the ground
(least squares over the cells' mean samples, within the disc of ``robot_radius``). Its slope must
be at most ``max_slope_degrees``, and the ground under the disc may rise above and sink below
that plane by at most ``max_floor_roughness`` in all: a 10 degree ramp passes, a bump on a flat
floor does not. The ground's "top" counts low clutter facing any way.

*Picks.* Points are picked greedily, farthest first, at least ``min_spacing`` apart, a footprint
as rough as the limit counting ``min_spacing`` nearer (smooth ground wins); when the ground holds
fewer than ``num_points`` that far apart, the rest are picked at least ``fill_spacing`` apart. A point lies on its
fitted plane raised by the highest ground above it under the footprint (where a dropped robot
comes to rest) and carries the plane's unit normal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lyra_sim.export import mesh_ops
from lyra_sim.export.config import SpawnCfg

if TYPE_CHECKING:  # annotations only: importing the collider (torch) would slow `lyra-sim check`
    from lyra_sim.export.collider import CollisionProxy

_MAX_LAYERS = 4
"""Layers per cell taken into account when joining neighbours (a floor, a table, a shelf, ...)."""


@dataclass
class SpawnPoint:
    """A place to put a robot, sim frame.

    Attributes:
        position: [3] ground point (x, y, z), metres.
        clearance: distance to the nearest obstacle or ground edge, metres.
        headroom: free height above the ground within ``robot_radius``, metres (None: open sky
            up to the collider's top).
        normal: [3] unit normal of the ground plane fitted under the footprint (+Z on flat floor).
    """

    position: np.ndarray
    clearance: float
    headroom: float | None
    normal: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))

    def to_dict(self) -> dict:
        return {"position": [round(float(v), 5) for v in self.position], "clearance": round(self.clearance, 4),
                "headroom": None if self.headroom is None else round(self.headroom, 4),
                "normal": [round(float(v), 5) for v in self.normal]}


@dataclass
class GroundMap:
    """The XY grid behind the spawn points (for previews and tests). Cell (i, j) spans
    ``origin + [i, i + 1) x [j, j + 1) * cell`` in x and y.

    Attributes:
        origin: [2] (x, y) of cell (0, 0)'s corner; cell: edge length, metres.
        ground: [X, Y] bool, the ground (with sampling gaps closed); free: [X, Y] bool, ground
            that is not blocked; clearance: [X, Y] metres.
        top: [X, Y] height of the highest sample a foot could rest on per cell (the ground, or
            clutter lower than ``max_step_height`` on it, facing any way); bottom: [X, Y] lowest
            ground sample (both NaN where the cell has no ground sample).
        top_xy, bottom_xy, mean: [X, Y, 2], [X, Y, 2], [X, Y, 3] where those samples lie, and the
            mean of the cell's ground samples (NaN where none).
        points: [P, 3] the surface samples the grid was built from.
    """

    origin: np.ndarray
    cell: float
    ground: np.ndarray
    free: np.ndarray
    clearance: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    top_xy: np.ndarray
    bottom_xy: np.ndarray
    mean: np.ndarray
    points: np.ndarray


def ground_map(proxy: CollisionProxy, cfg: SpawnCfg, max_samples: int = 3_000_000, keep_out: np.ndarray | None = None) -> GroundMap:
    """Rasterise the sim-frame collider into ground / free / clearance grids.

    Args:
        keep_out: [K, 3] sim-frame points of geometry that moves through the world (a 4D
            world's moving parts at every instant); cells under them are blocked.
    """
    from scipy import ndimage

    cell = ground_cell_size(proxy, cfg)
    count = int(min(max_samples, max(10_000, 8 * proxy.area / cell**2)))
    pts, nrm = mesh_ops.sample_surface(proxy.vertices, proxy.faces, count, seed=1)
    # Samples facing up this much may be ground; the slope limit is applied to the plane fitted
    # under a footprint, since single faces of a TSDF surface tilt far more than the ground does.
    up = nrm[:, 2] >= np.cos(np.radians(max(45.0, cfg.max_slope_degrees + 15.0)))
    if not up.any():
        return _empty_map(cell, pts)
    lo = (np.floor(pts[up, :2].min(0) / cell) - 2) * cell  # cells on a lattice fixed in the world
    shape = np.ceil((pts[up, :2].max(0) + 2 * cell - lo) / cell).astype(int) + 1
    ij = np.floor((pts[:, :2] - lo) / cell).astype(int)
    inside = ((ij >= 0) & (ij < shape)).all(1)
    flat = np.where(inside, ij[:, 0] * shape[1] + ij[:, 1], -1)
    cells = shape.prod()

    layers = _layers(flat[up & inside], pts[up & inside], cfg.max_step_height)
    ground_layers = layers.index[_largest_surface(layers, shape, cfg.max_step_height)]
    top, bottom = np.full(cells, np.nan), np.full(cells, np.nan)
    top_xy, bottom_xy, mean = np.full((cells, 2), np.nan), np.full((cells, 2), np.nan), np.full((cells, 3), np.nan)
    c = layers.cell[ground_layers]
    top[c], bottom[c] = layers.top[ground_layers, 2], layers.bottom[ground_layers, 2]
    top_xy[c], bottom_xy[c], mean[c] = layers.top[ground_layers, :2], layers.bottom[ground_layers, :2], layers.mean[ground_layers]
    has = np.zeros(cells, bool)
    has[c] = True
    ground = ndimage.binary_closing(has.reshape(shape), iterations=2)  # sampling gaps, not real holes
    # A cell closed in has no height of its own: it takes its nearest sampled neighbour's, so what
    # stands in it (a thin post between floor samples) still blocks it.
    near = ndimage.distance_transform_edt(~has.reshape(shape), return_distances=False, return_indices=True)
    near = near[0] * shape[1] + near[1]
    g_top, g_bottom = top[near].ravel(), bottom[near].ravel()

    z = pts[:, 2]
    t, b = g_top[flat], g_bottom[flat]
    with np.errstate(invalid="ignore"):
        blocking = inside & (z > t + cfg.max_step_height) & (z < t + cfg.robot_height)
        blocking |= inside & (z < b - cfg.floor_tolerance) & (z > b - cfg.robot_height)  # a pit or a ledge
        # Anything a foot could rest on counts toward the top, whichever way it faces: the ground,
        # and clutter lower than max_step_height (walkable for a robot, but a bump under a spawn
        # point tips what is dropped there; the steep flank of a lump is often its highest part).
        low = inside & has[flat] & (z >= b) & (z <= t + cfg.max_step_height)
    order = np.flatnonzero(low)[np.lexsort((z[low], flat[low]))]
    last = order[np.r_[flat[order][1:] != flat[order][:-1], True]]
    top[flat[last]], top_xy[flat[last]] = z[last], pts[last, :2]
    blocked = np.zeros(cells, bool)
    blocked[flat[blocking]] = True
    if keep_out is not None and len(keep_out):
        kij = np.floor((keep_out[:, :2] - lo) / cell).astype(int)
        kin = ((kij >= 0) & (kij < shape)).all(1)
        kflat = kij[kin, 0] * shape[1] + kij[kin, 1]
        kz = keep_out[kin, 2]
        with np.errstate(invalid="ignore"):
            hit = (kz > g_bottom[kflat] - cfg.floor_tolerance) & (kz < g_top[kflat] + cfg.robot_height)
        blocked[kflat[hit]] = True
    free = ground & ~blocked.reshape(shape)
    clearance = ndimage.distance_transform_edt(free) * cell
    return GroundMap(lo, cell, ground, free, clearance, top.reshape(shape), bottom.reshape(shape),
                     top_xy.reshape(*shape, 2), bottom_xy.reshape(*shape, 2), mean.reshape(*shape, 3), pts)


def ground_cell_size(proxy: CollisionProxy, cfg: SpawnCfg) -> float:
    """The ground map's cell edge, metres: ``cfg.cell_size``, grown so that the collider's XY
    bounding box spans at most ``cfg.max_cells`` cells (the map's cost follows the content's
    extent, not a fixed resolution)."""
    if len(proxy.vertices) == 0:
        return cfg.cell_size
    span = np.ptp(np.asarray(proxy.vertices)[:, :2], axis=0)
    return max(cfg.cell_size, float(np.sqrt(np.prod(span + 4 * cfg.cell_size) / cfg.max_cells)))


def _empty_map(cell: float, pts: np.ndarray) -> GroundMap:
    no = np.zeros((1, 1), bool)
    nan = np.full((1, 1), np.nan)
    return GroundMap(np.zeros(2), cell, no, no, np.zeros((1, 1)), nan, nan, np.full((1, 1, 2), np.nan),
                     np.full((1, 1, 2), np.nan), np.full((1, 1, 3), np.nan), pts)


@dataclass
class _Layers:
    """Up-facing surface layers, sorted by cell then height: ``index`` [L] 0..L-1, ``cell`` [L]
    flat cell index, ``top`` / ``bottom`` [L, 3] highest / lowest sample, ``mean`` [L, 3]."""

    index: np.ndarray
    cell: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    mean: np.ndarray


def _layers(flat: np.ndarray, pts: np.ndarray, gap: float) -> _Layers:
    """Stack each cell's samples (``flat`` [P] cell indices, ``pts`` [P, 3]) into layers split
    where consecutive heights are more than ``gap`` apart."""
    order = np.lexsort((pts[:, 2], flat))
    f, p = flat[order], pts[order]
    start = np.r_[True, (f[1:] != f[:-1]) | (np.diff(p[:, 2]) > gap)]
    first = np.flatnonzero(start)
    last = np.r_[first[1:] - 1, len(f) - 1]
    mean = np.add.reduceat(p, first, axis=0) / np.diff(np.r_[first, len(f)])[:, None]
    return _Layers(np.arange(len(first)), f[first], p[last], p[first], mean)


def _largest_surface(layers: _Layers, shape: np.ndarray, step: float) -> np.ndarray:
    """[L] bool: the layers of the largest surface joined across neighbouring cells (4-connected)
    by steps of at most ``step``, the lowest one per cell where it passes over itself."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(layers.index)
    new_cell = np.r_[True, layers.cell[1:] != layers.cell[:-1]]
    rank = layers.index - np.maximum.accumulate(np.where(new_cell, layers.index, 0))
    keep = rank < _MAX_LAYERS
    ids = np.full((_MAX_LAYERS, shape.prod()), -1)
    ids[rank[keep], layers.cell[keep]] = layers.index[keep]
    ids = ids.reshape(_MAX_LAYERS, *shape)
    tops = np.where(ids >= 0, layers.top[ids, 2], np.nan)
    rows, cols = [layers.index], [layers.index]
    for a, b in ((np.s_[:, :-1, :], np.s_[:, 1:, :]), (np.s_[:, :, :-1], np.s_[:, :, 1:])):
        ia, ib, ta, tb = ids[a], ids[b], tops[a], tops[b]
        for k1 in range(_MAX_LAYERS):
            for k2 in range(_MAX_LAYERS):
                with np.errstate(invalid="ignore"):
                    joined = np.abs(ta[k1] - tb[k2]) <= step
                rows.append(ia[k1][joined])
                cols.append(ib[k2][joined])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    _, label = connected_components(coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)), directed=False)
    mine = label == np.argmax(np.bincount(label))
    lowest = np.zeros(n, bool)
    idx = np.flatnonzero(mine)
    lowest[idx[np.r_[True, layers.cell[idx][1:] != layers.cell[idx][:-1]]]] = True
    return lowest


@dataclass
class _Footprints:
    """Planes fitted under candidate footprints, [M] each: ``normal`` [M, 3] unit, ``height`` of
    the plane at the cell centre, ``rise`` / ``sink`` highest / lowest ground above the plane."""

    normal: np.ndarray
    height: np.ndarray
    rise: np.ndarray
    sink: np.ndarray


def _fit_footprints(gmap: GroundMap, cand: np.ndarray, radius: float) -> _Footprints:
    """Least-squares plane z = a x + b y + c through the mean ground samples of the cells within
    ``radius`` metres of each candidate cell (``cand`` [M, 2] cell indices); x, y relative to
    the candidate's centre. Footprints with fewer than half their cells sampled get NaN."""
    r = int(np.ceil(radius / gmap.cell))
    di, dj = np.mgrid[-r : r + 1, -r : r + 1]
    disk = di**2 + dj**2 <= r * r
    offsets = np.stack([di[disk], dj[disk]], 1)

    def pad(a: np.ndarray) -> np.ndarray:  # NaN around the grid: footprints may reach past its edge
        return np.pad(a, [(r, r), (r, r)] + [(0, 0)] * (a.ndim - 2), constant_values=np.nan)

    centre = gmap.origin + (np.indices(gmap.top.shape).transpose(1, 2, 0) + 0.5) * gmap.cell  # [X, Y, 2]
    mean, top, bottom = pad(gmap.mean), pad(gmap.top), pad(gmap.bottom)
    top_xy, bottom_xy, centre = pad(gmap.top_xy), pad(gmap.bottom_xy), pad(centre)
    ci, cj = cand[:, 0] + r, cand[:, 1] + r
    c0 = centre[ci, cj]
    m = np.zeros((len(cand), 6))  # n, Sx, Sy, Sxx, Sxy, Syy
    rhs = np.zeros((len(cand), 3))  # Sxz, Syz, Sz
    for oi, oj in offsets:
        p = mean[ci + oi, cj + oj]
        ok = np.isfinite(p[:, 2])
        x, y, z = (np.where(ok, v, 0.0) for v in (p[:, 0] - c0[:, 0], p[:, 1] - c0[:, 1], p[:, 2]))
        m += np.stack([ok, x, y, x * x, x * y, y * y], 1)
        rhs += np.stack([x * z, y * z, z], 1)
    n, sx, sy, sxx, sxy, syy = m.T
    a = np.stack([np.stack([sxx, sxy, sx], -1), np.stack([sxy, syy, sy], -1), np.stack([sx, sy, n], -1)], 1)
    enough = n >= max(3, 0.5 * len(offsets))
    a[~enough] = np.eye(3)
    coef = np.linalg.solve(a, rhs[..., None])[..., 0]
    coef[~enough] = np.nan
    rise, sink = np.full(len(cand), -np.inf), np.full(len(cand), np.inf)
    for oi, oj in offsets:
        for z, xy, into in ((top, top_xy, "rise"), (bottom, bottom_xy, "sink")):
            q = xy[ci + oi, cj + oj] - c0
            res = z[ci + oi, cj + oj] - (coef[:, 0] * q[:, 0] + coef[:, 1] * q[:, 1] + coef[:, 2])
            if into == "rise":
                rise = np.fmax(rise, res)
            else:
                sink = np.fmin(sink, res)
    normal = np.stack([-coef[:, 0], -coef[:, 1], np.ones(len(cand))], 1)
    return _Footprints(normal / np.linalg.norm(normal, axis=1, keepdims=True), coef[:, 2], rise, sink)


def find_spawn_points(proxy: CollisionProxy, cfg: SpawnCfg | None = None, keep_out: np.ndarray | None = None) -> list[SpawnPoint]:
    """Spawn points on the sim-frame collider ``proxy``; empty when no ground is free enough.

    ``keep_out``: [K, 3] sim-frame points of moving geometry; no robot spawns under them
    (see :func:`ground_map`)."""
    cfg = cfg or SpawnCfg()
    gmap = ground_map(proxy, cfg, keep_out=keep_out)
    # Edge distance counts from cell centres; a cell needs the full radius to the nearest blocked cell.
    cand = np.argwhere(gmap.clearance >= cfg.robot_radius + 0.5 * gmap.cell)
    if len(cand) == 0:
        return []
    if len(cand) > cfg.max_candidates:  # a regular sub-lattice: cost bounded by the budget, not the extent
        k = int(np.ceil(np.sqrt(len(cand) / cfg.max_candidates)))
        lattice = cand[(cand[:, 0] % k == 0) & (cand[:, 1] % k == 0)]
        cand = lattice if len(lattice) else cand[:: k * k]
    fit = _fit_footprints(gmap, cand, cfg.robot_radius)
    with np.errstate(invalid="ignore"):
        ok = (fit.normal[:, 2] >= np.cos(np.radians(cfg.max_slope_degrees))) & (fit.rise - fit.sink <= cfg.max_floor_roughness)
    if not ok.any():
        return []
    xy = gmap.origin + (cand[ok] + 0.5) * gmap.cell
    clear = gmap.clearance[cand[ok, 0], cand[ok, 1]]
    # Farthest-first picks land on the rim of the acceptable ground, next to whatever ended it; a
    # footprint as rough as the limit counts min_spacing nearer, so a smoother spot close by wins.
    # (A humanoid set down where a 2.5 cm lump lay under one sole fell over.)
    penalty = cfg.min_spacing * (fit.rise - fit.sink)[ok] / cfg.max_floor_roughness
    chosen = [int(np.argmax(clear - penalty))]
    dist = np.linalg.norm(xy - xy[chosen[0]], axis=1)
    fill = 2.0 * cfg.robot_radius if cfg.fill_spacing is None else cfg.fill_spacing
    spacing = cfg.min_spacing
    while len(chosen) < cfg.num_points:
        # Farthest from the chosen ones; ties broken toward more clearance.
        score = np.where(dist >= spacing, dist - penalty + 1e-3 * clear, -np.inf)
        nxt = int(np.argmax(score))
        if not np.isfinite(score[nxt]):
            if spacing <= fill:
                break
            spacing = fill  # a small ground: closer points, footprints still apart
            continue
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(xy - xy[nxt], axis=1))
    # The robot rests on the highest ground above the plane under its footprint.
    z = fit.height[ok] + np.maximum(fit.rise[ok], 0.0)
    normal = fit.normal[ok]
    return [_point(gmap.points, np.array([*xy[i], z[i]]), normal[i], float(clear[i]), gmap.cell, cfg) for i in chosen]


def _point(points: np.ndarray, position: np.ndarray, normal: np.ndarray, clearance: float, cell: float, cfg: SpawnCfg) -> SpawnPoint:
    """The spawn point at ``position`` on ground of unit ``normal``, with the head-room above it
    (measured vertically from the ground plane through the point)."""
    d = points - position
    near = np.linalg.norm(d[:, :2], axis=1) <= max(cfg.robot_radius, 2 * cell)
    above_plane = (d[near] @ normal) / normal[2]
    above = above_plane[above_plane > cfg.max_step_height]
    headroom = float(above.min()) if len(above) else None
    return SpawnPoint(position, clearance, headroom, normal)
