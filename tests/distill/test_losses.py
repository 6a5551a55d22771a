"""Distillation losses on known inputs: MSE, SSIM against reference formulas, the
scale-and-shift-invariant depth loss, and how the terms combine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lyra_sim.distill import DistillationLoss, LossCfg, depth_loss_per_view, mse_per_view, normalize_depth, ssim_loss_per_view
from lyra_sim.errors import MissingWeightsError
from lyra_sim.eval import lpips_available, ssim


def reference_ssim(x: np.ndarray, y: np.ndarray, win: int = 11, sigma: float = 1.5, sample_cov: bool = True) -> float:
    """SSIM by its definition, window by window (Wang et al. 2004; skimage's normalisation)."""
    r = win // 2
    g = np.exp(-((np.arange(win) - r) ** 2) / (2 * sigma**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    norm = win * win / (win * win - 1) if sample_cov else 1.0
    vals = []
    for c in range(x.shape[0]):
        for i in range(r, x.shape[1] - r):
            for j in range(r, x.shape[2] - r):
                a, b = x[c, i - r : i + r + 1, j - r : j + r + 1], y[c, i - r : i + r + 1, j - r : j + r + 1]
                ma, mb = (w * a).sum(), (w * b).sum()
                va = norm * ((w * a * a).sum() - ma * ma)
                vb = norm * ((w * b * b).sum() - mb * mb)
                cov = norm * ((w * a * b).sum() - ma * mb)
                c1, c2 = 0.01**2, 0.03**2
                vals.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2)))
    return float(np.mean(vals))


def test_mse_known_values():
    rgb = torch.zeros(2, 3, 4, 5)
    target = torch.stack([torch.ones(3, 4, 5), torch.full((3, 4, 5), 0.5)])
    assert torch.allclose(mse_per_view(rgb, target), torch.tensor([1.0, 0.25]))


@pytest.mark.parametrize("sample_cov", [True, False])
def test_ssim_matches_definition(sample_cov):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 16, 18, generator=g, dtype=torch.float64)
    y = (x + 0.2 * torch.rand(3, 16, 18, generator=g, dtype=torch.float64)).clamp(0, 1)
    got = float(ssim(x[None], y[None], sample_covariance=sample_cov)[0])
    assert got == pytest.approx(reference_ssim(x.numpy(), y.numpy(), sample_cov=sample_cov), abs=1e-10)
    assert 0.3 < got < 0.99  # a real, non-trivial case
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-12)


def test_ssim_matches_skimage_as_lyra_calls_it():
    metrics = pytest.importorskip("skimage.metrics")
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 30, 41, generator=g, dtype=torch.float64)
    y = (0.7 * x + 0.3 * torch.rand(3, 30, 41, generator=g, dtype=torch.float64))
    ref = metrics.structural_similarity(x.numpy(), y.numpy(), win_size=11, gaussian_weights=True, data_range=1.0, channel_axis=0)
    assert float(ssim(x, y)) == pytest.approx(ref, abs=1e-7)


def test_ssim_loss_is_differentiable_and_zero_on_identity():
    x = torch.rand(2, 1, 11, 12, dtype=torch.float64, requires_grad=True)
    y = torch.rand(2, 1, 11, 12, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: ssim_loss_per_view(a, y), (x,), eps=1e-6, atol=1e-6)
    assert torch.allclose(ssim_loss_per_view(y, y), torch.zeros(2, dtype=torch.float64), atol=1e-12)


def test_depth_loss_known_value():
    # target [1, 2, 3, 4] -> median 2 (lower), MAD 1 -> [-1, 0, 1, 2]
    # pred [1, 2, 3, 10] -> median 2, MAD 2.5 -> [-0.4, 0, 0.4, 3.2]
    # smooth-L1 of [0.6, 0, 0.6, 1.2] = [0.18, 0, 0.18, 0.7] -> mean 0.265
    pred = torch.tensor([[[1.0, 2.0], [3.0, 10.0]]])
    target = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    assert float(depth_loss_per_view(pred, target)[0]) == pytest.approx(0.265, abs=1e-6)


def test_depth_loss_is_scale_and_shift_invariant_and_masked():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(3, 10, 12, generator=g) * 5 + 1
    target[:, :2] = 0.0  # unknown
    target[1, 5, 5] = float("inf")  # unknown
    pred = torch.rand(3, 10, 12, generator=g) * 4 + 0.5
    base = depth_loss_per_view(pred, target)
    assert (base > 0.1).all()
    for a, b in ((2.0, 0.0), (0.3, 5.0), (7.0, -0.2)):
        assert torch.allclose(depth_loss_per_view(a * pred + b, target), base, rtol=1e-5, atol=1e-6)
    # pixels without teacher depth do not matter
    changed = pred.clone()
    changed[:, :2] = 1000.0
    changed[1, 5, 5] = -3.0
    assert torch.allclose(depth_loss_per_view(changed, target), base)
    # an affine copy of the teacher's depth is perfect
    perfect = 3.0 * target + 2.0
    assert torch.allclose(depth_loss_per_view(perfect, target), torch.zeros(3), atol=1e-6)


def test_normalize_depth_zero_median_unit_mad():
    d = torch.rand(2, 50) * 10
    mask = torch.ones(2, 50, dtype=torch.bool)
    n = normalize_depth(d, mask)
    assert torch.allclose(n.abs().mean(1), torch.ones(2), atol=1e-5)
    assert (n.median(1).values.abs() < 1e-6).all()


def test_distillation_loss_combines_weighted_terms():
    g = torch.Generator().manual_seed(0)
    rgb, target = torch.rand(2, 3, 16, 16, generator=g), torch.rand(2, 3, 16, 16, generator=g)
    depth, tdepth = torch.rand(2, 16, 16, generator=g) + 1, torch.rand(2, 16, 16, generator=g) + 1
    opac = torch.rand(100, generator=g)
    cfg = LossCfg(lambda_mse=1.0, perceptual="ssim", lambda_perceptual=0.2, lambda_depth=0.05)
    total, terms = DistillationLoss(cfg)(rgb, target, depth, tdepth, opac, lambda_opacity=0.1)
    assert set(terms) == {"mse", "dssim", "depth", "opacity"}
    expected = terms["mse"] + 0.2 * terms["dssim"] + 0.05 * terms["depth"] + 0.1 * terms["opacity"]
    assert float(total) == pytest.approx(float(expected), rel=1e-6)
    assert float(terms["opacity"]) == pytest.approx(float(opac.mean()))
    # outside pruning stages (lambda_opacity 0) and without depth, those terms are absent
    total2, terms2 = DistillationLoss(LossCfg(perceptual="none"))(rgb, target)
    assert set(terms2) == {"mse"} and float(total2) == pytest.approx(float(terms["mse"]))


@pytest.mark.skipif(lpips_available(), reason="LPIPS weights are present here")
def test_lpips_without_weights_is_a_clear_error():
    with pytest.raises(MissingWeightsError, match="ssim"):
        DistillationLoss(LossCfg(perceptual="lpips"))


def test_depth_at_gaussian_rays_samples_block_centres_and_skips_edges():
    from lyra_sim.eval.depth import depth_at_gaussian_rays

    depth = torch.full((1, 8, 8), 2.0)
    depth[:, :, 4:] = 0.0  # right half: sky
    depth[:, 4:, :4] = 3.0  # lower-left block deeper
    depth[:, 1, 1] = 2.2  # a middle pixel of the top-left 4x4 block: 10 % off -> an edge, not trusted
    ref, surface, sky = depth_at_gaussian_rays(depth, 4)
    assert ref.shape == (1, 2, 2)
    assert surface.tolist() == [[[False, False], [True, False]]]
    assert sky.tolist() == [[[False, True], [False, True]]]
    assert float(ref[0, 1, 0]) == pytest.approx(3.0)
    # stride 1: every pixel is its own ray
    ref1, surface1, sky1 = depth_at_gaussian_rays(depth, 1)
    assert torch.equal(ref1, depth) and torch.equal(surface1, depth > 0) and torch.equal(sky1, depth == 0)


def test_decoded_depth_loss_is_metric_log_l1_and_pushes_sky_far():
    from lyra_sim.distill.losses import decoded_depth_loss_per_view

    target = torch.full((2, 8, 8), 4.0)
    exact = torch.full((2, 2, 2), 4.0)
    assert float(decoded_depth_loss_per_view(exact, target, far=30.0).sum()) == pytest.approx(0.0, abs=1e-6)
    # metric, not scale-invariant: twice the depth costs log 2 on every ray
    double = torch.full((2, 2, 2), 8.0)
    assert decoded_depth_loss_per_view(double, target, far=30.0).tolist() == pytest.approx([np.log(2)] * 2, rel=1e-5)
    # sky rays: no cost beyond far / 2, a pull outwards below it
    sky = torch.zeros(1, 8, 8)
    far_enough, too_near = torch.full((1, 2, 2), 20.0), torch.full((1, 2, 2), 5.0, requires_grad=True)
    assert float(decoded_depth_loss_per_view(far_enough, sky, far=30.0)) == 0.0
    loss = decoded_depth_loss_per_view(too_near, sky, far=30.0, sky_weight=0.1)
    assert float(loss) == pytest.approx(np.log(15 / 5), rel=1e-5)  # mean over sky rays only
    loss.backward()
    assert (too_near.grad < 0).all()  # gradient descent moves them outwards


def test_distillation_loss_adds_the_decoded_depth_term():
    g = torch.Generator().manual_seed(0)
    rgb, target = torch.rand(2, 3, 16, 16, generator=g), torch.rand(2, 3, 16, 16, generator=g)
    decoded, teacher = torch.full((3, 4, 4), 2.0), torch.full((3, 16, 16), 1.0)
    cfg = LossCfg(perceptual="none", lambda_decoded_depth=0.5)
    total, terms = DistillationLoss(cfg)(rgb, target, decoded_depth=decoded, input_depth=teacher, far=30.0)
    assert float(terms["decoded_depth"]) == pytest.approx(np.log(2), rel=1e-5)
    assert float(total) == pytest.approx(float(terms["mse"]) + 0.5 * np.log(2), rel=1e-5)
