"""An independent, slow reference renderer for tests: gsplat's own pure-torch projection and SH,
then gsplat's per-pixel blending loop written out literally (every Gaussian x every pixel).

It shares no code with lyra_sim.render, so agreement between the two is evidence that the
sparse compositor computes gsplat's function.
"""

from __future__ import annotations

import torch
from gsplat.cuda._torch_impl import (
    _fully_fused_projection,
    _quat_scale_to_covar_preci,
    _spherical_harmonics,
)


def reference_render(means, quats, scales, opacities, sh, viewmats, Ks, width, height, background=None, near=0.01, far=1e10):
    """Returns (rgb [V,H,W,3], alpha [V,H,W,1], expected depth [V,H,W,1]) in float64."""
    means, quats, scales, opacities, sh, viewmats, Ks = (
        t.detach().double() for t in (means, quats, scales, opacities, sh, viewmats, Ks)
    )
    covars, _ = _quat_scale_to_covar_preci(torch.nn.functional.normalize(quats, dim=-1), scales, compute_preci=False)
    radii, means2d, depths, conics, _ = _fully_fused_projection(
        means, covars, viewmats, Ks, width, height, eps2d=0.3, near_plane=near, far_plane=far
    )
    V, N = depths.shape
    degree = {1: 0, 4: 1, 9: 2, 16: 3}[sh.shape[1]]
    campos = torch.linalg.inv(viewmats)[:, :3, 3]
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float64) + 0.5, torch.arange(width, dtype=torch.float64) + 0.5, indexing="ij")
    rgb = torch.zeros(V, height, width, 3, dtype=torch.float64)
    alpha_out = torch.zeros(V, height, width, 1, dtype=torch.float64)
    depth_out = torch.zeros(V, height, width, 1, dtype=torch.float64)
    for v in range(V):
        colors = torch.clamp_min(_spherical_harmonics(degree, means - campos[v], sh) + 0.5, 0.0)
        T = torch.ones(height, width, dtype=torch.float64)
        done = torch.zeros(height, width, dtype=torch.bool)
        acc_c = torch.zeros(height, width, 3, dtype=torch.float64)
        acc_d = torch.zeros(height, width, dtype=torch.float64)
        for g in torch.argsort(depths[v]).tolist():
            if (radii[v, g] <= 0).all() or opacities[g] < 1 / 255:
                continue
            a, b, c = conics[v, g]
            dx, dy = means2d[v, g, 0] - xs, means2d[v, g, 1] - ys
            sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
            alpha = torch.clamp(opacities[g] * torch.exp(-sigma), max=0.999)
            use = (sigma >= 0) & (alpha >= 1 / 255) & ~done
            next_T = T * (1 - alpha)
            finishing = use & (next_T <= 1e-4)
            done |= finishing
            use &= ~finishing
            w = torch.where(use, alpha * T, torch.zeros_like(T))
            acc_c += w[..., None] * colors[g]
            acc_d += w * depths[v, g]
            T = torch.where(use, next_T, T)
        bg = torch.zeros(3, dtype=torch.float64) if background is None else torch.as_tensor(background, dtype=torch.float64)
        rgb[v] = acc_c + T[..., None] * bg
        alpha_out[v, ..., 0] = 1 - T
        depth_out[v, ..., 0] = acc_d / (1 - T).clamp(min=1e-10)
    return rgb, alpha_out, depth_out
