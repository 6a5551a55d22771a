"""Depth metrics after scale-and-shift alignment (the decoder's depth has no fixed scale).

The prediction is aligned to the ground truth per image by least squares,
``argmin_{s,t} sum_valid (s * pred + t - gt)^2``, then AbsRel = mean |aligned - gt| / gt and
delta1 = fraction of pixels with max(aligned / gt, gt / aligned) < 1.25 over pixels where the
ground truth is known (> 0 and finite) and the prediction is valid.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lyra_sim.errors import InvalidInputError


def align_scale_shift(pred: Tensor, target: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Per-image least-squares ``(scale, shift)`` with ``scale * pred + shift ~= target``.

    Args:
        pred, target: [N, H, W] depth maps.
        mask: [N, H, W] bool, pixels that count.

    Returns:
        scale [N], shift [N] (float64). Images with fewer than two valid pixels or a constant
        prediction get scale 1 and the mean offset.
    """
    if pred.shape != target.shape or mask.shape != pred.shape:
        raise InvalidInputError(f"pred, target and mask must share a shape, got {list(pred.shape)}, {list(target.shape)}, {list(mask.shape)}")
    p, t, m = pred.double().flatten(1), target.double().flatten(1), mask.flatten(1).double()
    n = m.sum(1).clamp(min=1)
    mp, mt = (m * p).sum(1) / n, (m * t).sum(1) / n
    dp = (p - mp[:, None]) * m
    var = (dp * dp).sum(1)
    cov = (dp * (t - mt[:, None])).sum(1)
    ok = (var > 1e-12 * n) & (m.sum(1) >= 2)
    scale = torch.where(ok, cov / var.clamp(min=1e-300), torch.ones_like(var))
    shift = mt - scale * mp
    return scale, shift


def depth_metrics(pred: Tensor, target: Tensor, valid: Tensor | None = None) -> dict[str, Tensor]:
    """AbsRel and delta1 per image after scale-and-shift alignment.

    Args:
        pred: [N, H, W] predicted depth (e.g. rendered expected depth).
        target: [N, H, W] ground truth; <= 0 or non-finite means unknown.
        valid: [N, H, W] bool, extra mask on the prediction (e.g. rendered alpha > 0.5).

    Returns:
        ``{"abs_rel": [N], "delta1": [N], "scale": [N], "shift": [N]}``; nan where an image has
        no valid pixel.
    """
    mask = torch.isfinite(target) & (target > 0) & torch.isfinite(pred)
    if valid is not None:
        mask &= valid
    scale, shift = align_scale_shift(torch.nan_to_num(pred), torch.nan_to_num(target), mask)
    aligned = scale[:, None, None] * pred.double() + shift[:, None, None]
    gt = target.double()
    n = mask.flatten(1).sum(1)
    rel = torch.where(mask, (aligned - gt).abs() / gt.clamp(min=1e-12), torch.zeros_like(gt))
    ratio = torch.maximum(aligned / gt.clamp(min=1e-12), gt / aligned.clamp(min=1e-12))
    good = mask & (aligned > 0) & (ratio < 1.25)
    nan = torch.full_like(scale, float("nan"))
    return {
        "abs_rel": torch.where(n > 0, rel.flatten(1).sum(1) / n.clamp(min=1), nan),
        "delta1": torch.where(n > 0, good.flatten(1).sum(1) / n.clamp(min=1), nan),
        "scale": scale,
        "shift": shift,
    }
