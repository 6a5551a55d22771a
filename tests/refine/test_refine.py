"""Refinement: it fits a tiny scene's views better, leaves steps=0 alone, and refuses bad settings."""

from __future__ import annotations


import pytest
import torch

from lyra_sim.cameras import Cameras, intrinsics_matrix, look_at
from lyra_sim.errors import InvalidInputError
from lyra_sim.gaussians import GaussianScene
from lyra_sim.refine import RefineCfg, RefineTargets, refine_gaussians
from lyra_sim.render import render


def wall_scene(seed: int, jitter: float = 0.0, blur: float = 1.0) -> GaussianScene:
    """A textured wall of flat splats at z = 3 (a checkerboard of two colours) with a box in front."""
    g = torch.Generator().manual_seed(seed)
    xs = torch.linspace(-1.2, 1.2, 24)
    x, y = torch.meshgrid(xs, xs * 0.7, indexing="xy")
    means = torch.stack([x.flatten(), y.flatten(), torch.full_like(x.flatten(), 3.0)], -1)
    checker = ((x.flatten() * 3).floor() + (y.flatten() * 3).floor()) % 2
    rgb = torch.stack([0.2 + 0.6 * checker, 0.3 * torch.ones_like(checker), 0.8 - 0.6 * checker], -1)
    n = len(means)
    scales = torch.tensor([0.06, 0.06, 0.005]).expand(n, 3) * blur
    means = means + jitter * torch.randn(n, 3, generator=g)
    return GaussianScene.from_rgb(means, torch.tensor([[1.0, 0, 0, 0]]).expand(n, 4), scales.clone(), torch.full((n,), 0.95), rgb)


def views(count: int = 8, size: tuple[int, int] = (48, 32)) -> Cameras:
    angles = torch.linspace(-0.25, 0.25, count)
    eyes = torch.stack([torch.sin(angles) * 0.8, torch.zeros(count), torch.zeros(count)], -1)
    c2w = look_at(eyes, torch.tensor([[0.0, 0.0, 3.0]]).expand(count, 3))
    w, h = size
    return Cameras(c2w, intrinsics_matrix(40.0, 40.0, w / 2, h / 2).expand(count, 3, 3).clone(), w, h)


def targets_of(scene: GaussianScene, cams: Cameras) -> RefineTargets:
    with torch.no_grad():
        out = render(scene, cams, mode="RGB+SD", background=(1.0, 1.0, 1.0))
    depth = out.surface_depth[..., 0]
    return RefineTargets(out.rgb.permute(0, 3, 1, 2).clamp(0, 1), cams, depth, depth > 0, True)


def test_refinement_fits_the_views_better():
    cams = views()
    targets = targets_of(wall_scene(0), cams)
    start = wall_scene(0, jitter=0.15, blur=2.5)  # metres-off and blurry, like a feed-forward decode
    result = refine_gaussians(start, targets, RefineCfg(steps=60, views_per_step=2, refine_every=20), eval_views=8)
    assert result.after["psnr_db"] > result.before["psnr_db"] + 3.0, (result.before, result.after)
    assert result.after["depth_abs_rel"] < 0.6 * result.before["depth_abs_rel"]
    assert result.steps == 60 and len(result.history) == 6
    summary = result.summary()
    assert summary["gaussians_before"] == len(start) and summary["seconds_per_step"] > 0


def test_zero_steps_returns_the_feed_forward_scene():
    cams = views(4)
    start = wall_scene(1, jitter=0.1)
    result = refine_gaussians(start, targets_of(wall_scene(1), cams), RefineCfg(steps=0))
    assert result.scene is start and result.before == result.after and result.steps == 0


def test_a_refinement_that_lowers_psnr_keeps_the_input():
    """One step from an already exact scene, with a learning rate that throws the splats about:
    the views look worse, so the input comes back and the report says why."""
    cams = views(4)
    exact = wall_scene(2)
    result = refine_gaussians(exact, targets_of(exact, cams), RefineCfg(steps=1, views_per_step=4, lr_means=5.0, strategy="none"))
    assert result.kept.startswith("the input: refinement lowered PSNR")
    assert torch.equal(result.scene.means, exact.means) and result.after == result.before
    assert result.summary()["kept"] == result.kept and result.gaussians == (len(exact), len(exact))
    good = refine_gaussians(exact, targets_of(wall_scene(2), cams), RefineCfg(steps=0))
    assert good.kept == "refined"


def test_sky_pixels_are_left_empty():
    # The teacher sees nothing in the top half: refinement makes those rays transparent there.
    cams = views(6)
    targets = targets_of(wall_scene(2), cams)
    targets.mask[:, : targets.mask.shape[1] // 2] = False
    targets.depth[~targets.mask] = 0
    sky = torch.tensor([0.5, 0.7, 0.95])[:, None, None]
    targets.frames = torch.where(targets.mask[:, None], targets.frames, sky)
    result = refine_gaussians(wall_scene(2), targets, RefineCfg(steps=100, views_per_step=2, strategy="none"), eval_views=6)
    assert result.before["false_surface"] > 0.3  # the wall covers part of the "sky" before
    assert result.after["false_surface"] < 0.5 * result.before["false_surface"]


@pytest.mark.parametrize("override, words", [
    ({"views_per_step": 0}, "views_per_step"),
    ({"steps": -1}, "steps"),
    ({"strategy": "mcmc"}, "strategy"),
    ({"lr_means": 0.0}, "lr_means"),
    ({"depth": "guess"}, "depth"),
])
def test_settings_that_cannot_run_are_refused(override, words):
    cfg = RefineCfg(**override)
    with pytest.raises(InvalidInputError, match=words):
        cfg.check()
