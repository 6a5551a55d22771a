"""Pinhole projection and depth unprojection: the one place pixels and world points meet.

Conventions: OpenCV cameras (x right, y down, z forward), ``K`` [3, 3] in pixels, pixel centres
at (j + 0.5, i + 0.5), depth is z-depth along the optical axis (not distance along the ray), in
scene units.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lyra_sim.cameras.cameras import Cameras
from lyra_sim.cameras.rays import pixel_centers
from lyra_sim.errors import InvalidInputError


def project_points(points: Tensor, w2c: Tensor, K: Tensor) -> tuple[Tensor, Tensor]:
    """World points into one camera.

    Args:
        points: [..., 3] world points.
        w2c: [4, 4] world-to-camera (OpenCV); K: [3, 3] intrinsics in pixels.

    Returns:
        (uv [..., 2]: continuous pixel coordinates (x, y), z [...]: camera z-depth). A point with
        |z| <= 1e-12 is divided by 1e-12 instead; check ``z > 0`` before trusting its ``uv``.
    """
    cam = torch.addmm(w2c[:3, 3], points.reshape(-1, 3), w2c[:3, :3].T).reshape(points.shape)
    z = cam[..., 2]
    zs = torch.where(z.abs() > 1e-12, z, torch.full_like(z, 1e-12))
    u = K[0, 0] * cam[..., 0] / zs + K[0, 2]
    v = K[1, 1] * cam[..., 1] / zs + K[1, 2]
    return torch.stack([u, v], dim=-1), z


def project_to_pixels(points: Tensor, w2c: Tensor, K: Tensor, width: int, height: int) -> tuple[Tensor, Tensor, Tensor]:
    """Which of ``points`` [P, 3] one camera (``w2c`` [4, 4], ``K`` [3, 3]) sees in its image.

    Returns:
        (idx [n]: indices of the points in front of the camera (z > 1e-4) and inside the image,
        lin [n]: their pixel's row-major index, z [P]: every point's camera depth).
    """
    uv, z = project_points(points, w2c, K)
    u, r = uv[:, 0].floor(), uv[:, 1].floor()
    idx = ((z > 1e-4) & (u >= 0) & (u < width) & (r >= 0) & (r < height)).nonzero().squeeze(1)
    return idx, (r[idx] * width + u[idx]).long(), z


def unproject_depth(depth: Tensor, K: Tensor, c2w: Tensor) -> Tensor:
    """World points of every pixel centre: ``c2w @ [depth * K^-1 (j + 0.5, i + 0.5, 1); 1]``.

    Args:
        depth: [..., H, W] z-depth (any value; pick the valid pixels afterwards).
        K: [..., 3, 3] intrinsics in pixels; c2w: [..., 4, 4] camera-to-world (OpenCV); the
            leading dimensions match ``depth``'s (none for one view).

    Returns:
        [..., H, W, 3] points in the world frame, in ``depth``'s dtype and device.
    """
    H, W = depth.shape[-2:]
    pix = pixel_centers(W, H, device=depth.device, dtype=depth.dtype)
    K, c2w = K.to(depth), c2w.to(depth)
    x = (pix[..., 0] - K[..., 0, 2, None, None]) / K[..., 0, 0, None, None]
    y = (pix[..., 1] - K[..., 1, 2, None, None]) / K[..., 1, 1, None, None]
    cam = torch.stack([x, y, torch.ones_like(x)], dim=-1) * depth[..., None]
    return torch.einsum("...ij,...hwj->...hwi", c2w[..., :3, :3], cam) + c2w[..., None, None, :3, 3]


def depth_normals(points: Tensor, valid: Tensor, origins: Tensor) -> tuple[Tensor, Tensor]:
    """Surface normals of unprojected depth maps, facing their cameras.

    Each image-space tangent is the difference to the valid neighbour (left or right, up or
    down) nearer in 3D, so a pixel on a depth edge takes its own surface's side.

    Args:
        points: [V, H, W, 3] world points of every pixel (:func:`unproject_depth`).
        valid: [V, H, W] bool, pixels with a depth.
        origins: [V, 3] camera centres.

    Returns:
        (normals [V, H, W, 3] unit, facing the camera; ok [V, H, W]: a valid neighbour on both
        image axes, so the normal is defined).
    """

    def tangent(dim: int) -> tuple[Tensor, Tensor]:
        size = points.shape[dim]
        shape = [1, 1, 1]
        shape[dim] = size
        edge = torch.arange(size, device=points.device).view(shape)
        ok_f = valid & valid.roll(-1, dim) & (edge != size - 1)
        ok_b = valid & valid.roll(1, dim) & (edge != 0)
        fwd, bwd = points.roll(-1, dim) - points, points - points.roll(1, dim)
        inf = torch.tensor(float("inf"), dtype=points.dtype, device=points.device)
        use_f = torch.where(ok_f, fwd.norm(dim=-1), inf) <= torch.where(ok_b, bwd.norm(dim=-1), inf)
        return torch.where(use_f[..., None], fwd, bwd), ok_f | ok_b

    tu, ok_u = tangent(2)
    tv, ok_v = tangent(1)
    n = torch.nn.functional.normalize(torch.linalg.cross(tu, tv, dim=-1), dim=-1)
    toward = origins.to(points)[:, None, None, :] - points
    n = torch.where(((n * toward).sum(-1) < 0)[..., None], -n, n)
    return n, ok_u & ok_v & valid


def depth_to_points(depth: Tensor, cameras: Cameras, mask: Tensor | None = None) -> Tensor:
    """World points ``[M, 3]`` of z-depth maps ``[V, H, W]`` at the pixel centres where the depth
    is finite and > 0 (and ``mask`` [V, H, W], when given, is True).

    Raises:
        InvalidInputError: the depth maps do not match the cameras.
    """
    V, H, W = depth.shape
    if len(cameras) != V or (cameras.height, cameras.width) != (H, W):
        raise InvalidInputError(f"depth {list(depth.shape)} does not match {len(cameras)} cameras of {cameras.height}x{cameras.width}")
    keep = (depth > 0) & torch.isfinite(depth)
    if mask is not None:
        keep &= mask
    return unproject_depth(depth, cameras.K, cameras.c2w)[keep]
