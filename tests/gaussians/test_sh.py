"""Real spherical harmonics (3DGS convention): basis, evaluation, DC conversions, rotation."""

import math

import numpy as np
import pytest
import torch

from lyra_sim.gaussians.quaternions import quat_to_rotmat
from lyra_sim.gaussians.sh import (
    C0,
    eval_sh,
    num_sh_bases,
    rgb_to_sh_dc,
    rotate_sh,
    sh_basis,
    sh_dc_to_rgb,
    sh_degree_from_bases,
)


def _sphere_quadrature(n_theta=12, n_phi=24):
    """Gauss-Legendre in cos(theta) x uniform in phi: exact for polynomials of degree <= 2*n_theta-1."""
    nodes, weights = np.polynomial.legendre.leggauss(n_theta)
    z = torch.tensor(nodes, dtype=torch.float64)
    w = torch.tensor(weights, dtype=torch.float64) * (2 * math.pi / n_phi)
    phi = torch.arange(n_phi, dtype=torch.float64) * (2 * math.pi / n_phi)
    zz, pp = torch.meshgrid(z, phi, indexing="ij")
    r = torch.sqrt(1 - zz**2)
    dirs = torch.stack([r * torch.cos(pp), r * torch.sin(pp), zz], -1).reshape(-1, 3)
    return dirs, w[:, None].expand(n_theta, n_phi).reshape(-1)


def _random_dirs(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, 3, generator=g, dtype=torch.float64), dim=-1)


def _random_rotation(seed):
    g = torch.Generator().manual_seed(seed)
    return quat_to_rotmat(torch.randn(4, generator=g, dtype=torch.float64))


def test_quadrature_integrates_sphere_area():
    _, w = _sphere_quadrature()
    assert abs(float(w.sum()) - 4 * math.pi) < 1e-12


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_sh_basis_is_orthonormal_on_the_sphere(degree):
    dirs, w = _sphere_quadrature()
    y = sh_basis(dirs, degree)  # [M, K]
    assert y.shape == (len(dirs), (degree + 1) ** 2)
    gram = (y * w[:, None]).T @ y
    torch.testing.assert_close(gram, torch.eye(y.shape[1], dtype=torch.float64), atol=1e-12, rtol=0)


def test_sh_basis_orthonormal_monte_carlo():
    # independent check with uniform random directions: E[Y_i Y_j] * 4 pi = delta_ij
    dirs = _random_dirs(200_000, seed=5)
    y = sh_basis(dirs, 3)
    gram = 4 * math.pi * (y.T @ y) / len(dirs)
    assert float((gram - torch.eye(16, dtype=torch.float64)).abs().max()) < 0.05


def test_sh_basis_degree_1_values():
    # the 3DGS order is (-C1 y, C1 z, -C1 x)
    d = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    c1 = 0.4886025119029199
    expected = torch.tensor([[C0, 0, c1, 0], [C0, 0, 0, -c1], [C0, -c1, 0, 0]], dtype=torch.float64)
    torch.testing.assert_close(sh_basis(d, 1), expected)


def test_sh_basis_lower_degree_is_a_prefix():
    d = _random_dirs(50)
    torch.testing.assert_close(sh_basis(d, 3)[:, :9], sh_basis(d, 2))
    torch.testing.assert_close(sh_basis(d, 2)[:, :4], sh_basis(d, 1))


def test_eval_sh_degree_0_is_dc_colour_clamped_at_zero():
    dc = torch.tensor([[[2.0, 0.0, -1.0]], [[-5.0, 1.0, 0.3]]])  # [2, 1, 3]
    dirs = torch.randn(2, 3)
    out = eval_sh(dc, dirs)
    expected = torch.clamp_min(C0 * dc[:, 0] + 0.5, 0.0)
    torch.testing.assert_close(out, expected)
    assert out[1, 0] == 0.0  # C0 * -5 + 0.5 < 0 -> clamped
    big = eval_sh(torch.full((1, 1, 3), 10.0), dirs[:1])
    assert float(big.min()) > 1.0  # no upper clamp


def test_eval_sh_matches_basis_sum_and_normalises_dirs():
    g = torch.Generator().manual_seed(0)
    sh = 0.3 * torch.randn(20, 16, 3, generator=g, dtype=torch.float64)
    d = _random_dirs(20, seed=1)
    expected = torch.clamp_min(torch.einsum("nk,nkc->nc", sh_basis(d, 3), sh) + 0.5, 0.0)
    torch.testing.assert_close(eval_sh(sh, d), expected)
    torch.testing.assert_close(eval_sh(sh, 4.2 * d), expected)  # directions need not be unit


def test_rgb_dc_round_trip():
    rgb = torch.rand(100, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    dc = rgb_to_sh_dc(rgb)
    torch.testing.assert_close(dc, (rgb - 0.5) / C0)
    torch.testing.assert_close(sh_dc_to_rgb(dc), rgb)
    torch.testing.assert_close(rgb_to_sh_dc(sh_dc_to_rgb(dc)), dc)
    # a degree-0 SH built from rgb renders as rgb
    torch.testing.assert_close(eval_sh(dc[:, None, :], torch.randn(100, 3, dtype=torch.float64)), rgb)


def test_sh_dc_to_rgb_is_not_clamped():
    assert float(sh_dc_to_rgb(torch.tensor(-10.0))) < 0
    assert float(sh_dc_to_rgb(torch.tensor(10.0))) > 1


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_rotate_sh_preserves_view_dependent_colour(degree):
    k = num_sh_bases(degree)
    g = torch.Generator().manual_seed(degree)
    sh = 0.5 * torch.randn(30, k, 3, generator=g, dtype=torch.float64)
    sh[:, 0] += 2.0  # keep colours away from the clamp at 0 so the comparison is strict
    rot = _random_rotation(10 + degree)
    new = rotate_sh(sh, rot)
    assert new.shape == sh.shape
    torch.testing.assert_close(new[:, 0], sh[:, 0], atol=0, rtol=0)  # DC untouched
    d = _random_dirs(30, seed=20 + degree)
    # the rotated field seen along R d equals the old field along d
    torch.testing.assert_close(eval_sh(new, d @ rot.T), eval_sh(sh, d), atol=1e-10, rtol=0)
    # and it actually changed the coefficients (non-trivial rotation)
    assert float((new[:, 1:] - sh[:, 1:]).abs().max()) > 1e-3


def test_rotate_sh_band_by_band():
    # a pure band-l field stays in band l, and rotating by R then R^T is the identity
    rot = _random_rotation(7)
    sh = torch.zeros(1, 16, 3, dtype=torch.float64)
    sh[0, 4:9] = torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    new = rotate_sh(sh, rot)
    assert float(new[0, 1:4].abs().max()) < 1e-12 and float(new[0, 9:].abs().max()) < 1e-12
    torch.testing.assert_close(rotate_sh(new, rot.T), sh, atol=1e-12, rtol=0)


def test_rotate_sh_float32_and_degree_0():
    rot = _random_rotation(3)
    sh32 = torch.randn(4, 9, 3)
    out = rotate_sh(sh32, rot)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, rotate_sh(sh32.double(), rot).float(), atol=1e-6, rtol=0)
    dc = torch.randn(4, 1, 3)
    out0 = rotate_sh(dc, rot)
    assert torch.equal(out0, dc) and out0.data_ptr() != dc.data_ptr()


def test_rotate_sh_identity_is_noop():
    sh = torch.randn(5, 16, 3, dtype=torch.float64)
    torch.testing.assert_close(rotate_sh(sh, torch.eye(3, dtype=torch.float64)), sh, atol=1e-12, rtol=0)


def test_num_sh_bases_and_inverse():
    assert [num_sh_bases(d) for d in range(4)] == [1, 4, 9, 16]
    assert [sh_degree_from_bases(k) for k in (1, 4, 9, 16)] == [0, 1, 2, 3]
    for bad in (-1, 4):
        with pytest.raises(ValueError):
            num_sh_bases(bad)
    for bad in (0, 2, 3, 5, 15, 25):
        with pytest.raises(ValueError):
            sh_degree_from_bases(bad)


def test_eval_sh_rejects_bad_coefficient_count():
    with pytest.raises(ValueError):
        eval_sh(torch.zeros(2, 5, 3), torch.ones(2, 3))
