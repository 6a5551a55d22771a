"""Rendering: analytic cases, agreement with an independent dense reference, and gradients."""

from __future__ import annotations

import math

import pytest
import torch

from lyra_sim.cameras import Cameras, intrinsics_matrix, look_at
from lyra_sim.errors import InvalidInputError, LyraSimError
from lyra_sim.gaussians import GaussianScene
from lyra_sim.render import render

reference = pytest.importorskip("reference", reason="needs gsplat's torch reference")


def one_gaussian(xyz, sigma=0.05, opacity=0.8, rgb=(1.0, 0.0, 0.0), dtype=torch.float32):
    return GaussianScene.from_rgb(
        torch.tensor([xyz], dtype=dtype),
        torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=dtype),
        torch.full((1, 3), sigma, dtype=dtype),
        torch.tensor([opacity], dtype=dtype),
        torch.tensor([rgb], dtype=dtype),
    )


def front_camera(size=32, focal=50.0, dtype=torch.float32):
    return Cameras(torch.eye(4, dtype=dtype), intrinsics_matrix(focal, focal, size / 2, size / 2, dtype=dtype), size, size)


def random_scene(n, degree, seed, dtype=torch.float64, spread=0.4, depth=3.0, size=(0.04, 0.12)):
    g = torch.Generator().manual_seed(seed)
    means = (torch.rand(n, 3, generator=g, dtype=dtype) - 0.5) * 2 * spread
    means[:, 2] += depth
    return GaussianScene(
        means=means,
        quats=torch.randn(n, 4, generator=g, dtype=dtype),
        scales=size[0] + (size[1] - size[0]) * torch.rand(n, 3, generator=g, dtype=dtype),
        opacities=0.2 + 0.75 * torch.rand(n, generator=g, dtype=dtype),
        sh=0.6 * torch.randn(n, (degree + 1) ** 2, 3, generator=g, dtype=dtype),
    )


def two_views(size=24, dtype=torch.float64):
    eyes = torch.tensor([[0.0, 0.0, 0.0], [0.6, -0.2, 0.3]], dtype=dtype)
    c2w = look_at(eyes, torch.tensor([[0.0, 0.0, 3.0]], dtype=dtype).expand(2, 3))
    K = intrinsics_matrix(30.0, 28.0, size / 2 + 0.3, size / 2 - 0.4, dtype=dtype)
    return Cameras(c2w, K, size, size)


# ----------------------------------------------------------------------------- analytic cases
def test_single_isotropic_gaussian_peak_alpha_and_depth():
    scene = one_gaussian([0.0, 0.0, 2.0], sigma=0.05, opacity=0.8)
    out = render(scene, front_camera(), mode="RGB+ED")
    # Projected std: f * s / z = 1.25 px; plus the 0.3 px^2 blur. The centre sits on the corner
    # shared by pixels (15,15),(15,16),(16,15),(16,16): each is (0.5, 0.5) px away.
    var = (50 * 0.05 / 2.0) ** 2 + 0.3
    expected = 0.8 * math.exp(-0.5 * (0.25 + 0.25) / var)
    alpha = out.alpha[0, ..., 0]
    assert alpha[15:17, 15:17] == pytest.approx(torch.full((2, 2), expected), abs=1e-6)
    peak = torch.nonzero(alpha == alpha.max())
    assert {tuple(p) for p in peak.tolist()} == {(15, 15), (15, 16), (16, 15), (16, 16)}
    assert out.rgb[0, 15, 15].tolist() == pytest.approx([expected, 0.0, 0.0], abs=1e-6)
    assert out.depth[0, 16, 16, 0].item() == pytest.approx(2.0, abs=1e-5)
    # Total alpha is the Gaussian's integral, o * 2 pi var, less the part cut at alpha < 1/255.
    assert 0.95 * 0.8 * 2 * math.pi * var < alpha.sum().item() < 0.8 * 2 * math.pi * var


def test_offset_gaussian_lands_on_projected_pixel():
    scene = one_gaussian([0.2, -0.1, 2.0], sigma=0.02)
    out = render(scene, front_camera())
    # u = f x / z + cx = 50 * 0.1 + 16 = 21 -> pixel column 20/21 boundary; v = -2.5 + 16 = 13.5 -> row 13.
    row, col = divmod(int(out.alpha[0, ..., 0].argmax()), 32)
    assert row == 13 and col in (20, 21)


def test_front_gaussian_occludes_back_one():
    red = one_gaussian([0.0, 0.0, 2.0], sigma=0.2, opacity=0.99, rgb=(1.0, 0.0, 0.0))
    blue = one_gaussian([0.0, 0.0, 4.0], sigma=0.4, opacity=0.99, rgb=(0.0, 0.0, 1.0))
    cam = front_camera()
    for first, second, expect_red in ((red, blue, True), (blue, red, True)):
        out = render(GaussianScene.merge([first, second]), cam, mode="RGB+ED")
        centre = out.rgb[0, 16, 16]
        assert (centre[0] > 0.95) == expect_red and centre[2] < 0.05  # list order does not matter
        assert out.depth[0, 16, 16, 0].item() == pytest.approx(2.0, abs=0.05)
    # Move red behind blue: now blue wins.
    red_back = one_gaussian([0.0, 0.0, 6.0], sigma=0.2, opacity=0.99, rgb=(1.0, 0.0, 0.0))
    centre = render(GaussianScene.merge([red_back, blue]), cam).rgb[0, 16, 16]
    assert centre[2] > 0.95 and centre[0] < 0.05


def test_background_blends_with_remaining_transmittance():
    scene = one_gaussian([0.0, 0.0, 2.0], sigma=0.05, opacity=0.6, rgb=(0.2, 0.4, 0.6))
    bg = torch.tensor([1.0, 1.0, 1.0])
    out = render(scene, front_camera(), background=bg)
    a = out.alpha[0]
    expected = a * torch.tensor([0.2, 0.4, 0.6]) + (1 - a) * bg
    assert torch.allclose(out.rgb[0], expected, atol=1e-6)
    assert torch.allclose(out.rgb[0, 0, 0], bg)  # far corner: nothing but background


def test_gaussian_behind_camera_or_past_far_is_culled():
    cam = front_camera()
    assert render(one_gaussian([0.0, 0.0, -2.0]), cam).alpha.max() == 0
    assert render(one_gaussian([0.0, 0.0, 2.0]), cam, far=1.5).alpha.max() == 0
    assert render(one_gaussian([0.0, 0.0, 2.0]), cam, near=2.5, far=10).alpha.max() == 0


def test_empty_scene_renders_background():
    out = render(GaussianScene.empty(), front_camera(), mode="RGB+ED", background=(0.1, 0.2, 0.3))
    assert torch.allclose(out.rgb, torch.tensor([0.1, 0.2, 0.3]).expand(1, 32, 32, 3))
    assert out.alpha.max() == 0 and out.depth.max() == 0


def test_opaque_stack_stops_at_transmittance_floor():
    # Five opaque layers: gsplat stops before the Gaussian that takes T below 1e-4.
    layers = [one_gaussian([0.0, 0.0, 2.0 + i], sigma=0.5, opacity=1.0, rgb=(float(i == 0), 0.0, 0.0)) for i in range(5)]
    out = render(GaussianScene.merge(layers), front_camera())
    # The first layer leaves T = 1 - a1 ~ 1.6e-3 at the centre pixel; the second would take T to
    # ~3e-6 <= 1e-4, so it and everything behind it is dropped: alpha is a1, not 1 - (1-a1)(1-a2).
    var = (50 * 0.5 / 2.0) ** 2 + 0.3
    a1 = math.exp(-0.5 * (0.25 + 0.25) / var)
    assert out.alpha[0, 16, 16, 0].item() == pytest.approx(a1, abs=1e-6)
    assert out.rgb[0, 16, 16, 0].item() == pytest.approx(a1, abs=1e-6)


# ----------------------------------------------------------------------------- agreement
@pytest.mark.parametrize("degree", [0, 1, 3])
def test_matches_independent_dense_reference(degree):
    scene = random_scene(40, degree, seed=degree)
    cams = two_views()
    bg = torch.tensor([0.3, 0.5, 0.7], dtype=torch.float64)
    out = render(scene, cams, mode="RGB+ED", background=bg)
    ref_rgb, ref_alpha, ref_depth = reference.reference_render(
        scene.means, scene.quats, scene.scales, scene.opacities, scene.sh, cams.w2c, cams.K, cams.width, cams.height, bg
    )
    assert out.alpha.max() > 0.5  # the scene is actually in view
    assert (out.rgb - ref_rgb).abs().max() < 1e-9
    assert (out.alpha - ref_alpha).abs().max() < 1e-9
    hit = ref_alpha > 1e-3
    assert (out.depth - ref_depth)[hit].abs().max() < 1e-7


def test_float32_matches_float64():
    scene = random_scene(200, 1, seed=7, spread=0.8)
    cams = two_views(size=40)
    out64 = render(scene, cams, mode="RGB+ED")
    out32 = render(scene.to(dtype=torch.float32), cams.to(dtype=torch.float32), mode="RGB+ED")
    assert (out32.rgb.double() - out64.rgb).abs().max() < 1e-4
    assert (out32.alpha.double() - out64.alpha).abs().max() < 1e-4


def test_similarity_transform_of_scene_and_cameras_renders_the_same_image():
    scene = random_scene(60, 3, seed=3)
    cams = two_views()
    angle = 0.7
    rot = torch.tensor(
        [[math.cos(angle), 0.0, math.sin(angle)], [0.0, 1.0, 0.0], [-math.sin(angle), 0.0, math.cos(angle)]], dtype=torch.float64
    )
    s, t = 2.5, torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    T = torch.eye(4, dtype=torch.float64)
    T[:3, :3], T[:3, 3] = s * rot, t
    moved = scene.transform(T)
    c2w = cams.c2w.clone()
    c2w[:, :3, :3] = rot @ c2w[:, :3, :3]
    c2w[:, :3, 3] = (s * rot @ cams.c2w[:, :3, 3].T).T + t
    out = render(scene, cams, mode="RGB+ED")
    out_moved = render(moved, Cameras(c2w, cams.K, cams.width, cams.height), mode="RGB+ED", near=0.01 * s)
    assert (out.rgb - out_moved.rgb).abs().max() < 1e-6
    assert (out.alpha - out_moved.alpha).abs().max() < 1e-6
    hit = out.alpha > 1e-3
    assert (s * out.depth - out_moved.depth)[hit].abs().max() < 1e-5


# ----------------------------------------------------------------------------- gradients
def test_gradients_match_finite_differences():
    scene = random_scene(6, 1, seed=11, spread=0.25, size=(0.08, 0.15))
    cams = two_views(size=16)
    weights = torch.randn(2, 16, 16, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def loss(means, quats, scales, opacities, sh):
        out = render(GaussianScene(means, quats, scales, opacities, sh), cams, mode="RGB+ED", background=(0.2, 0.3, 0.4))
        return (torch.cat([out.rgb, out.alpha, out.depth], dim=-1) * weights).sum()

    params = [t.clone().requires_grad_(True) for t in (scene.means, scene.quats, scene.scales, scene.opacities, scene.sh)]
    assert torch.autograd.gradcheck(loss, params, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_gradients_reach_every_parameter_in_float32():
    scene = random_scene(50, 2, seed=5, dtype=torch.float32).requires_grad_(True)
    out = render(scene, two_views(dtype=torch.float32), mode="RGB+ED")
    (out.rgb.sum() + out.depth.sum() + out.alpha.sum()).backward()
    for name in ("means", "quats", "scales", "opacities", "sh"):
        grad = getattr(scene, name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_gaussian_at_camera_plane_does_not_poison_gradients():
    scene = GaussianScene.merge([one_gaussian([0.0, 0.0, 0.0]), one_gaussian([0.0, 0.0, 2.0])]).requires_grad_(True)
    out = render(scene, front_camera())
    out.rgb.sum().backward()
    assert torch.isfinite(scene.means.grad).all()


# ----------------------------------------------------------------------------- bad input
def test_bad_arguments_raise_clear_errors():
    scene, cam = one_gaussian([0.0, 0.0, 2.0]), front_camera()
    with pytest.raises(InvalidInputError, match="mode"):
        render(scene, cam, mode="D")
    with pytest.raises(InvalidInputError, match="background"):
        render(scene, cam, background=(1.0, 1.0))
    with pytest.raises(InvalidInputError, match="near"):
        render(scene, cam, near=5.0, far=1.0)
    with pytest.raises(InvalidInputError, match="backend"):
        render(scene, cam, backend="opengl")
    if not torch.cuda.is_available():
        with pytest.raises(LyraSimError, match="CUDA"):
            render(scene, cam, backend="gsplat")
