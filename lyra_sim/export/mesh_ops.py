"""Triangle-mesh cleanup for the collision proxy: components, holes, decimation, watertightness.

Meshes are numpy ``vertices [V, 3] float64`` and ``faces [F, 3] int64`` (counter-clockwise seen
from the side the normal points to). Every step is vectorised except hole tracing, which walks
only boundary edges.
"""

from __future__ import annotations

import numpy as np


def face_normals(vertices: np.ndarray, faces: np.ndarray, unit: bool = True) -> np.ndarray:
    """[F, 3] face normals (unit, or of length 2 x area when ``unit`` is False)."""
    v0, v1, v2 = (vertices[faces[:, i]] for i in range(3))
    n = np.cross(v1 - v0, v2 - v0)
    if unit:
        n = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
    return n


def face_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """[F] triangle areas."""
    return 0.5 * np.linalg.norm(face_normals(vertices, faces, unit=False), axis=1)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """[V, 3] area-weighted unit vertex normals."""
    fn = face_normals(vertices, faces, unit=False)
    vn = np.zeros_like(vertices)
    for i in range(3):
        np.add.at(vn, faces[:, i], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-30)


def remove_unreferenced(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop vertices no face uses (and degenerate faces); re-index."""
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    used = np.zeros(len(vertices), bool)
    used[faces.ravel()] = True
    remap = np.cumsum(used) - 1
    return vertices[used], remap[faces].astype(np.int64)


def keep_faces(vertices: np.ndarray, faces: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return remove_unreferenced(vertices, faces[keep])


def connected_components(faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """[F] component label of each face (faces sharing a vertex are connected)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as cc

    if len(faces) == 0:
        return np.zeros(0, np.int64)
    rows = np.concatenate([faces[:, 0], faces[:, 1]])
    cols = np.concatenate([faces[:, 1], faces[:, 2]])
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(num_vertices, num_vertices))
    _, labels = cc(graph, directed=False)
    return labels[faces[:, 0]]


def keep_large_components(vertices: np.ndarray, faces: np.ndarray, min_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Drop connected components holding less than ``min_fraction`` of the total area."""
    if len(faces) == 0:
        return vertices, faces
    labels = connected_components(faces, len(vertices))
    area = np.bincount(labels, weights=face_areas(vertices, faces))
    keep = area >= min_fraction * area.sum()
    return keep_faces(vertices, faces, keep[labels])


def _edges(faces: np.ndarray) -> np.ndarray:
    """[3F, 2] directed edges (a -> b) in face winding order."""
    return np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])


def is_watertight(faces: np.ndarray) -> bool:
    """Closed and consistently oriented: every directed edge appears once and its reverse once."""
    if len(faces) == 0:
        return False
    directed = _edges(faces)
    key = directed[:, 0].astype(np.int64) * (int(faces.max()) + 1) + directed[:, 1]
    rkey = directed[:, 1].astype(np.int64) * (int(faces.max()) + 1) + directed[:, 0]
    uniq, counts = np.unique(key, return_counts=True)
    if (counts != 1).any():
        return False
    return bool(np.isin(rkey, uniq).all())


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """Closed loops of boundary edges (edges used by one face), each in boundary order.

    A boundary edge a -> b of a face is followed by the boundary edge starting at b. Vertices
    where several boundary loops touch (non-manifold) are ambiguous; loops through them are
    skipped rather than guessed.
    """
    directed = _edges(faces)
    n = int(faces.max()) + 1 if len(faces) else 0
    key = directed[:, 0].astype(np.int64) * n + directed[:, 1]
    rkey = directed[:, 1].astype(np.int64) * n + directed[:, 0]
    boundary = directed[~np.isin(key, rkey)]
    if len(boundary) == 0:
        return []
    starts, counts = np.unique(boundary[:, 0], return_counts=True)
    ambiguous = set(starts[counts > 1].tolist())
    nxt = {int(a): int(b) for a, b in boundary if int(a) not in ambiguous}
    loops, visited = [], set()
    for start in list(nxt):
        if start in visited:
            continue
        loop, v = [], start
        while v in nxt and v not in visited:
            visited.add(v)
            loop.append(v)
            v = nxt[v]
        if v == start and len(loop) >= 3:
            loops.append(np.asarray(loop, np.int64))
    return loops


def fill_small_holes(vertices: np.ndarray, faces: np.ndarray, max_edges: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Close boundary loops of at most ``max_edges`` edges with a fan around their centroid.

    Returns:
        (vertices, faces, number of holes filled).
    """
    if len(faces) == 0 or max_edges < 3:
        return vertices, faces, 0
    new_v, new_f = [vertices], [faces]
    nv = len(vertices)
    filled = 0
    for loop in boundary_loops(faces):
        if len(loop) > max_edges:
            continue
        centre = vertices[loop].mean(0)
        c = nv + filled
        # The loop runs along the boundary in the faces' winding; the patch winds the other way.
        a, b = loop, np.roll(loop, -1)
        new_f.append(np.stack([b, a, np.full_like(a, c)], axis=1))
        new_v.append(centre[None])
        filled += 1
    return np.concatenate(new_v), np.concatenate(new_f), filled


def simplify(vertices: np.ndarray, faces: np.ndarray, max_triangles: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadric decimation (fast-simplification) down to at most ``max_triangles`` triangles."""
    if len(faces) <= max_triangles:
        return vertices, faces
    import fast_simplification

    reduction = 1.0 - max_triangles / len(faces)
    v, f = fast_simplification.simplify(vertices.astype(np.float32), faces.astype(np.int32), target_reduction=reduction)
    return remove_unreferenced(np.asarray(v, np.float64), np.asarray(f, np.int64))


def snap_to_plane(
    vertices: np.ndarray, faces: np.ndarray, normal, offset: float, band: float, max_tilt_degrees: float = 45.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Project onto the plane ``normal . x = offset`` every vertex within ``band`` of it whose
    (area-weighted) vertex normal lies within ``max_tilt_degrees`` of ``normal``.

    Vertices of surfaces that face away from the plane's normal (the foot of a wall, the
    underside of a shelf) stay where they are. Faces and winding are unchanged.

    Returns:
        (vertices [V, 3], snapped [V] bool: which vertices were moved onto the plane).
    """
    n = np.asarray(normal, np.float64)
    n = n / np.linalg.norm(n)
    height = vertices @ n - float(offset)
    facing = vertex_normals(vertices, faces) @ n > np.cos(np.radians(max_tilt_degrees))
    snapped = facing & (np.abs(height) <= band)
    out = vertices.copy()
    out[snapped] -= height[snapped, None] * n
    return out, snapped


def sample_surface(vertices: np.ndarray, faces: np.ndarray, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points uniformly on the surface (area-weighted) and their face normals."""
    rng = np.random.default_rng(seed)
    areas = face_areas(vertices, faces)
    if areas.sum() <= 0:
        return np.zeros((0, 3)), np.zeros((0, 3))
    fi = rng.choice(len(faces), size=count, p=areas / areas.sum())
    r1, r2 = rng.random(count), rng.random(count)
    s = np.sqrt(r1)
    w = np.stack([1 - s, s * (1 - r2), s * r2], axis=1)
    corner = faces[fi]
    # Barycentric sum corner by corner: no [count, 3, 3] temporary (3 M samples made 216 MB of them).
    points = w[:, :1] * vertices[corner[:, 0]] + w[:, 1:2] * vertices[corner[:, 1]] + w[:, 2:] * vertices[corner[:, 2]]
    return points, face_normals(vertices, faces)[fi]


def point_mesh_distance(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """[P] exact distance from each point to the nearest triangle of the mesh (same units).

    A bounding-volume search over triangle *size classes*, so meshes that mix a few huge floor
    quads with many small triangles stay cheap:

    1. an upper bound per point: the exact distance to the triangles whose centres are nearest
       (a real distance, so never below the answer);
    2. triangles are binned by their bounding-sphere radius (powers of two); the classes are
       visited largest first, and in each a KD-tree over the centres returns only triangles whose
       sphere reaches within the point's current bound (``|p - centre| <= bound + radius``);
       every candidate's exact distance (Ericson's closest-point regions) tightens the bound, so
       the many small triangles are searched with a bound the few large ones already made tight.

    No candidate that could be nearest is ever skipped, so the result is exact (to float64).
    SciPy's KD-tree is used rather than a BVH library (trimesh's proximity needs rtree, Open3D
    and Warp are not core dependencies); on 200k points against 200k triangles it takes seconds.
    """
    from scipy.spatial import cKDTree

    points = np.asarray(points, np.float64).reshape(-1, 3)
    tri = np.asarray(vertices, np.float64)[np.asarray(faces, np.int64)]
    if len(points) == 0:
        return np.zeros(0)
    if len(tri) == 0:
        return np.full(len(points), np.inf)
    centre = tri.mean(1)
    radius = np.linalg.norm(tri - centre[:, None], axis=2).max(1)
    lo, hi = tri.min(1), tri.max(1)
    # Size classes: radius in (top / 2^(k+1), top / 2^k]; the last class takes everything smaller.
    top = max(float(radius.max()), 1e-12)
    level = np.minimum(np.floor(np.log2(top / np.maximum(radius, top * 2.0**-20))), 20).astype(np.int64)
    classes = []
    for k in np.unique(level):
        ids = np.nonzero(level == k)[0]
        classes.append((ids, float(radius[ids].max()), cKDTree(centre[ids])))
    nearest = cKDTree(centre)
    k_near = min(8, len(tri))
    out = np.empty(len(points))
    for s in range(0, len(points), chunk):
        p = points[s : s + chunk]
        _, near = nearest.query(p, k=k_near)
        near = near.reshape(len(p), -1)
        rows = np.repeat(np.arange(len(p)), near.shape[1])
        bound = _pair_distance(p[rows], tri[near.ravel()]).reshape(len(p), -1).min(1)
        for ids, r_max, tree in classes:
            lists = tree.query_ball_point(p, bound + r_max + 1e-12, return_sorted=False)
            counts = np.fromiter((len(c) for c in lists), np.int64, len(lists))
            if counts.sum() == 0:
                continue
            cand = ids[np.fromiter((i for c in lists for i in c), np.int64, int(counts.sum()))]
            rows = np.repeat(np.arange(len(p)), counts)
            # Cheap rejections before the exact test: the triangle's own sphere, then its box.
            q = p[rows]
            keep = np.linalg.norm(q - centre[cand], axis=1) - radius[cand] <= bound[rows]
            gap = np.maximum(0, np.maximum(lo[cand[keep]] - q[keep], q[keep] - hi[cand[keep]]))
            keep[keep] = np.linalg.norm(gap, axis=1) <= bound[rows[keep]]
            if not keep.any():
                continue
            rows, cand = rows[keep], cand[keep]
            d = _pair_distance(p[rows], tri[cand])
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            hit = rows[starts]
            bound[hit] = np.minimum(bound[hit], np.minimum.reduceat(d, starts))
        out[s : s + chunk] = bound
    return out


def _pair_distance(points: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """[N] distance from ``points[i]`` [N, 3] to triangle ``tri[i]`` [N, 3, 3] (Ericson, Real-Time
    Collision Detection 5.1.5: the closest point lies in the face, on an edge or at a vertex)."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    ab, ac = b - a, c - a
    ap, bp, cp = points - a, points - b, points - c
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    d3, d4 = (ab * bp).sum(-1), (ac * bp).sum(-1)
    d5, d6 = (ab * cp).sum(-1), (ac * cp).sum(-1)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    safe = lambda x: np.where(np.abs(x) > 1e-30, x, 1e-30)
    denom = safe(va + vb + vc)
    closest = a + ab * (vb / denom)[:, None] + ac * (vc / denom)[:, None]  # inside the face
    t_ab = np.clip(d1 / safe(d1 - d3), 0, 1)
    t_ac = np.clip(d2 / safe(d2 - d6), 0, 1)
    t_bc = np.clip((d4 - d3) / safe((d4 - d3) + (d5 - d6)), 0, 1)
    # Edge regions, then vertex regions (most specific last, so it wins).
    for mask, pt in (
        ((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), b + (c - b) * t_bc[:, None]),
        ((vb <= 0) & (d2 >= 0) & (d6 <= 0), a + ac * t_ac[:, None]),
        ((vc <= 0) & (d1 >= 0) & (d3 <= 0), a + ab * t_ab[:, None]),
        ((d6 >= 0) & (d5 <= d6), c),
        ((d3 >= 0) & (d4 <= d3), b),
        ((d1 <= 0) & (d2 <= 0), a),
    ):
        closest = np.where(mask[:, None], pt, closest)
    return np.sqrt(((closest - points) ** 2).sum(-1))
