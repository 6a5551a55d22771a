"""Refinement: optimise Gaussians against the teacher's frames and depth (test-time, per world).

The feed-forward decoder gives a good start but blurry splats whose depth lies off the
surfaces. A few hundred Adam steps at the teacher's own cameras fix both: colour (L1), surface
and expected depth (log-L1, metric or per-view scale-and-shift aligned as in Lyra's loss), and a
validity term that makes rays the teacher sees hitting something opaque and rays into the sky
empty, so the Gaussians' own surface depth can be fused into the collider. It is the same loop
3DGS training runs, started from the decoder's output instead of a point cloud, with pruning
and splitting (:mod:`lyra_sim.refine.densify`). It runs on the torch rasterizer on any device
(the surface depth it supervises is a torch-compositor output, :mod:`lyra_sim.render.surface`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from lyra_sim.cameras import Cameras
from lyra_sim.errors import InvalidInputError
from lyra_sim.gaussians import GaussianScene
from lyra_sim.progress import report
from lyra_sim.refine.config import RefineCfg
from lyra_sim.refine.densify import (
    GradientStats,
    add_gaussians,
    densify_and_prune,
    depth_seeds,
    in_free_space,
    prune,
)
from lyra_sim.refine.params import init_params, scene_from_params
from lyra_sim.render import render


@dataclass
class RefineTargets:
    """What the Gaussians are fitted to: the teacher's views.

    Attributes:
        frames: [V, 3, H, W] RGB in [0, 1].
        cameras: V cameras (OpenCV, scene frame) of size W x H.
        depth: [V, H, W] camera z-depth, scene units, 0 where unknown; None: colour only.
        mask: [V, H, W] bool, True where the teacher sees a surface (None: where depth > 0, or
            everywhere without depth).
        depth_is_metric: the depth is in the scene's units (a metric teacher); else it is
            relative and aligned per view.
    """

    frames: Tensor
    cameras: Cameras
    depth: Tensor | None = None
    mask: Tensor | None = None
    depth_is_metric: bool = True

    def __post_init__(self) -> None:
        V, _, H, W = self.frames.shape
        if len(self.cameras) != V or (self.cameras.height, self.cameras.width) != (H, W):
            raise InvalidInputError(f"refinement targets: {V} frames of {W}x{H} need {V} cameras of that size")
        if self.mask is None:
            self.mask = self.depth > 0 if self.depth is not None else torch.ones(V, H, W, dtype=torch.bool)

    def __len__(self) -> int:
        return self.frames.shape[0]


@dataclass
class RefineResult:
    """The refined Gaussians and what refinement did.

    Attributes:
        scene: the refined Gaussians (same frame and units as the input).
        before / after: :func:`view_metrics` at the same evaluation views.
        steps: steps run; seconds: wall time; gaussians: count before and after.
        history: (step, loss) every 10 steps.
        kept: "refined", or why the input Gaussians were kept (refinement made them look worse).
    """

    scene: GaussianScene
    before: dict
    after: dict
    steps: int
    seconds: float
    gaussians: tuple[int, int]
    history: list[tuple[int, float]] = field(default_factory=list)
    kept: str = "refined"

    def summary(self) -> dict:
        """The ``refine`` section of report.json."""
        return {"steps": self.steps, "kept": self.kept, "seconds": round(self.seconds, 2),
                "seconds_per_step": round(self.seconds / max(self.steps, 1), 3),
                "gaussians_before": self.gaussians[0], "gaussians_after": self.gaussians[1],
                "before": self.before, "after": self.after}


def refine_gaussians(
    scene: GaussianScene,
    targets: RefineTargets,
    cfg: RefineCfg | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    eval_views: int = 12,
) -> RefineResult:
    """Optimise ``scene`` against ``targets`` for ``cfg.steps`` steps.

    Args:
        scene: the decoded Gaussians (any SH degree), on the device to optimise on.
        on_step: called with (step, steps, loss) after every step (a progress bar).
        eval_views: views (evenly spaced over all) scored before and after.

    Returns:
        :class:`RefineResult`; with ``cfg.steps == 0`` the scene is returned unchanged.
    """
    cfg = (cfg or RefineCfg()).check()
    t0 = time.perf_counter()
    device, dtype = scene.device, scene.dtype
    frames = targets.frames.to(device, dtype)
    cams_all = targets.cameras.to(device, dtype)
    depth_t = targets.depth.to(device, dtype) if targets.depth is not None else None
    mask_t = targets.mask.to(device)
    eval_idx = torch.linspace(0, len(targets) - 1, min(eval_views, len(targets))).round().long()
    before = view_metrics(scene, targets, eval_idx)
    if cfg.steps == 0:
        return RefineResult(scene, before, before, 0, time.perf_counter() - t0, (len(scene), len(scene)))

    depth_mode = cfg.depth
    if depth_mode == "auto":
        depth_mode = "metric" if targets.depth_is_metric else "scale_shift"
    if depth_t is None:
        depth_mode = "off"
    carve = cfg.carve_free_space and depth_t is not None and depth_mode == "metric"
    extent = _extent(scene)
    params = init_params(scene.detach(), cams_all, cfg.initial_scale_pixels)
    lrs = {"means": cfg.lr_means * extent, "scales": cfg.lr_scales, "quats": cfg.lr_quats,
           "opacities": cfg.lr_opacities, "sh0": cfg.lr_colors, "shN": cfg.lr_colors / 20}
    optim = torch.optim.Adam([{"params": [p], "lr": lrs[k], "name": k} for k, p in params.items()], eps=1e-15)
    decay = 0.01 ** (1.0 / max(cfg.steps, 1))
    gen = torch.Generator().manual_seed(cfg.seed)
    stats = GradientStats.zeros(len(scene), device)
    bg = torch.tensor(cfg.background, device=device, dtype=dtype)
    history = []
    report("refine steps", 0, cfg.steps)
    for step in range(cfg.steps):
        idx = torch.randperm(len(targets), generator=gen)[: cfg.views_per_step].to(device)
        current = scene_from_params(params)
        loss = _loss(current, cams_all[idx], frames[idx], mask_t[idx], None if depth_t is None else depth_t[idx],
                     depth_mode, bg, cfg)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        stats.accumulate(params["means"].grad)
        optim.step()
        for group in optim.param_groups:
            if group["name"] == "means":
                group["lr"] *= decay
        with torch.no_grad():
            params["quats"].copy_(F.normalize(params["quats"], dim=-1))
        done = step + 1
        if done % cfg.refine_every == 0 and done < cfg.steps:
            if carve:
                params = _carve(params, optim, cams_all, depth_t, mask_t, cfg)
                seed_views = torch.randperm(len(targets), generator=gen)[: cfg.seed_views].to(device)
                budget = max(0, min(cfg.seeds_per_round, cfg.max_gaussians - params["means"].shape[0]))
                params = add_gaussians(params, optim, depth_seeds(params, cams_all[seed_views], frames[seed_views],
                                                                  depth_t[seed_views], mask_t[seed_views], budget, gen))
                stats = GradientStats.zeros(params["means"].shape[0], device)
            if cfg.strategy == "default":
                # With the teacher's metric depth, depth seeding is what grows the Gaussians; the
                # gradient-driven split/clone only runs without it (this round still prunes).
                round_cfg = replace(cfg, grow_fraction=0.0) if carve else cfg
                params, stats = densify_and_prune(params, optim, stats, cams_all, round_cfg, gen)
        if done % 10 == 0 or done == cfg.steps:
            history.append((done, round(float(loss.detach()), 5)))
        report("refine steps", done, cfg.steps)
        if on_step is not None:
            on_step(done, cfg.steps, float(loss.detach()))
    if carve:
        params = _carve(params, optim, cams_all, depth_t, mask_t, cfg)
    if cfg.strategy != "none":
        params = prune(params, optim, torch.sigmoid(params["opacities"]) >= cfg.prune_opacity)
    refined = scene_from_params(params).detach()
    after = view_metrics(refined, targets, eval_idx)
    if after["psnr_db"] < before["psnr_db"]:
        # Never hand back a world that looks worse than the one we were given: too few steps
        # (the splats start at one pixel's size and need steps and densification to close the
        # holes) or too few views can lower PSNR; then the input stays, and the report says so.
        kept = f"the input: refinement lowered PSNR from {before['psnr_db']:.2f} to {after['psnr_db']:.2f} dB"
        return RefineResult(scene.detach(), before, before, cfg.steps, time.perf_counter() - t0, (len(scene), len(scene)),
                            history, kept)
    return RefineResult(refined, before, after, cfg.steps, time.perf_counter() - t0, (len(scene), len(refined)), history)


def _carve(params: dict[str, Tensor], optim, cameras: Cameras, depth: Tensor, mask: Tensor, cfg: RefineCfg) -> dict[str, Tensor]:
    """``params`` without the Gaussians the teacher's views see through (:func:`in_free_space`)."""
    return prune(params, optim, ~in_free_space(params["means"].detach(), cameras, depth, mask, cfg.carve_margin))


# ----------------------------------------------------------------------------- parameters
def _extent(scene: GaussianScene) -> float:
    lo, hi = scene.detach().bounds(quantile=0.02)
    return max(float((hi - lo).norm()), 1e-6)


# ----------------------------------------------------------------------------- loss
def _loss(scene: GaussianScene, cams: Cameras, frames: Tensor, mask: Tensor, depth: Tensor | None, depth_mode: str,
          bg: Tensor, cfg: RefineCfg) -> Tensor:
    out = render(scene, cams, mode="RGB+ED+SD" if depth_mode != "off" else "RGB")
    target = frames.permute(0, 2, 3, 1)  # [k, H, W, 3]
    surf = mask[..., None]
    # Sky: the teacher's own colour is the background; there is nothing there to fit.
    background = torch.where(surf, bg.view(1, 1, 1, 3), target)
    rgb = out.rgb + (1.0 - out.alpha) * background
    loss = (rgb - target).abs().mean()
    alpha = out.alpha.clamp(1e-4, 1 - 1e-4)
    loss = loss + cfg.opacity_weight * F.binary_cross_entropy(alpha, surf.to(alpha.dtype))
    if depth_mode == "off":
        return loss
    td = depth[..., None]
    for rendered, weight in ((out.surface_depth, 1.0), (out.depth, 0.5)):
        ok = surf & (td > 0) & (rendered > 1e-6)
        if not ok.any():
            continue
        aim = td if depth_mode == "metric" else _align(td, rendered.detach(), ok)
        ok = ok & (aim > 1e-6)
        err = (torch.log(rendered[ok]) - torch.log(aim[ok])).abs()
        loss = loss + cfg.depth_weight * weight * err.mean()
    return loss


def _align(target: Tensor, rendered: Tensor, ok: Tensor) -> Tensor:
    """``target`` [k, H, W, 1] scaled and shifted per view to best match ``rendered`` (least squares on ``ok``)."""
    out = torch.zeros_like(target)
    for v in range(target.shape[0]):
        m = ok[v]
        if m.sum() < 8:
            continue
        x, y = target[v][m], rendered[v][m]
        A = torch.stack([x, torch.ones_like(x)], -1)
        sol = torch.linalg.lstsq(A, y[:, None]).solution[:, 0]
        out[v] = target[v] * sol[0] + sol[1]
    return out


# ----------------------------------------------------------------------------- metrics
@torch.no_grad()
def view_metrics(scene: GaussianScene, targets: RefineTargets, idx: Tensor, chunk: int = 1) -> dict:
    """Colour and surface-depth agreement with the teacher at views ``idx``.

    Sky pixels (where the teacher sees no surface) have nothing a world should hold, so renders
    are composited over the teacher's own colour there, as in the refinement loss; geometry put
    in the sky still shows as error. ``psnr_white_db`` is the plain render on white. Views are
    rendered one at a time by default: the feed-forward decoder's 0.3 m splats make ~1.3 GB of
    pixel pairs per 160x96 view (measured: 5.5 GB peak at 4 views per call, 1.9 GB at 1).

    Returns:
        {"views", "psnr_db", "ssim", "psnr_white_db", "depth_abs_rel" (mean |d - d*| / d* where
        both have a surface), "surface_coverage" (fraction of the teacher's surface pixels with
        a surface), "false_surface" (fraction of the teacher's sky pixels with one)}.
    """
    from lyra_sim.eval.image import psnr, ssim

    device, dtype = scene.device, scene.dtype
    cams = targets.cameras.to(device, dtype)
    preds, alphas, sds = [], [], []
    idx_list = idx.tolist()
    for i in range(0, len(idx_list), chunk):
        out = render(scene, cams[idx_list[i : i + chunk]], mode="RGB+SD")
        preds.append(out.rgb.permute(0, 3, 1, 2).float().cpu())
        alphas.append(out.alpha.permute(0, 3, 1, 2).float().cpu())
        sds.append(out.surface_depth[..., 0].float().cpu())
    premult, alpha, sd = torch.cat(preds), torch.cat(alphas), torch.cat(sds)
    frames = targets.frames[idx].float().cpu()
    sky = ~targets.mask[idx].cpu()[:, None]
    pred = (premult + (1 - alpha) * torch.where(sky, frames, torch.ones_like(frames))).clamp(0, 1)
    white = (premult + (1 - alpha)).clamp(0, 1)
    res = {"views": len(idx_list), "psnr_db": round(float(psnr(pred, frames).mean()), 3),
           "ssim": round(float(ssim(pred, frames).mean()), 4), "psnr_white_db": round(float(psnr(white, frames).mean()), 3)}
    if targets.depth is not None:
        td, mask = targets.depth[idx].float().cpu(), targets.mask[idx].cpu()
        both = mask & (td > 0) & (sd > 0)
        rel = ((sd - td).abs() / td.clamp(min=1e-6))[both]
        if not targets.depth_is_metric and both.sum() > 8:  # relative depth: compare after one scale
            s = float((td[both] * sd[both]).sum() / (sd[both] ** 2).sum())
            rel = ((sd * s - td).abs() / td.clamp(min=1e-6))[both]
        res["depth_abs_rel"] = round(float(rel.mean()), 4) if len(rel) else math.nan
        res["surface_coverage"] = round(float((sd[mask & (td > 0)] > 0).float().mean()), 4) if mask.any() else math.nan
        res["false_surface"] = round(float((sd[~mask] > 0).float().mean()), 4) if (~mask).any() else 0.0
    return res
