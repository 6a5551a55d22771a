"""Depth metrics: after scale-and-shift alignment (for decoders whose depth has no fixed scale),
and metric, on the decoder's own per-ray depth (for a metric teacher).

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


def depth_at_gaussian_rays(target: Tensor, stride: int) -> tuple[Tensor, Tensor, Tensor]:
    """The teacher's depth where each Gaussian's pixel ray passes, and which rays to trust.

    A decoder with ``gaussian_stride = s`` casts one ray through the centre of every s x s
    pixel block. Its depth there is the mean of the pixels around the centre (the 2x2 middle
    pixels for even s, the middle pixel for odd s, i.e. bilinear sampling), trusted only when
    those pixels agree within 5 % (no depth edge inside).

    Args:
        target: [V, H, W] teacher z-depth (metres), 0 = unknown (sky); H, W multiples of s.
        stride: s.

    Returns:
        (depth [V, H/s, W/s], surface [V, H/s, W/s] bool: a trusted surface ray,
        sky [V, H/s, W/s] bool: every pixel around the centre is unknown).
    """
    V, H, W = target.shape
    if H % stride or W % stride:
        raise InvalidInputError(f"depth {H}x{W} is not a multiple of the Gaussian stride {stride}")
    middle = [stride // 2 - 1, stride // 2] if stride % 2 == 0 else [stride // 2]
    blocks = target.view(V, H // stride, stride, W // stride, stride)
    around = torch.stack([blocks[:, :, r, :, c] for r in middle for c in middle], dim=1)  # [V, k, Hg, Wg]
    known = around > 0
    lo, hi = around.amin(1), around.amax(1)
    surface = known.all(1) & (hi <= 1.05 * lo)
    sky = ~known.any(1)
    return around.mean(1), surface, sky


def decoded_depth_metrics(decoded: Tensor, target: Tensor, sky_near_m: float = 15.0) -> dict[str, float]:
    """How far the decoder's own Gaussians sit from the teacher's surface, in metric terms.

    No alignment: a collider is built from these depths as they are.

    Args:
        decoded: [N, Hg, Wg] decoded camera z-depth of each Gaussian ray (``DecoderOutput.depth``).
        target: [N, H, W] teacher z-depth (metres), 0 = unknown (sky); H = Hg * s, W = Wg * s.
        sky_near_m: a sky ray decoded nearer than this counts as near (the decoder's far / 2,
            where the training loss's sky term stops pulling; 15 m for the embedded decoder).

    Returns:
        ``abs_rel`` (mean |d - d_teacher| / d_teacher over trusted surface rays),
        ``median_error_m`` (median |d - d_teacher|, metres), ``sky_rays_near`` (fraction of sky
        rays decoded nearer than ``sky_near_m``: splats a collider would fuse); None where no ray counts.
    """
    stride = target.shape[-2] // decoded.shape[-2]
    ref, surface, sky = depth_at_gaussian_rays(target, stride)
    d = decoded.to(ref.dtype)
    err = (d - ref).abs()[surface]
    rel = err / ref[surface]
    return {
        "abs_rel": float(rel.mean()) if len(rel) else None,
        "median_error_m": float(err.median()) if len(err) else None,
        "sky_rays_near": float((d[sky] < sky_near_m).float().mean()) if bool(sky.any()) else None,
    }
