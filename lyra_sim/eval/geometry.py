"""Geometry metrics against ground-truth meshes: Chamfer distance and F-score.

Point sets are in scene units (metres for the procedural teacher). For predicted points P and
ground-truth points G with nearest-neighbour distances d(p, G) and d(g, P):

* accuracy = mean_p d(p, G), completeness = mean_g d(g, P),
  Chamfer = (accuracy + completeness) / 2 (an L1 Chamfer distance, in scene units);
* precision@tau = fraction of p with d(p, G) < tau, recall@tau = fraction of g with d(g, P) < tau,
  F-score = 2 P R / (P + R) (Knapitsch et al., Tanks and Temples).

Ground truth comes from the mesh by area-uniform sampling; :func:`visible_points` keeps the
samples that some evaluated camera actually sees (otherwise walls behind the cameras count as
missed geometry the decoder never had a chance to recover).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lyra_sim.cameras import Cameras, project_points
from lyra_sim.errors import InvalidInputError


def sample_mesh_points(vertices: Tensor, faces: Tensor, count: int, generator: torch.Generator | None = None) -> Tensor:
    """``[count, 3]`` points uniformly distributed over the mesh surface (by triangle area).

    Args:
        vertices: [V, 3]; faces: [F, 3] int64 vertex indices.
    """
    if faces.ndim != 2 or faces.shape[1] != 3 or vertices.ndim != 2 or vertices.shape[1] != 3:
        raise InvalidInputError(f"need vertices [V, 3] and faces [F, 3], got {list(vertices.shape)} and {list(faces.shape)}")
    dtype = vertices.dtype if vertices.is_floating_point() else torch.float32
    return sample_triangle_points(vertices.double()[faces.long()], count, generator).to(dtype)


def sample_triangle_points(
    triangles: Tensor, count: int, generator: torch.Generator | None = None, normals: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """``[count, 3]`` float64 points uniform by area over a triangle soup ``[F, 3, 3]``; with
    ``normals``, also the ``[count, 3]`` unit normal of each point's triangle."""
    t = triangles.double()
    a, b, c = t[:, 0], t[:, 1], t[:, 2]
    cross = torch.linalg.cross(b - a, c - a, dim=-1)
    area = cross.norm(dim=-1) / 2
    if not (area.sum() > 0):
        raise InvalidInputError("the mesh has no surface area to sample")
    tri = torch.multinomial(area / area.sum(), count, replacement=True, generator=generator)
    r1, r2 = torch.rand(2, count, generator=generator, dtype=torch.float64)
    s = r1.sqrt()  # barycentrics (1 - s, s (1 - r2), s r2) are uniform over the triangle
    points = (1 - s)[:, None] * a[tri] + (s * (1 - r2))[:, None] * b[tri] + (s * r2)[:, None] * c[tri]
    if not normals:
        return points
    return points, cross[tri] / (2 * area[tri, None]).clamp_min(1e-300)


def triangles_in_box(vertices: Tensor, faces: Tensor, lo: Tensor, hi: Tensor, max_levels: int = 10) -> Tensor:
    """The part of a mesh near the box [lo, hi] as a triangle soup ``[F, 3, 3]`` (float64).

    Triangles whose bounding box misses the box are dropped; those much larger than the box are
    split 1 -> 4 at edge midpoints and tested again, so the soup hugs the box and rejection
    sampling inside it wastes few samples. The union of the kept triangles covers mesh ∩ box.
    """
    lo, hi = lo.double(), hi.double()
    limit = float((hi - lo).max()) / 4
    tris = vertices.double()[faces.long()]
    for _ in range(max_levels + 1):
        tris = tris[((tris.min(1).values <= hi) & (tris.max(1).values >= lo)).all(1)]
        edges = (tris - tris.roll(1, dims=1)).norm(dim=-1).max(1).values
        big = edges > limit
        if not big.any():
            break
        t = tris[big]
        m01, m12, m20 = (t[:, 0] + t[:, 1]) / 2, (t[:, 1] + t[:, 2]) / 2, (t[:, 2] + t[:, 0]) / 2
        split = torch.cat([torch.stack(v, 1) for v in ((t[:, 0], m01, m20), (m01, t[:, 1], m12), (m20, m12, t[:, 2]), (m01, m12, m20))])
        tris = torch.cat([tris[~big], split])
    return tris


def visible_points(
    points: Tensor,
    cameras: Cameras,
    depth: Tensor,
    rel_tol: float = 0.02,
    abs_tol: float = 0.02,
    normals: Tensor | None = None,
    max_tan: float = 10.0,
    front_only: bool = False,
) -> Tensor:
    """``[N]`` bool: the point projects into some camera in front of it and lies on that view's
    depth map at its pixel, i.e. is not occluded.

    Without ``normals`` a point lies on the map when ``|z - depth| <= abs_tol + rel_tol * z``.
    With ``normals`` ([N, 3], either orientation) the tolerance is what the map's pixel can
    actually hold: ``abs_tol + (z / f) * sqrt(2) / 2 * tan(incidence)`` (``tan`` at most
    ``max_tan``), the depth a surface at that incidence changes across half a pixel's diagonal.
    Then the back of a 3 cm plank seen head-on at 10 m is hidden (2 % of z admitted it), while a
    floor seen at grazing angle stays visible.

    With ``front_only`` the normals are outward (the mesh is consistently wound) and a camera
    never sees a point whose normal faces away from it. Without it, the grazing tolerance admits
    a wall's back face 20 cm behind its front at 17 m (a 160x96 view of a warehouse's far side
    wall: 1.4 m of tolerance at incidence 85 degrees), which no depth can ever show.

    Args:
        points: [N, 3]; cameras: V cameras; depth: [V, H, W] ground-truth z-depth (0 = unknown),
            same units as ``points``.
    """
    seen = torch.zeros(points.shape[0], dtype=torch.bool)
    p = points.to(cameras.c2w.dtype)
    nrm = None if normals is None else torch.nn.functional.normalize(normals.to(p.dtype), dim=-1)
    H, W = cameras.height, cameras.width
    w2c = cameras.w2c
    for v in range(len(cameras)):
        uv, z = project_points(p, w2c[v], cameras.K[v])
        u, w = uv[:, 0], uv[:, 1]
        inside = (z > 0) & (u >= 0) & (u < W) & (w >= 0) & (w < H)
        ui, wi = u.clamp(0, W - 1).long(), w.clamp(0, H - 1).long()
        d = depth[v].to(p.dtype)[wi, ui]
        if nrm is None:
            tol = abs_tol + rel_tol * z
        else:
            ray = torch.nn.functional.normalize(p - cameras.c2w[v, :3, 3].to(p.dtype), dim=-1)
            cos = (ray * nrm).sum(-1).abs().clamp_min(1e-6)
            tan = ((1 - cos**2).clamp_min(0).sqrt() / cos).clamp_max(max_tan)
            focal = 0.5 * (cameras.K[v, 0, 0] + cameras.K[v, 1, 1]).to(p.dtype)
            tol = abs_tol + z.abs() / focal * (0.5 * 2**0.5) * tan
            if front_only:
                inside &= (ray * nrm).sum(-1) < 0  # the normal faces the camera
        seen |= inside & (d > 0) & ((z - d).abs() <= tol)
    return seen


def nearest_distances(query: Tensor, reference: Tensor, chunk: int = 4096) -> Tensor:
    """``[N]`` Euclidean distance from each query point to its nearest reference point.

    Uses scipy's k-d tree when scipy is installed (fast), else exact chunked ``torch.cdist``.
    """
    if reference.shape[0] == 0:
        return torch.full((query.shape[0],), math.inf, dtype=query.dtype)
    try:
        from scipy.spatial import cKDTree
    except ImportError:
        cKDTree = None
    if cKDTree is not None:
        dist, _ = cKDTree(reference.detach().double().cpu().numpy()).query(query.detach().double().cpu().numpy(), k=1)
        return torch.from_numpy(dist).to(query.dtype)
    out = []
    for i in range(0, query.shape[0], chunk):
        out.append(torch.cdist(query[i : i + chunk].double(), reference.double()).min(dim=1).values)
    return torch.cat(out).to(query.dtype) if out else query.new_zeros(0)


def chamfer_fscore(pred: Tensor, gt: Tensor, threshold: float = 0.05) -> dict[str, float]:
    """Chamfer distance, accuracy, completeness, precision, recall and F-score@``threshold``.

    Args:
        pred: [N, 3] predicted points; gt: [M, 3] ground-truth points (scene units).
    """
    if pred.ndim != 2 or gt.ndim != 2 or pred.shape[-1] != 3 or gt.shape[-1] != 3:
        raise InvalidInputError(f"point sets must be [N, 3], got {list(pred.shape)} and {list(gt.shape)}")
    if pred.shape[0] == 0 or gt.shape[0] == 0:
        nan = math.nan
        return {"chamfer": nan, "accuracy": nan, "completeness": nan, "precision": 0.0, "recall": 0.0, "fscore": 0.0}
    return distance_scores(nearest_distances(pred, gt), nearest_distances(gt, pred), threshold)


def distance_scores(d_pred: Tensor, d_gt: Tensor, threshold: float = 0.05) -> dict[str, float]:
    """:func:`chamfer_fscore`'s numbers from the distances themselves: ``d_pred`` [N] from each
    predicted point to the ground truth, ``d_gt`` [M] from each ground-truth point to the
    prediction (nearest points, or exact point-to-surface distances)."""
    if len(d_pred) == 0 or len(d_gt) == 0:
        nan = math.nan
        return {"chamfer": nan, "accuracy": nan, "completeness": nan, "precision": 0.0, "recall": 0.0, "fscore": 0.0}
    d_pred, d_gt = torch.as_tensor(d_pred, dtype=torch.float64), torch.as_tensor(d_gt, dtype=torch.float64)
    precision = float((d_pred < threshold).double().mean())
    recall = float((d_gt < threshold).double().mean())
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    acc, comp = float(d_pred.double().mean()), float(d_gt.double().mean())
    return {"chamfer": (acc + comp) / 2, "accuracy": acc, "completeness": comp, "precision": precision, "recall": recall, "fscore": f}


def subsample(points: Tensor, count: int, generator: torch.Generator | None = None) -> Tensor:
    """At most ``count`` rows of ``points``, drawn without replacement (all when fewer)."""
    if points.shape[0] <= count:
        return points
    return points[torch.randperm(points.shape[0], generator=generator)[:count]]
