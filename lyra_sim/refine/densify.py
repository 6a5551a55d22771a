"""Pruning and splitting during refinement: the CPU equivalent of gsplat's DefaultStrategy.

gsplat grows Gaussians whose screen-space positional gradient is large (under-reconstructed
regions) and prunes transparent ones, keeping Adam's moments of the survivors. We do the same
with two simplifications that suit a few hundred test-time steps: the gradient statistic is
the mean norm of the 3D positional gradient times the pixel footprint (the renderer's 2D
gradients are internal), and a fixed *fraction* of the Gaussians grows each round instead of an
absolute threshold (whose scale depends on the loss and the image size). Large Gaussians are
split in two (samples of themselves, scales / 1.6), small ones cloned, as in 3DGS.

With the teacher's depth there is a third move, free-space carving (:func:`in_free_space`): a
Gaussian that the teacher's views look *past* (its pixel's depth lies well behind it, or is sky)
more often than they see it on the surface is a floater, whatever colour it has. On textureless
walls colour cannot tell a floater from the wall, and the decoder leaves many metres in front of
them (measured: 12-15 % of a refined room's pixels had surface depth > 30 cm too near).

And where the Gaussians' surface is still wrong or missing after that (a carved floater leaves a
hole; a wall the decoder put metres off is too far for gradient steps to bring back), new
Gaussians are seeded on the teacher's surface at those pixels (:func:`depth_seeds`), the way
depth-supervised 3DGS initialises from a depth map, and the loss then fits them like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from lyra_sim.cameras import Cameras, depth_normals, project_to_pixels, unproject_depth
from lyra_sim.gaussians.quaternions import quat_to_rotmat, rotmat_to_quat
from lyra_sim.gaussians.sh import rgb_to_sh_dc
from lyra_sim.refine.config import RefineCfg
from lyra_sim.refine.params import footprint, scene_from_params


@dataclass
class GradientStats:
    """Running sum of positional-gradient norms and how often each Gaussian had one ([N] each)."""

    grad_sum: Tensor
    count: Tensor

    @classmethod
    def zeros(cls, n: int, device) -> GradientStats:
        return cls(torch.zeros(n, device=device), torch.zeros(n, device=device))

    def accumulate(self, grad: Tensor | None) -> None:
        if grad is None:
            return
        norm = grad.detach().norm(dim=-1).float()
        self.grad_sum += norm
        self.count += (norm > 0).float()

    def mean(self) -> Tensor:
        return self.grad_sum / self.count.clamp(min=1)


def _remap_optimizer(optim: torch.optim.Optimizer, params: dict[str, Tensor], keep: Tensor, new: dict[str, Tensor]) -> dict[str, Tensor]:
    """New leaf tensors ``cat(p[keep], new[k])``; Adam moments kept for the survivors, zero for the new."""
    out = {}
    for group in optim.param_groups:
        name = group["name"]
        old = group["params"][0]
        fresh = torch.cat([old.detach()[keep], new[name]]).requires_grad_(True)
        state = optim.state.pop(old, None)
        if state:
            for key in ("exp_avg", "exp_avg_sq"):
                state[key] = torch.cat([state[key][keep], torch.zeros_like(new[name])])
            optim.state[fresh] = state
        group["params"][0] = fresh
        out[name] = fresh
    return out


def prune(params: dict[str, Tensor], optim: torch.optim.Optimizer, keep: Tensor) -> dict[str, Tensor]:
    """Only the Gaussians where ``keep`` [N] is True (optimizer state follows)."""
    empty = {k: v.detach()[:0] for k, v in params.items()}
    return _remap_optimizer(optim, params, keep, empty)


def densify_and_prune(params: dict[str, Tensor], optim: torch.optim.Optimizer, stats: GradientStats,
                      cameras: Cameras, cfg: RefineCfg, gen: torch.Generator) -> tuple[dict[str, Tensor], GradientStats]:
    """One round: prune transparent Gaussians, then split/clone the ``grow_fraction`` with the
    largest footprint-scaled positional gradient. Returns the new parameters and fresh stats."""
    with torch.no_grad():
        n = params["means"].shape[0]
        opac = torch.sigmoid(params["opacities"])
        keep = opac >= cfg.prune_opacity
        pix = footprint(params["means"].detach(), cameras)
        score = stats.mean() / pix.clamp(min=1e-9)  # ~ gradient per pixel moved
        budget = max(0, min(int(cfg.grow_fraction * n), cfg.max_gaussians - int(keep.sum())))
        score = torch.where(keep & (stats.count > 0), score, torch.full_like(score, -1.0))
        grow = torch.zeros(n, dtype=torch.bool, device=score.device)
        if budget > 0:
            top = torch.topk(score, budget).indices
            grow[top[score[top] > 0]] = True
        scales = params["scales"].exp()
        big = scales.max(dim=-1).values > 2.0 * pix  # wider than two pixels: split, else clone
        split, clone = grow & big, grow & ~big
        new = {k: v.detach()[clone] for k, v in params.items()}
        if split.any():
            # Two samples of each split Gaussian replace it, each with scales / 1.6.
            s = scales[split]
            rot = quat_to_rotmat(params["quats"][split].detach())
            for _ in range(2):
                offset = (rot @ (torch.randn(s.shape, generator=gen).to(s) * s)[..., None]).squeeze(-1)
                for k, v in params.items():
                    piece = v.detach()[split]
                    if k == "means":
                        piece = piece + offset
                    elif k == "scales":
                        piece = (s / 1.6).log()
                    new[k] = torch.cat([new[k], piece])
            keep = keep & ~split
        params = _remap_optimizer(optim, params, keep, new)
    return params, GradientStats.zeros(params["means"].shape[0], params["means"].device)


@torch.no_grad()
def in_free_space(means: Tensor, cameras: Cameras, depth: Tensor, mask: Tensor, rel_margin: float = 0.05,
                  min_views: int = 2) -> Tensor:
    """[N] bool: Gaussians the teacher's views see through (floaters to remove).

    A view *sees through* a centre when, at its pixel, the teacher's depth in the whole 3 x 3
    neighbourhood lies more than ``rel_margin`` (relative) behind it, or the pixel is sky; it *sees*
    it when the depth there is within that margin. Floaters are seen through by at least
    ``min_views`` views and by more views than see them. The 3 x 3 neighbourhood keeps thin
    structures (a chair leg one pixel wide) and silhouettes from being carved.

    Args:
        means: [N, 3]; cameras: V cameras; depth: [V, H, W] z-depth (0 = unknown);
        mask: [V, H, W] True where the teacher sees a surface (False: sky).
    """
    N = means.shape[0]
    through = torch.zeros(N, dtype=torch.long, device=means.device)
    seen = torch.zeros(N, dtype=torch.long, device=means.device)
    far = torch.where(mask, depth, torch.full_like(depth, float("inf")))  # sky: infinitely far
    far = torch.where(mask & (depth <= 0), torch.zeros_like(depth), far)  # unknown: never "through"
    nearest = -torch.nn.functional.max_pool2d(-far[:, None], 3, 1, 1)[:, 0]
    w2c, K = cameras.w2c.to(means), cameras.K.to(means)
    H, W = cameras.height, cameras.width
    for v in range(len(cameras)):
        idx, lin, z = project_to_pixels(means, w2c[v], K[v], W, H)
        if not len(idx):
            continue
        zi, d, d_near = z[idx], far[v].flatten()[lin], nearest[v].flatten()[lin]
        through[idx[d_near > zi * (1 + rel_margin)]] += 1
        seen[idx[(d > 0) & torch.isfinite(d) & ((zi - d).abs() <= rel_margin * d)]] += 1
    return (through >= min_views) & (through > seen)


@torch.no_grad()
def depth_seeds(params: dict[str, Tensor], cameras: Cameras, frames: Tensor, depth: Tensor, mask: Tensor, count: int,
                gen: torch.Generator, tolerance: float = 0.1, max_stretch: float = 4.0) -> dict[str, Tensor]:
    """New Gaussians (raw parameters, like ``params``) on the teacher's surface where the current
    surface depth is missing or off by more than ``tolerance`` (|log ratio|), at most ``count``.

    Each is a flat splat lying on the teacher's surface (its normal from the depth map's
    neighbouring pixels), one pixel footprint wide and stretched along the ray's direction on
    the surface by 1 / cos(incidence) (at most ``max_stretch``), so it covers its pixel's
    footprint there; coloured like the pixel, at opacity 0.5. A splat facing its camera instead
    (as these were) stands upright on ground seen at grazing incidence: a 20 m-away pixel's
    splat was a 20 cm plate sticking out of the ground, which every other view's surface depth
    then carried into the collider. Where the depth map gives no normal, the splat faces its
    camera.

    Args:
        cameras: V views; frames: [V, 3, H, W]; depth: [V, H, W] metric z-depth; mask: [V, H, W].
    """
    from lyra_sim.render import render

    empty = {k: v.detach()[:0] for k, v in params.items()}
    if count <= 0:
        return empty
    sd = render(scene_from_params(params), cameras, mode="RGB+SD").surface_depth[..., 0]
    wrong = mask & (depth > 0) & ((sd <= 0) | ((sd.clamp(min=1e-9) / depth.clamp(min=1e-9)).log().abs() > tolerance))
    v, r, c = wrong.nonzero(as_tuple=True)
    if not len(v):
        return empty
    pick = torch.randperm(len(v), generator=gen)[:count].to(v.device)
    v, r, c = v[pick], r[pick], c[pick]
    K, c2w = cameras.K.to(depth), cameras.c2w.to(depth)
    points = unproject_depth(depth, K, c2w)
    normals, has_normal = depth_normals(points, mask & (depth > 0), c2w[:, :3, 3])
    means, z = points[v, r, c], depth[v, r, c]
    size = z / K[v, 0, 0]  # one pixel
    view = c2w[v, :3, :3]
    ray = torch.nn.functional.normalize(means - c2w[v, :3, 3], dim=-1)
    n = torch.where(has_normal[v, r, c, None], normals[v, r, c], -ray)
    along = ray - (ray * n).sum(-1, keepdim=True) * n  # the ray's direction on the surface
    fallback = along.norm(dim=-1, keepdim=True) < 1e-6  # a frontal surface: any tangent will do
    along = torch.where(fallback, view[:, :, 0], along)
    along = torch.nn.functional.normalize(along - (along * n).sum(-1, keepdim=True) * n, dim=-1)
    rot = torch.stack([along, torch.linalg.cross(n, along, dim=-1), n], -1)  # columns: the splat's axes
    cos = (ray * n).sum(-1).abs().clamp(min=1.0 / max_stretch)
    n_new = len(z)
    ref = params["sh0"]
    sh0 = torch.zeros(n_new, 1, 3, dtype=ref.dtype, device=ref.device)
    sh0[:, 0] = rgb_to_sh_dc(frames[v, :, r, c].to(ref))
    return {
        "means": means.to(params["means"]),
        "scales": torch.stack([size / cos, size, 0.1 * size], -1).log().to(params["scales"]),
        "quats": rotmat_to_quat(rot).to(params["quats"]),  # local z = the surface normal
        "opacities": torch.zeros(n_new, dtype=params["opacities"].dtype, device=ref.device),
        "sh0": sh0,
        "shN": torch.zeros(n_new, *params["shN"].shape[1:], dtype=ref.dtype, device=ref.device),
    }


def add_gaussians(params: dict[str, Tensor], optim: torch.optim.Optimizer, new: dict[str, Tensor]) -> dict[str, Tensor]:
    """``params`` with ``new`` appended (fresh Adam moments for them)."""
    keep = torch.ones(params["means"].shape[0], dtype=torch.bool, device=params["means"].device)
    return _remap_optimizer(optim, params, keep, new)
