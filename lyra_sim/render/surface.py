"""Surface depth: where each pixel's ray meets the Gaussians' surface, for meshing and colliders.

Expected depth (``sum w z / alpha``) blends every Gaussian along a ray: at a depth edge it
lands between foreground and background, and a few low-opacity floaters pull it off the
surface. Meshing methods (2DGS, GOF, RaDe-GS) use the *median* depth instead: the depth at
which the ray's accumulated opacity crosses 0.5. The rasterizer finds that Gaussian per pixel
(:class:`~lyra_sim.render.torch_backend.SurfaceHits`); this module says where along the ray it
lies.

A Gaussian's depth is usually taken at its centre. For a splat seen at a grazing angle (a
floor far ahead) the centre is not where the ray meets it: a 30 cm splat whose footprint
covers the pixel has its centre up to 30 cm nearer, so the floor rises toward the camera. We
use the ray's point of maximum density inside the Gaussian instead (RaDe-GS's ray-Gaussian
intersection): with the ray ``o + t d`` and the Gaussian in its own scaled frame
``x' = S^-1 R^T (x - mu)``,

    t* = -(o' . d') / (d' . d')

which is the ray-plane intersection for a flat splat and the centre's projection onto the ray
for a round one. With ``d`` the pixel's camera ray scaled to unit camera z, ``t*`` *is* the
camera z-depth. It is differentiable in the means, rotations and scales, so refinement can
supervise it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lyra_sim.gaussians.quaternions import quat_to_rotmat
from lyra_sim.render.torch_backend import SurfaceHits


def ray_hit_depth(
    hits: SurfaceHits,
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    width: int,
    height: int,
    min_scale: float = 1e-6,
) -> Tensor:
    """Camera z-depth of the point of maximum density of each hit Gaussian along its pixel's ray.

    Args:
        hits: S (pixel, view, Gaussian) triples from the rasterizer.
        means: [N, 3], quats: [N, 4] (w, x, y, z), scales: [N, 3] linear; world frame.
        viewmats: [V, 4, 4] world-to-camera (OpenCV); Ks: [V, 3, 3] in pixels.

    Returns:
        [S] z-depth along each camera's optical axis, scene units; differentiable w.r.t. means,
        quats and scales. Where the maximum lies behind the camera (a ray leaving a Gaussian
        it started in), the Gaussian centre's depth is used.
    """
    # index_select, not advanced indexing: the latter's backward accumulates with index_put_,
    # which is not deterministic on multi-threaded CPUs (same seed, different scene.ply bytes).
    g, v = hits.gaussian, hits.view
    u = (hits.pixel % width).to(means.dtype) + 0.5
    r = ((hits.pixel // width) % height).to(means.dtype) + 0.5
    K = Ks.index_select(0, v)
    d_cam = torch.stack([(u - K[:, 0, 2]) / K[:, 0, 0], (r - K[:, 1, 2]) / K[:, 1, 1], torch.ones_like(u)], -1)  # [S, 3]
    view = viewmats.index_select(0, v)
    R_cw, t_cw = view[:, :3, :3], view[:, :3, 3]  # world -> camera
    mu_c = (R_cw @ means.index_select(0, g)[:, :, None]).squeeze(-1) + t_cw  # [S, 3] centre in camera space
    R_g = R_cw @ quat_to_rotmat(quats.index_select(0, g))  # Gaussian axes in camera space [S, 3, 3]
    s = scales.index_select(0, g).clamp(min=min_scale)
    o_s = (R_g.transpose(-1, -2) @ (-mu_c)[:, :, None]).squeeze(-1) / s  # camera origin, scaled Gaussian frame
    d_s = (R_g.transpose(-1, -2) @ d_cam[:, :, None]).squeeze(-1) / s
    t = -(o_s * d_s).sum(-1) / (d_s * d_s).sum(-1).clamp(min=1e-20)
    return torch.where(t > 0, t, mu_c[:, 2])


def scatter_depth(hits: SurfaceHits, depth: Tensor, num_views: int, width: int, height: int) -> Tensor:
    """``depth`` [S] of the hits as images [V, H, W, 1]; 0 where the ray met no surface."""
    out = depth.new_zeros(num_views * height * width)
    out = out.index_put((hits.pixel,), depth)
    return out.view(num_views, height, width, 1)
