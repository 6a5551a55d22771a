"""Deferred backpropagation gives the gradients of plain backpropagation."""

from __future__ import annotations

import pytest
import torch

from lyra_sim.cameras import Cameras, intrinsics_matrix
from lyra_sim.distill import DistillationLoss, LossCfg, render_views
from lyra_sim.gaussians import GaussianScene


def random_setup(n=150, views=4, H=20, W=28, seed=0):
    g = torch.Generator().manual_seed(seed)
    means = torch.stack([torch.rand(n, generator=g) * 3 - 1.5, torch.rand(n, generator=g) * 2 - 1, torch.rand(n, generator=g) * 2 + 2], -1)
    quats = torch.nn.functional.normalize(torch.randn(n, 4, generator=g), dim=-1)
    scales = torch.rand(n, 3, generator=g) * 0.15 + 0.03
    opac = torch.rand(n, generator=g) * 0.8 + 0.1
    rgb = torch.rand(n, 3, generator=g)
    c2w = torch.eye(4).repeat(views, 1, 1)
    c2w[:, 0, 3] = torch.linspace(-0.3, 0.3, views)
    c2w[:, 1, 3] = torch.linspace(0.1, -0.1, views)
    cams = Cameras(c2w, intrinsics_matrix(0.9 * W, 0.9 * W, W / 2, H / 2), W, H)
    target = torch.rand(views, 3, H, W, generator=g)
    tdepth = torch.rand(views, H, W, generator=g) * 2 + 2
    tdepth[:, :3] = 0  # some unknown depth
    return [means, quats, scales, opac, rgb], cams, target, tdepth


def loss_and_grads(params, cams, target, tdepth, deferred, chunk=1):
    leaves = [p.clone().requires_grad_(True) for p in params]
    scene = GaussianScene.from_rgb(*leaves)
    out = render_views(scene, cams, deferred=deferred, chunk=chunk)
    loss_fn = DistillationLoss(LossCfg(perceptual="ssim", lambda_perceptual=0.2, lambda_depth=0.05))
    loss, _ = loss_fn(out.rgb.permute(0, 3, 1, 2), target, out.depth[..., 0], tdepth, leaves[3], lambda_opacity=0.1)
    loss = loss + out.alpha.mean()  # exercise the alpha gradient path too
    loss.backward()
    return loss.detach(), [p.grad for p in leaves], out


@pytest.mark.parametrize("chunk", [1, 4])
def test_deferred_gradients_equal_plain_backprop(chunk):
    params, cams, target, tdepth = random_setup()
    loss_p, grads_p, out_p = loss_and_grads(params, cams, target, tdepth, deferred=False)
    loss_d, grads_d, out_d = loss_and_grads(params, cams, target, tdepth, deferred=True, chunk=chunk)
    assert torch.equal(out_p.rgb, out_d.rgb) and torch.equal(out_p.depth, out_d.depth)
    assert float(loss_p) == pytest.approx(float(loss_d), rel=1e-7)
    for name, gp, gd in zip(("means", "quats", "scales", "opacities", "rgb"), grads_p, grads_d):
        assert gp.abs().max() > 0, name  # the comparison is not vacuous
        torch.testing.assert_close(gd, gp, rtol=1e-5, atol=1e-7, msg=name)


def test_deferred_forward_keeps_no_render_graph():
    params, cams, *_ = random_setup(views=3)
    scene = GaussianScene.from_rgb(*[p.clone().requires_grad_(True) for p in params])
    out = render_views(scene, cams, deferred=True)
    # The images hang directly off the deferred node: no rasteriser graph is held per view.
    assert type(out.rgb.grad_fn).__name__ == "_DeferredRenderBackward"
    plain = render_views(scene, cams, deferred=False)
    assert type(plain.rgb.grad_fn).__name__ != "_DeferredRenderBackward"
