"""A small z-buffer rasteriser for triangle meshes (depth and face ids), vectorised in torch.

Used to compare the collider with the Gaussians (depth residual) and to draw the collider over
a render in the report. Each triangle is expanded to the pixels of its screen bounding box,
tested with barycentric coordinates and resolved with a scatter-min on depth; triangles that
cross the near plane are dropped (they are the few closest to the camera).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from lyra_sim.cameras import Cameras


def rasterize_depth(
    vertices: np.ndarray, faces: np.ndarray, cameras: Cameras, near: float = 1e-3, max_pairs: int = 1 << 22
) -> tuple[Tensor, Tensor]:
    """Z-depth and face index of the nearest triangle per pixel.

    Args:
        vertices: [V, 3] world positions; faces: [F, 3].
        cameras: V_c cameras (OpenCV).

    Returns:
        depth [V_c, H, W] (0 where no triangle), face [V_c, H, W] int64 (-1 where none).
    """
    H, W = cameras.height, cameras.width
    verts = torch.as_tensor(vertices, dtype=torch.float32)
    tris = torch.as_tensor(faces, dtype=torch.long)
    depth_out = torch.zeros(len(cameras), H, W)
    face_out = torch.full((len(cameras), H, W), -1, dtype=torch.long)
    cams = cameras.to("cpu", torch.float32)
    for v in range(len(cams)):
        w2c = cams.w2c[v]
        pc = verts @ w2c[:3, :3].T + w2c[:3, 3]
        z = pc[:, 2]
        K = cams.K[v]
        uv = torch.stack([K[0, 0] * pc[:, 0] / z.clamp(min=near) + K[0, 2], K[1, 1] * pc[:, 1] / z.clamp(min=near) + K[1, 2]], -1)
        tz = z[tris]  # [F, 3]
        tuv = uv[tris]  # [F, 3, 2]
        keep = (tz > near).all(1)
        lo = tuv.amin(1).floor().clamp(min=0)
        hi = tuv.amax(1).ceil().clamp(max=torch.tensor([W, H], dtype=torch.float32))
        keep &= (hi > lo).all(1)
        fidx = keep.nonzero().squeeze(1)
        if not len(fidx):
            continue
        lo, hi = lo[fidx].long(), hi[fidx].long()
        size = (hi - lo).clamp(min=0)
        counts = size[:, 0] * size[:, 1]
        zbuf = torch.full((H * W,), float("inf"))
        fbuf = torch.full((H * W,), -1, dtype=torch.long)
        # Chunks of triangles so the triangle-pixel pairs stay bounded.
        csum = torch.cumsum(counts, 0)
        start = 0
        while start < len(fidx):
            end = int(torch.searchsorted(csum, csum[start] - counts[start] + max_pairs, right=True).clamp(min=start + 1))
            _raster_chunk(fidx[start:end], lo[start:end], size[start:end], counts[start:end], tuv, tz, W, zbuf, fbuf)
            start = end
        hit = torch.isfinite(zbuf)
        depth_out[v] = torch.where(hit, zbuf, torch.zeros_like(zbuf)).reshape(H, W)
        face_out[v] = fbuf.reshape(H, W)
    return depth_out, face_out


def _raster_chunk(fidx, lo, size, counts, tuv, tz, W, zbuf, fbuf) -> None:
    tri = torch.repeat_interleave(torch.arange(len(fidx)), counts)
    if not len(tri):
        return
    offset = torch.arange(len(tri)) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    px = lo[tri, 0] + offset % size[tri, 0]
    py = lo[tri, 1] + offset // size[tri, 0]
    p = torch.stack([px, py], -1).float() + 0.5
    f = fidx[tri]
    a, b, c = tuv[f, 0], tuv[f, 1], tuv[f, 2]
    den = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 1] - c[:, 1])
    ok = den.abs() > 1e-12
    den = torch.where(ok, den, torch.ones_like(den))
    w0 = ((b[:, 1] - c[:, 1]) * (p[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (p[:, 1] - c[:, 1])) / den
    w1 = ((c[:, 1] - a[:, 1]) * (p[:, 0] - c[:, 0]) + (a[:, 0] - c[:, 0]) * (p[:, 1] - c[:, 1])) / den
    w2 = 1 - w0 - w1
    inside = ok & (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
    zf = tz[f]
    # Perspective-correct depth: 1/z is linear in screen space.
    zpix = 1.0 / (w0 / zf[:, 0] + w1 / zf[:, 1] + w2 / zf[:, 2])
    pix = (py * W + px)[inside]
    zpix, f = zpix[inside], f[inside]
    zbuf.scatter_reduce_(0, pix, zpix, reduce="amin")
    winner = zpix <= zbuf[pix]
    fbuf[pix[winner]] = f[winner]
