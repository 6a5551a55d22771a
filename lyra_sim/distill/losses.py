"""Self-distillation losses (Lyra's ``compute_loss``, lyra-facts.md §3.1).

    total = lambda_mse * MSE(rgb, teacher)
          + lambda_perceptual * perceptual(rgb, teacher)      LPIPS-VGG (GPU, local weights) or 1 - SSIM
          + lambda_depth * scale_shift_invariant_depth(rendered depth, teacher depth)
          + lambda_opacity * mean(opacity)                    pruning stages only
          + lambda_decoded_depth * decoded_depth(decoder's per-ray depth, teacher depth)   ours

The last term is not Lyra's: Lyra only sees depth through the scale-and-shift-invariant loss on
rendered depth, which leaves the decoded splats metres from the surfaces (issue 15). With a
metric teacher (the procedural one), every Gaussian's own depth along its pixel ray is pulled
onto the teacher's surface (log-L1) and rays the teacher sees as sky are pushed beyond half the
far plane, so a collider made from the decoded splats has something to stand on.

Every term is a mean of per-view terms over the V rendered views (all views have one size):
nothing couples pixels of different views, which is what makes deferred backpropagation
(:mod:`lyra_sim.distill.deferred`) exact view by view.

Differences from Lyra, on purpose: the depth median is taken over the valid pixels only (Lyra
takes it over the masked tensor, so invalid pixels count as zeros), and the opacity term is the
mean activated opacity (Lyra applies a second sigmoid to it; both are monotone).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from lyra_sim.distill.config import LossCfg, Perceptual  # noqa: F401 (re-exported)
from lyra_sim.errors import InvalidInputError
from lyra_sim.eval.depth import depth_at_gaussian_rays
from lyra_sim.eval.image import load_lpips, ssim

def mse_per_view(rgb: Tensor, target: Tensor) -> Tensor:
    """``[V]`` mean squared error of ``[V, 3, H, W]`` images."""
    return (rgb - target).pow(2).flatten(1).mean(1)


def ssim_loss_per_view(rgb: Tensor, target: Tensor) -> Tensor:
    """``[V]`` 1 - SSIM (window 11, sigma 1.5, no sample-covariance correction)."""
    return 1.0 - ssim(rgb, target, sample_covariance=False)


def _masked_median(x: Tensor, mask: Tensor) -> Tensor:
    """``[V]`` median of each row of ``x [V, P]`` over ``mask`` (lower median, like torch.median)."""
    return torch.nanmedian(torch.where(mask, x, torch.full_like(x, float("nan"))), dim=1).values


def normalize_depth(depth: Tensor, mask: Tensor) -> Tensor:
    """``(depth - median) / mean|depth - median|`` per view over ``mask``; ``[V, P]`` in and out.

    The mean absolute deviation is clamped to [1e-3, 1e3] (Lyra). Invalid pixels become 0.
    """
    med = _masked_median(depth, mask)
    med = torch.nan_to_num(med)  # views without valid pixels
    centred = torch.where(mask, depth - med[:, None], torch.zeros_like(depth))
    mad = centred.abs().sum(1) / mask.sum(1).clamp(min=1)
    return centred / mad.clamp(1e-3, 1e3)[:, None]


def depth_loss_per_view(depth: Tensor, target: Tensor) -> Tensor:
    """``[V]`` scale-and-shift-invariant depth loss (Lyra ``compute_depth_loss``).

    Both maps are normalised per view by their median and mean absolute deviation over the
    pixels where the teacher depth is known (> 0 and finite), then compared with smooth-L1
    (beta 1), averaged over those pixels. Invariant to ``a * depth + b`` for any a > 0.

    Args:
        depth: [V, H, W] rendered expected depth.
        target: [V, H, W] teacher depth, 0 or non-finite where unknown.
    """
    if depth.shape != target.shape:
        raise InvalidInputError(f"depth {list(depth.shape)} and target {list(target.shape)} differ")
    mask = (torch.isfinite(target) & (target > 0)).flatten(1)
    t = torch.where(mask, target.flatten(1), torch.zeros_like(target.flatten(1)))
    pred = normalize_depth(depth.flatten(1), mask)
    ref = normalize_depth(t, mask)
    err = F.smooth_l1_loss(pred, ref, reduction="none", beta=1.0) * mask
    return err.sum(1) / mask.sum(1).clamp(min=1)


def decoded_depth_loss_per_view(depth: Tensor, target: Tensor, far: float, sky_weight: float = 0.1) -> Tensor:
    """``[V]`` metric loss on the decoder's own per-ray depth (lyra-sim's addition to Lyra's loss).

    Surface rays: ``|log d - log d_teacher|`` (log-L1: the same relative error weighs the same
    at 1 m and at 20 m). Sky rays: ``relu(log(far / 2) - log d)``, pushing those splats beyond
    half the far plane, where the collider's fusion does not reach. Rays across a depth edge
    are left out. Averaged over the counted rays, sky rays weighted by ``sky_weight``.

    Args:
        depth: [V, Hg, Wg] decoded camera z-depth of the Gaussian rays (``DecoderOutput.depth``).
        target: [V, H, W] teacher z-depth of the same frames, 0 = unknown; H = Hg * s, W = Wg * s.
        far: the decoder's far distance (``DecoderCfg.far``).
        sky_weight: weight of a sky ray relative to a surface ray.
    """
    if target.shape[-2] % depth.shape[-2] or target.shape[-1] % depth.shape[-1] or target.shape[0] != depth.shape[0]:
        raise InvalidInputError(f"teacher depth {list(target.shape)} does not tile decoded depth {list(depth.shape)}")
    stride = target.shape[-2] // depth.shape[-2]
    ref, surface, sky = depth_at_gaussian_rays(target, stride)
    log_d = torch.log(depth.clamp_min(1e-3))
    surf_err = (log_d - torch.log(ref.clamp_min(1e-3))).abs() * surface
    sky_err = F.relu(math.log(far / 2) - log_d) * sky
    weight = surface.float() + sky_weight * sky.float()
    err = surf_err + sky_weight * sky_err
    return err.flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(1e-6)


class DistillationLoss(torch.nn.Module):
    """The loss of one sample: rendered views against the teacher's frames and depth.

    Args:
        cfg: weights and the perceptual choice; "lpips" loads LPIPS-VGG from local weights
            (raises MissingWeightsError where they are absent).
    """

    def __init__(self, cfg: LossCfg, device: torch.device | str = "cpu"):
        super().__init__()
        if cfg.perceptual not in ("ssim", "lpips", "none"):
            raise InvalidInputError(f"loss.perceptual must be ssim, lpips or none, got {cfg.perceptual!r}")
        self.cfg = cfg
        self.lpips = load_lpips(device) if cfg.perceptual == "lpips" and cfg.lambda_perceptual > 0 else None

    def forward(
        self,
        rgb: Tensor,
        target: Tensor,
        depth: Tensor | None = None,
        target_depth: Tensor | None = None,
        opacities: Tensor | None = None,
        lambda_opacity: float = 0.0,
        decoded_depth: Tensor | None = None,
        input_depth: Tensor | None = None,
        far: float = 500.0,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Total loss and its unweighted terms (``mse``, ``dssim`` = 1 - SSIM or ``lpips``,
        ``depth``, ``opacity``, ``decoded_depth``; absent terms are off).

        Args:
            rgb, target: [V, 3, H, W] rendered and teacher RGB in [0, 1].
            depth, target_depth: [V, H, W] rendered expected depth and teacher depth (optional).
            opacities: [N] Gaussian opacities, for the opacity regulariser.
            lambda_opacity: its weight (Lyra: 0.1 in pruning stages, else 0).
            decoded_depth: [F, Hg, Wg] the decoder's per-ray depth of its F input frames.
            input_depth: [F, H, W] the teacher's depth of those frames (0 = unknown).
            far: the decoder's far distance (for the sky term).
        """
        cfg = self.cfg
        terms: dict[str, Tensor] = {"mse": mse_per_view(rgb, target).mean()}
        total = cfg.lambda_mse * terms["mse"]
        if cfg.perceptual != "none" and cfg.lambda_perceptual > 0:
            key = "dssim" if cfg.perceptual == "ssim" else "lpips"
            terms[key] = self._perceptual(rgb, target)
            total = total + cfg.lambda_perceptual * terms[key]
        if cfg.lambda_depth > 0 and depth is not None and target_depth is not None:
            terms["depth"] = depth_loss_per_view(depth, target_depth).mean()
            total = total + cfg.lambda_depth * terms["depth"]
        if lambda_opacity > 0 and opacities is not None:
            terms["opacity"] = opacities.mean()
            total = total + lambda_opacity * terms["opacity"]
        if cfg.lambda_decoded_depth > 0 and decoded_depth is not None and input_depth is not None:
            terms["decoded_depth"] = decoded_depth_loss_per_view(decoded_depth, input_depth, far, cfg.sky_weight).mean()
            total = total + cfg.lambda_decoded_depth * terms["decoded_depth"]
        return total, terms

    def _perceptual(self, rgb: Tensor, target: Tensor) -> Tensor:
        if self.cfg.perceptual == "ssim":
            return ssim_loss_per_view(rgb, target).mean()
        if rgb.shape[-2] > self.cfg.lpips_max_height:
            size = (self.cfg.lpips_max_height, round(rgb.shape[-1] * self.cfg.lpips_max_height / rgb.shape[-2]))
            rgb, target = F.interpolate(rgb, size, mode="area"), F.interpolate(target, size, mode="area")
        return self.lpips(rgb * 2 - 1, target * 2 - 1).mean()
