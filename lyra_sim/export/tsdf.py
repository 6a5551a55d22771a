"""Truncated signed distance fusion of depth maps, vectorised in torch.

Each valid pixel updates the voxels along its ray within the truncation band around the
observed surface (``sdf = observed distance - sample distance``, positive toward the camera,
clamped to +-1 truncation): one scatter-add per chunk of rays, no per-voxel projection, so the
cost is proportional to pixels x band samples and 6 x 121 depth maps fuse in about a second.
Voxels no ray reached stay unobserved (weight 0) and are never meshed.

:func:`see_through` is the complementary free-space test: for any points it counts the views
that see *through* them (the observed surface lies well behind the point), which is how floaters
(a cloud some views saw and others looked past) are told from real surfaces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lyra_sim.cameras import camera_rays, project_to_pixels, unproject_depth
from lyra_sim.errors import ExportError
from lyra_sim.export.depth import DepthViews
from lyra_sim.progress import report, track


@dataclass
class TSDFVolume:
    """A dense TSDF grid.

    Attributes:
        tsdf: [X, Y, Z] signed distance / truncation in [-1, 1] (positive in free space).
        weight: [X, Y, Z] number of observations (0: never seen).
        origin: [3] world position of voxel (0, 0, 0)'s centre.
        voxel_size: edge length, scene units.
        truncation: band half-width, scene units.
    """

    tsdf: Tensor
    weight: Tensor
    origin: Tensor
    voxel_size: float
    truncation: float

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.tsdf.shape)


def auto_voxel_size(views: DepthViews, resolution: int, whole: bool = False,
                    max_voxels: int = 24_000_000, voxel_size: float | None = None) -> tuple[float, Tensor]:
    """(voxel size, [2, 3] bounds) from the fused points.

    The voxel is the longest side of the points' robust extent (0.5 %-99.5 % quantiles) over
    ``resolution``, but never finer than half the median pixel footprint (depth / focal length):
    finer voxels would only fuse noise. The bounds are that extent too, unless ``whole``.

    Args:
        whole: bounds that hold *every* point, for views already cut to their near region
            (``DepthViews.near``), which has no far outliers left to trim. Its sparse rim (ground
            seen at grazing incidence: a few pixels per square metre over most of an outdoor
            scene's area) lies outside the quantiles, and a grid cut there left a grassy slope's
            collider a 22 x 22 m rectangle of a 37 x 26 m fused region (on the teacher's exact
            depth: completeness 59 cm, 19 cm with the whole extent). The grid grows by whole
            voxels, so it keeps the quantile box's phase.
        max_voxels: with ``whole``, the grid grows beyond the quantile box only as far as this
            many voxels allow (before the truncation padding), the same fraction on every side.
        voxel_size: a given voxel (then ``resolution`` is unused); the bounds grow in its steps,
            so a re-export with generate's recorded voxel fuses on generate's very grid (grown in
            the automatic voxel's steps, the grids differed and 3 of 8 spawn points moved 0.3-0.9 m).
    """
    pts = views.points(stride=1 if whole else 2)
    if len(pts) < 16:
        raise ExportError("the depth maps hold almost no valid depth; there is no geometry to build a collider from")
    sample = pts[torch.randperm(len(pts), generator=torch.Generator().manual_seed(0))[:200_000]]
    lo = torch.quantile(sample, 0.005, dim=0)
    hi = torch.quantile(sample, 0.995, dim=0)
    voxel = float((hi - lo).max()) / resolution
    depth = views.depth[views.valid()]
    footprint = float(depth.median()) / float(views.cameras.fx.median())
    voxel = max(voxel, 0.5 * footprint, 1e-6) if voxel_size is None else float(voxel_size)
    if whole:
        below = torch.ceil((lo - pts.min(0).values).clamp(min=0) / voxel)
        above = torch.ceil((pts.max(0).values - hi).clamp(min=0) / voxel)
        # Within the voxel budget: the part of the rim beyond the box shrinks (a bedroom seen
        # through its door reached 66M voxels at 2 cm, where its own box holds 7M).
        cells = lambda t: float(torch.prod((hi - lo) / voxel + t * (below + above) + 1))
        t = 1.0
        if cells(1.0) > max_voxels:
            t_lo, t_hi = 0.0, 1.0
            for _ in range(30):
                t = (t_lo + t_hi) / 2
                t_lo, t_hi = (t, t_hi) if cells(t) <= max_voxels else (t_lo, t)
            t = t_lo
        lo, hi = lo - torch.floor(t * below) * voxel, hi + torch.floor(t * above) * voxel
    return voxel, torch.stack([lo, hi])


def fuse_tsdf(
    views: DepthViews,
    voxel_size: float,
    bounds: Tensor,
    truncation_voxels: float = 3.0,
    max_voxels: int = 64_000_000,
    chunk_rays: int = 1 << 18,
) -> TSDFVolume:
    """Fuse ``views`` into a TSDF over ``bounds`` ([2, 3], padded by the truncation)."""
    trunc = truncation_voxels * voxel_size
    lo = bounds[0].double() - 3 * trunc - 2 * voxel_size  # rays need their whole band inside
    hi = bounds[1].double() + 3 * trunc + 2 * voxel_size
    dims = torch.ceil((hi - lo) / voxel_size).long() + 1
    if int(dims.prod()) > max_voxels:
        raise ExportError(
            f"a TSDF of {dims.tolist()} voxels ({voxel_size:.4g} units each) is too large; raise voxel_size or lower "
            "the collider resolution"
        )
    nx, ny, nz = dims.tolist()
    total = nx * ny * nz
    sum_w = torch.zeros(total, dtype=torch.float32)
    sum_ws = torch.zeros(total, dtype=torch.float32)
    steps = int(np.ceil(truncation_voxels))
    offsets = torch.arange(-steps, steps + 1, dtype=torch.float32) * (trunc / steps)  # along the ray
    sdf_of_offset = (-offsets / trunc).clamp(-1, 1)
    origin32 = lo.float()
    strides = torch.tensor([ny * nz, nz, 1])
    offsets_v = offsets / voxel_size  # band offsets in voxels
    # The band of a ray whose surface point lies this far inside the grid never leaves it, so
    # rays are filtered once instead of every band sample.
    margin = float(offsets_v.abs().max()) + 1.0
    upper = dims.float() - 1.0 - margin
    dir_bins = torch.tensor([64, 8, 1])
    for surf, dirs in _surface_rays(views, chunk_rays):
        g = (surf - origin32) / voxel_size  # voxel coordinates
        keep = ((g >= margin) & (g <= upper)).all(-1)
        g, dirs = g[keep], dirs[keep]
        # Consecutive video frames see the same surface again and again: rays that end in the
        # same voxel from nearly the same direction (one of 8^3 direction bins) are merged into
        # one weighted ray at their mean end point first, which cuts the band sampling below by
        # about the number of frames that saw each voxel, at no cost in sub-voxel accuracy.
        key = ((g + 0.5).long() * strides).sum(-1) * 512 + ((dirs + 1) * 4).long().clamp(0, 7).mul(dir_bins).sum(-1)
        _, group, counts = torch.unique(key, return_inverse=True, return_counts=True)
        w = counts.float()
        g_m = torch.zeros(len(w), 3).index_add_(0, group, g) / w[:, None]
        d_m = torch.nn.functional.normalize(torch.zeros(len(w), 3).index_add_(0, group, dirs), dim=-1)
        # Samples p = surface + off * d along the unit ray d; sdf = -off (positive toward the camera).
        for off, sdf in zip(offsets_v.tolist(), sdf_of_offset.tolist()):
            flat = (torch.add(g_m, d_m, alpha=off).add_(0.5).long() * strides).sum(-1)
            sum_w.index_add_(0, flat, w)
            sum_ws.index_add_(0, flat, w, alpha=sdf)
    weight = sum_w.reshape(nx, ny, nz)
    tsdf = torch.where(sum_w > 0, sum_ws / sum_w.clamp(min=1), torch.ones_like(sum_w)).reshape(nx, ny, nz)
    return TSDFVolume(tsdf, weight, lo.float(), float(voxel_size), float(trunc))


def _surface_rays(views: DepthViews, chunk_rays: int):
    """Yield (surface points [R, 3], unit ray directions [R, 3]) of the valid pixels, in chunks."""
    valid = views.valid().cpu()
    per_chunk = max(1, chunk_rays // (views.cameras.width * views.cameras.height))
    n = len(views)
    report("TSDF fusion views", 0, n)
    for v0 in range(0, n, per_chunk):
        cams = views.cameras[v0 : v0 + per_chunk].to("cpu", torch.float32)
        _, dirs = camera_rays(cams)
        ok = valid[v0 : v0 + per_chunk]
        surface = unproject_depth(views.depth[v0 : v0 + per_chunk].cpu().float(), cams.K, cams.c2w)
        yield surface[ok], dirs[ok]
        report("TSDF fusion views", min(v0 + per_chunk, n), n)


def extract_mesh(volume: TSDFVolume) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes at the zero level over cells whose eight corners were all observed.

    Returns:
        vertices [V, 3] float64 (world), faces [F, 3] int64, wound so normals face free space.
    """
    from skimage import measure

    weight, tsdf_t = volume.weight, volume.tsdf.clone()
    if (weight > 0).sum() < 8:
        raise ExportError("the TSDF observed almost nothing; no surface to extract")
    # Rays sample the band about once per voxel, so a voxel next to observed ones may have been
    # skipped (a diagonal ray steps over it). Give such gaps the weighted mean of their 26
    # neighbours; without this, surfaces seen at grazing angles come out full of holes.
    pool = lambda x: torch.nn.functional.avg_pool3d(x[None, None], 3, stride=1, padding=1)[0, 0]
    num, den = pool(weight * tsdf_t), pool(weight)
    gaps = (weight == 0) & (den > 0)
    tsdf_t[gaps] = num[gaps] / den[gaps]
    observed = (weight > 0) | gaps
    # A cell is meshed only if all 8 corners are observed: erode "observed" by the cell's corners.
    cells = observed.clone()
    cells[:-1] &= observed[1:]
    cells[:, :-1] &= cells[:, 1:].clone()
    cells[:, :, :-1] &= cells[:, :, 1:].clone()
    cells[-1], cells[:, -1], cells[:, :, -1] = False, False, False
    tsdf = tsdf_t.numpy()
    if not ((tsdf[cells.numpy()] > 0).any() and (tsdf[cells.numpy()] < 0).any()):
        raise ExportError("the fused depth crosses no surface; check that the depth maps and cameras agree")
    # Corners of masked cells: marching cubes looks at mask[x, y, z] of a cell's first corner.
    verts, faces, _, _ = measure.marching_cubes(
        tsdf, level=0.0, spacing=(volume.voxel_size,) * 3, mask=cells.numpy(), allow_degenerate=False
    )
    verts = verts.astype(np.float64) + volume.origin.double().numpy()
    # skimage's default "descent" winding makes normals point toward increasing values, i.e.
    # into free space for our sdf (positive toward the cameras).
    return verts, faces.astype(np.int64)


def see_through(points: Tensor, views: DepthViews, margin: float) -> tuple[Tensor, Tensor]:
    """Per point, how many views see it and how many see through it.

    A view *sees* a point in its image when the observed depth there is within ``margin`` of the
    point's depth; it *sees through* it when the observed depth in the whole 3 x 3 pixel
    neighbourhood is more than ``margin`` beyond (so a point on a silhouette, whose pixel may
    already show the background, is not mistaken for a floater).

    Args:
        points: [P, 3] world points.
        margin: scene units (the truncation band).

    Returns:
        (seen [P], through [P]) int counts.
    """
    pts = points.float()
    P = len(pts)
    seen = torch.zeros(P, dtype=torch.long)
    through = torch.zeros(P, dtype=torch.long)
    valid = views.valid()
    depth = torch.where(valid, views.depth.float(), 0.0)
    # Nearest valid depth around each pixel; an invalid neighbour (0) vetoes "seen through".
    near = -torch.nn.functional.max_pool2d(-depth[:, None], 3, 1, 1)[:, 0]
    depth, near, valid = depth.flatten(1), near.flatten(1), valid.flatten(1)
    w2c = views.cameras.w2c.float()
    K = views.cameras.K.float()
    H, W = views.cameras.height, views.cameras.width
    for v in track(range(len(views)), "floater check views"):
        idx, lin, z = project_to_pixels(pts, w2c[v], K[v], W, H)
        if not len(idx):
            continue
        ok = valid[v, lin]
        zi, obs, nearest = z[idx], depth[v, lin], near[v, lin]
        seen += torch.bincount(idx[ok & ((obs - zi).abs() <= margin)], minlength=P)
        through += torch.bincount(idx[ok & (nearest - zi > margin)], minlength=P)
    return seen, through
