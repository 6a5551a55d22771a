"""Quaternion helpers: (w, x, y, z) convention, rotation matrices and their inverse."""

import math

import pytest
import torch

from lyra_sim.gaussians.quaternions import quat_multiply, quat_to_rotmat, rotmat_to_quat


def _random_quats(n, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, 4, generator=g, dtype=dtype), dim=-1)


def _axis_angle_rotmat(axis, angle):
    """Rodrigues' formula, independent of the code under test."""
    k = torch.nn.functional.normalize(torch.as_tensor(axis, dtype=torch.float64), dim=0)
    kx = torch.tensor([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]], dtype=torch.float64)
    return torch.eye(3, dtype=torch.float64) + math.sin(angle) * kx + (1 - math.cos(angle)) * kx @ kx


def test_identity_quaternion_is_identity_matrix():
    assert torch.equal(quat_to_rotmat(torch.tensor([1.0, 0, 0, 0])), torch.eye(3))


def test_known_rotation_90_about_z():
    # q = (cos 45, 0, 0, sin 45) rotates x -> y
    q = torch.tensor([math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)], dtype=torch.float64)
    r = quat_to_rotmat(q)
    torch.testing.assert_close(r @ torch.tensor([1.0, 0, 0], dtype=torch.float64), torch.tensor([0.0, 1, 0], dtype=torch.float64))
    torch.testing.assert_close(r, _axis_angle_rotmat([0, 0, 1], math.pi / 2))


def test_quat_to_rotmat_is_orthonormal_with_det_one():
    q = _random_quats(500)
    r = quat_to_rotmat(q)
    eye = torch.eye(3, dtype=torch.float64).expand(500, 3, 3)
    torch.testing.assert_close(r @ r.transpose(-1, -2), eye, atol=1e-12, rtol=0)
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(500, dtype=torch.float64), atol=1e-12, rtol=0)


def test_quat_to_rotmat_normalises_input():
    q = _random_quats(10)
    torch.testing.assert_close(quat_to_rotmat(3.7 * q), quat_to_rotmat(q))


def test_quat_to_rotmat_keeps_batch_shape_and_dtype():
    q = _random_quats(6, dtype=torch.float32).reshape(2, 3, 4)
    r = quat_to_rotmat(q)
    assert r.shape == (2, 3, 3, 3) and r.dtype == torch.float32


def test_rotmat_to_quat_inverts_random_rotations():
    q = _random_quats(1000, seed=1)
    q = torch.where(q[:, :1] < 0, -q, q)  # canonical sign: w >= 0
    q_back = rotmat_to_quat(quat_to_rotmat(q))
    torch.testing.assert_close(q_back, q, atol=1e-12, rtol=0)
    assert (q_back[:, 0] >= 0).all()


@pytest.mark.parametrize("axis", [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, -1, 1]])
def test_rotmat_to_quat_180_degree_rotations(axis):
    r = _axis_angle_rotmat(axis, math.pi)
    q = rotmat_to_quat(r)
    assert abs(float(q.norm()) - 1) < 1e-12
    assert abs(float(q[0])) < 1e-12  # w = cos(90 deg) = 0
    k = torch.nn.functional.normalize(torch.tensor(axis, dtype=torch.float64), dim=0)
    # the vector part is +-axis
    assert min(float((q[1:] - k).norm()), float((q[1:] + k).norm())) < 1e-12
    torch.testing.assert_close(quat_to_rotmat(q), r, atol=1e-12, rtol=0)


@pytest.mark.parametrize("angle", [math.pi - 1e-7, math.pi / 2, 1e-7, 0.0])
def test_rotmat_to_quat_near_singular_angles(angle):
    for axis in ([1, 0, 0], [0, 1, 0], [0, 0, 1], [0.3, -0.5, 0.8]):
        r = _axis_angle_rotmat(axis, angle)
        torch.testing.assert_close(quat_to_rotmat(rotmat_to_quat(r)), r, atol=1e-12, rtol=0)


def test_quat_multiply_matches_matrix_product():
    q1, q2 = _random_quats(200, seed=2), _random_quats(200, seed=3)
    torch.testing.assert_close(
        quat_to_rotmat(quat_multiply(q1, q2)), quat_to_rotmat(q1) @ quat_to_rotmat(q2), atol=1e-12, rtol=0
    )


def test_quat_multiply_identity_inverse_and_broadcast():
    q = _random_quats(5, seed=4)
    ident = torch.tensor([1.0, 0, 0, 0], dtype=torch.float64)
    torch.testing.assert_close(quat_multiply(ident, q), q)  # broadcast [4] against [5, 4]
    torch.testing.assert_close(quat_multiply(q, ident), q)
    conj = q * torch.tensor([1.0, -1, -1, -1], dtype=torch.float64)
    torch.testing.assert_close(quat_multiply(q, conj), ident.expand(5, 4), atol=1e-12, rtol=0)


def test_quat_multiply_is_not_commutative():
    i = torch.tensor([0.0, 1, 0, 0])
    j = torch.tensor([0.0, 0, 1, 0])
    assert torch.equal(quat_multiply(i, j), torch.tensor([0.0, 0, 0, 1]))  # i j = k
    assert torch.equal(quat_multiply(j, i), torch.tensor([0.0, 0, 0, -1]))  # j i = -k
