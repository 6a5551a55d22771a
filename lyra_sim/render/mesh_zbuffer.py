"""A z-buffer for triangles: nearest z-depth and face id at every pixel centre, vectorised in torch.

Every triangle enumerates the pixel centres of its screen bounding box, keeps those inside it
(edge functions, with a 1e-6 tolerance so shared edges leave no cracks) and writes its
perspective-correct z (1/z is affine in screen space) with a min-reduction; triangles with a
vertex at or before the near plane, and degenerate ones, are skipped. Runs on any device.

Used for GEN3C's foreground masking (:mod:`lyra_sim.teachers.cache3d`; GEN3C casts rays with
NVIDIA Warp, which for a pinhole camera is the same), and to compare the collider with the
Gaussians and draw it over renders (:mod:`lyra_sim.export.report`). These were two rasterisers
that disagreed on edge pixels and the near plane; this one's rules hold for both.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lyra_sim.cameras import Cameras, project_points

# Candidate pixels handled per chunk: bounds memory (about 100 bytes each) on large meshes.
CHUNK_PIXELS = 1 << 22


def rasterize_triangles(triangles: Tensor, height: int, width: int, *, near: float = 1e-4) -> tuple[Tensor, Tensor]:
    """The smallest z of any triangle covering each pixel centre, and which triangle it is.

    Args:
        triangles: [M, 3, 3] vertices as (x, y, z): continuous pixel coordinates (pixel centres at
            (j + 0.5, i + 0.5)) and z-depth in the camera. Triangles with a vertex at z <= near
            are skipped (they cross the camera plane), as are degenerate ones.
        height, width: image size.

    Returns:
        (depth [H, W] float32 z-depth, +inf where no triangle covers the pixel centre;
        face [H, W] int64 index into ``triangles`` of the nearest one, -1 where none).
    """
    device = triangles.device
    zbuf = torch.full((height * width,), float("inf"), device=device)
    fbuf = torch.full((height * width,), -1, dtype=torch.long, device=device)
    tri = triangles.float()
    ok = (tri[..., 2] > near).all(-1) & torch.isfinite(tri).all(-1).all(-1)
    ids = ok.nonzero().squeeze(1)
    tri = tri[ok]
    if tri.numel() == 0:
        return zbuf.view(height, width), fbuf.view(height, width)
    x, y = tri[..., 0], tri[..., 1]
    # Bounding boxes in pixel indices whose centres (j + 0.5) can lie inside the triangle.
    j0 = torch.ceil(x.min(-1).values - 0.5).clamp(0, width - 1).long()
    j1 = torch.floor(x.max(-1).values - 0.5).clamp(-1, width - 1).long()
    i0 = torch.ceil(y.min(-1).values - 0.5).clamp(0, height - 1).long()
    i1 = torch.floor(y.max(-1).values - 0.5).clamp(-1, height - 1).long()
    bw, bh = (j1 - j0 + 1).clamp(min=0), (i1 - i0 + 1).clamp(min=0)
    area2 = (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (x[:, 2] - x[:, 0]) * (y[:, 1] - y[:, 0])
    counts = bw * bh * (area2.abs() > 1e-9)
    keep = counts > 0
    tri, ids, j0, i0, bw, counts, area2 = tri[keep], ids[keep], j0[keep], i0[keep], bw[keep], counts[keep], area2[keep]
    start = 0
    csum = torch.cumsum(counts, 0)
    while start < len(tri):
        # Take triangles until the chunk holds CHUNK_PIXELS candidates (at least one triangle).
        base = csum[start - 1] if start > 0 else csum.new_tensor(0)
        stop = int(torch.searchsorted(csum, base + CHUNK_PIXELS, right=True))
        stop = max(stop, start + 1)
        _rasterize_chunk(zbuf, fbuf, tri[start:stop], ids[start:stop], j0[start:stop], i0[start:stop], bw[start:stop],
                         counts[start:stop], area2[start:stop], width)
        start = stop
    return zbuf.view(height, width), fbuf.view(height, width)


def rasterize_mesh(vertices, faces, cameras: Cameras, near: float = 1e-3) -> tuple[Tensor, Tensor]:
    """Z-depth and face index of the nearest triangle of a world-space mesh in every camera.

    Args:
        vertices: [V, 3] world positions; faces: [F, 3] vertex indices (numpy or torch).
        cameras: N cameras (OpenCV); computed on the CPU in float32.
        near: triangles with a vertex at z <= near are skipped.

    Returns:
        depth [N, H, W] (0 where no triangle), face [N, H, W] int64 (-1 where none).
    """
    H, W = cameras.height, cameras.width
    verts = torch.as_tensor(vertices, dtype=torch.float32)
    tris = torch.as_tensor(faces, dtype=torch.long)
    cams = cameras.to("cpu", torch.float32)
    w2c = cams.w2c
    depth = torch.zeros(len(cams), H, W)
    face = torch.full((len(cams), H, W), -1, dtype=torch.long)
    for v in range(len(cams)):
        uv, z = project_points(verts, w2c[v], cams.K[v])
        zbuf, face[v] = rasterize_triangles(torch.cat([uv, z[:, None]], -1)[tris], H, W, near=near)
        depth[v] = torch.where(torch.isfinite(zbuf), zbuf, torch.zeros(()))
    return depth, face


def _rasterize_chunk(zbuf: Tensor, fbuf: Tensor, tri: Tensor, ids: Tensor, j0: Tensor, i0: Tensor, bw: Tensor, counts: Tensor,
                     area2: Tensor, width: int) -> None:
    owner = torch.repeat_interleave(torch.arange(len(tri), device=tri.device), counts)
    first = torch.cumsum(counts, 0) - counts
    local = torch.arange(owner.numel(), device=tri.device) - first[owner]
    col = j0[owner] + local % bw[owner]
    row = i0[owner] + torch.div(local, bw[owner], rounding_mode="floor")
    px, py = col.float() + 0.5, row.float() + 0.5
    t = tri[owner]  # [P, 3, 3]
    # Barycentric weights from the edge functions, normalised by the signed area (either winding).
    def edge(a: int, b: int) -> Tensor:
        return (t[:, b, 0] - t[:, a, 0]) * (py - t[:, a, 1]) - (t[:, b, 1] - t[:, a, 1]) * (px - t[:, a, 0])

    a = area2[owner]
    l0, l1, l2 = edge(1, 2) / a, edge(2, 0) / a, edge(0, 1) / a
    inside = (l0 >= -1e-6) & (l1 >= -1e-6) & (l2 >= -1e-6)
    inv_z = l0 / t[:, 0, 2] + l1 / t[:, 1, 2] + l2 / t[:, 2, 2]
    z = 1.0 / inv_z
    pix, z, face = (row * width + col)[inside], z[inside], ids[owner][inside]
    zbuf.scatter_reduce_(0, pix, z, reduce="amin")
    winner = z <= zbuf[pix]  # ties: any of the nearest
    fbuf[pix[winner]] = face[winner]
