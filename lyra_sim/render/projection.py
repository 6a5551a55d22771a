"""EWA projection of 3D Gaussians to screen-space ellipses (pure torch, differentiable).

This computes the same function as gsplat's classic ``fully_fused_projection`` (pinhole, no
antialiasing compensation): camera-space mean and covariance, the perspective Jacobian with the
off-screen clamp of the original 3DGS code, a 0.3 px^2 low-pass blur (``eps2d``), the inverse
2D covariance ("conic"), and an opacity-aware bounding radius. Gaussians behind the near plane,
past the far plane, too transparent to ever reach alpha 1/255, or off-screen get radius 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from lyra_sim.gaussians.quaternions import quat_to_rotmat

ALPHA_THRESHOLD = 1.0 / 255.0
"""Pixels where a Gaussian's alpha is below this are skipped (gsplat and INRIA 3DGS)."""
MAX_EXTENT_SIGMAS = 3.33
"""Bounding-box half-size in standard deviations (gsplat): never smaller than the alpha cut-off."""


@dataclass
class ProjectedGaussians:
    """Screen-space Gaussians for V cameras.

    Attributes:
        means2d: [V, N, 2] projected centres in pixels (x, y).
        conics: [V, N, 3] inverse 2D covariance (a, b, c) = [[a, b], [b, c]] in 1/px^2.
        depths: [V, N] camera-space z (the sort key and the "ED" depth), scene units.
        radii: [V, N, 2] int32 half-extent of the bounding box in pixels (x, y); 0 means culled.
    """

    means2d: Tensor
    conics: Tensor
    depths: Tensor
    radii: Tensor


def covariance_3d(quats: Tensor, scales: Tensor) -> Tensor:
    """World covariance ``R S S^T R^T`` of each Gaussian.

    Args:
        quats: [N, 4] (w, x, y, z), any non-zero length.
        scales: [N, 3] linear standard deviations.

    Returns:
        [N, 3, 3] symmetric covariances.
    """
    rs = quat_to_rotmat(quats) * scales[:, None, :]
    return rs @ rs.transpose(-1, -2)


def project_gaussians(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    width: int,
    height: int,
    near: float = 0.01,
    far: float = 1e10,
    eps2d: float = 0.3,
) -> ProjectedGaussians:
    """Project N Gaussians into V pinhole cameras.

    Args:
        means: [N, 3] world centres.
        quats: [N, 4], scales: [N, 3], opacities: [N] (activated).
        viewmats: [V, 4, 4] world-to-camera (OpenCV).
        Ks: [V, 3, 3] intrinsics in pixels.
        near, far: clip distances along camera z, scene units.
        eps2d: screen-space blur added to the 2D covariance diagonal, px^2.

    Returns:
        ProjectedGaussians; differentiable w.r.t. means, quats, scales (radii are not).
    """
    rot = viewmats[:, None, :3, :3]  # [V, 1, 3, 3]
    means_c = (rot @ means[None, :, :, None]).squeeze(-1) + viewmats[:, None, :3, 3]  # [V, N, 3]
    covars_c = rot @ covariance_3d(quats, scales)[None] @ rot.transpose(-1, -2)  # [V, N, 3, 3]

    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    x, y, z = means_c.unbind(-1)
    with torch.no_grad():
        in_range = (z >= near) & (z <= far)
    # Culled Gaussians get z = 1 for the arithmetic below, so a Gaussian at z = 0 cannot turn
    # the backward pass into 0 * inf = NaN; they are dropped by `valid` anyway.
    z = torch.where(in_range, z, torch.ones_like(z))
    # Clamp the Jacobian's evaluation point for Gaussians far off-screen (original 3DGS trick):
    # their footprint would otherwise explode near the image border.
    tan_fovx, tan_fovy = 0.5 * width / fx, 0.5 * height / fy
    lim_x_pos, lim_x_neg = (width - cx) / fx + 0.3 * tan_fovx, cx / fx + 0.3 * tan_fovx
    lim_y_pos, lim_y_neg = (height - cy) / fy + 0.3 * tan_fovy, cy / fy + 0.3 * tan_fovy
    rz = 1.0 / z
    tx = z * torch.minimum(lim_x_pos, torch.maximum(-lim_x_neg, x * rz))
    ty = z * torch.minimum(lim_y_pos, torch.maximum(-lim_y_neg, y * rz))
    zeros = torch.zeros_like(z)
    J = torch.stack([fx * rz, zeros, -fx * tx * rz * rz, zeros, fy * rz, -fy * ty * rz * rz], dim=-1)
    J = J.reshape(z.shape + (2, 3))
    cov2d = J @ covars_c @ J.transpose(-1, -2)  # [V, N, 2, 2]
    means2d = torch.stack([fx * x * rz + cx, fy * y * rz + cy], dim=-1)

    a = cov2d[..., 0, 0] + eps2d
    b = 0.5 * (cov2d[..., 0, 1] + cov2d[..., 1, 0])
    c = cov2d[..., 1, 1] + eps2d
    det = a * c - b * b
    inv_det = 1.0 / det.clamp(min=1e-10)
    conics = torch.stack([c * inv_det, -b * inv_det, a * inv_det], dim=-1)

    with torch.no_grad():
        opac = opacities.detach()[None].expand_as(z)
        # Opacity-aware extent (gsplat, arXiv 2402.00525 B.2): beyond this Mahalanobis radius
        # alpha < 1/255, so the box holds every pixel the Gaussian can touch.
        extent = torch.sqrt(2.0 * torch.log((opac / ALPHA_THRESHOLD).clamp(min=1.0))).clamp(max=MAX_EXTENT_SIGMAS)
        radius_x = torch.ceil(extent * torch.sqrt(a.detach().clamp(min=0)))
        radius_y = torch.ceil(extent * torch.sqrt(c.detach().clamp(min=0)))
        mx, my = means2d.detach().unbind(-1)
        valid = (
            in_range
            & (det.detach() > 0)
            & (opac >= ALPHA_THRESHOLD)
            & ((radius_x > 0) | (radius_y > 0))
            & (mx + radius_x > 0)
            & (mx - radius_x < width)
            & (my + radius_y > 0)
            & (my - radius_y < height)
        )
        radii = torch.stack([radius_x, radius_y], dim=-1).where(valid[..., None], torch.zeros_like(mx)[..., None])
        radii = radii.to(torch.int32)
    return ProjectedGaussians(means2d=means2d, conics=conics, depths=z, radii=radii)
