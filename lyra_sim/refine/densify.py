"""Pruning and splitting during refinement: the CPU equivalent of gsplat's DefaultStrategy.

gsplat grows Gaussians whose screen-space positional gradient is large (under-reconstructed
regions) and prunes transparent ones, keeping Adam's moments of the survivors. We do the same
with two simplifications that suit a few hundred test-time steps: the gradient statistic is
the mean norm of the 3D positional gradient times the pixel footprint (the renderer's 2D
gradients are internal), and a fixed *fraction* of the Gaussians grows each round instead of an
absolute threshold (whose scale depends on the loss and the image size). Large Gaussians are
split in two (samples of themselves, scales / 1.6), small ones cloned, as in 3DGS.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from lyra_sim.cameras import Cameras
from lyra_sim.gaussians.quaternions import quat_to_rotmat
from lyra_sim.refine.config import RefineCfg


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
    from lyra_sim.refine.optimize import footprint

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
