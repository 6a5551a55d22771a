"""Real spherical harmonics in the 3DGS convention (degree 0 to 3).

Colour of a Gaussian seen along unit direction ``d`` (from the camera centre to the Gaussian):
``rgb(d) = max(0, sum_k sh[k] * Y_k(d) + 0.5)``, with the basis order and constants of the
INRIA 3DGS code and gsplat. Degree 0 is a view-independent colour: ``rgb = C0 * sh[0] + 0.5``.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

from lyra_sim.gaussians.sh_layout import C0, C1, C2, C3, SH_BASES, num_sh_bases, sh_degree_from_bases  # noqa: F401 (re-exported)


def rgb_to_sh_dc(rgb: Tensor) -> Tensor:
    """DC coefficient that renders as ``rgb`` (same shape); the Lyra and INRIA PLY convention."""
    return (rgb - 0.5) / C0


def sh_dc_to_rgb(dc: Tensor) -> Tensor:
    """Inverse of :func:`rgb_to_sh_dc`; not clamped."""
    return dc * C0 + 0.5


def sh_basis(dirs: Tensor, degree: int) -> Tensor:
    """Evaluate the real SH basis functions.

    Args:
        dirs: [..., 3] unit directions.
        degree: 0..3.

    Returns:
        [..., (degree+1)^2] basis values, in the INRIA/gsplat coefficient order.
    """
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, C0)]
    if degree >= 1:
        out += [-C1 * y, C1 * z, -C1 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        xy, yz, xz = x * y, y * z, x * z
        out += [
            C2[0] * xy,
            C2[1] * yz,
            C2[2] * (2.0 * zz - xx - yy),
            C2[3] * xz,
            C2[4] * (xx - yy),
        ]
    if degree >= 3:
        out += [
            C3[0] * y * (3 * xx - yy),
            C3[1] * xy * z,
            C3[2] * y * (4 * zz - xx - yy),
            C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
            C3[4] * x * (4 * zz - xx - yy),
            C3[5] * z * (xx - yy),
            C3[6] * x * (xx - 3 * yy),
        ]
    return torch.stack(out, dim=-1)


def eval_sh(sh: Tensor, dirs: Tensor) -> Tensor:
    """View-dependent RGB of Gaussians.

    Args:
        sh: [..., K, 3] coefficients, K = (degree+1)^2.
        dirs: [..., 3] viewing directions (camera centre -> Gaussian); normalised here.

    Returns:
        [..., 3] colour, clamped at 0 from below like gsplat (no upper clamp).
    """
    degree = sh_degree_from_bases(sh.shape[-2])
    if degree == 0:
        return torch.clamp_min(sh[..., 0, :] * C0 + 0.5, 0.0)
    basis = sh_basis(torch.nn.functional.normalize(dirs, dim=-1), degree)  # [..., K]
    return torch.clamp_min((basis[..., :, None] * sh).sum(-2) + 0.5, 0.0)


@functools.lru_cache(maxsize=1)
def _fibonacci_directions(n: int = 64) -> Tensor:
    """[n, 3] float64 directions spread evenly over the sphere (fit points for band rotations)."""
    i = torch.arange(n, dtype=torch.float64) + 0.5
    phi = torch.acos(1 - 2 * i / n)
    theta = math.pi * (1 + 5**0.5) * i
    return torch.stack([torch.cos(theta) * torch.sin(phi), torch.sin(theta) * torch.sin(phi), torch.cos(phi)], -1)


def rotate_sh(sh: Tensor, rotation: Tensor) -> Tensor:
    """Rotate SH coefficients so the radiance field turns with the scene.

    If a scene is rotated by ``R`` (points ``p -> R p``), the new colour seen along ``d`` is the
    old colour seen along ``R^T d``. Each band ``l`` transforms by a (2l+1)x(2l+1) matrix that
    we solve for exactly (least squares over 64 directions, float64), so no Wigner-D formulas
    are needed and the result is exact to float precision.

    Args:
        sh: [N, K, 3] coefficients.
        rotation: [3, 3] rotation matrix.

    Returns:
        [N, K, 3] rotated coefficients (DC term unchanged).
    """
    degree = sh_degree_from_bases(sh.shape[-2])
    if degree == 0:
        return sh.clone()
    dirs = _fibonacci_directions()
    rot = rotation.detach().to(torch.float64).cpu()
    basis = sh_basis(dirs, degree)  # [M, K]
    basis_rot = sh_basis(dirs @ rot, degree)  # rows are R^T d
    out = [sh[..., :1, :]]
    for band in range(1, degree + 1):
        lo, hi = band * band, (band + 1) * (band + 1)
        band_mat = torch.linalg.lstsq(basis[:, lo:hi], basis_rot[:, lo:hi]).solution  # D_l^T
        band_mat = band_mat.to(device=sh.device, dtype=sh.dtype)
        out.append(torch.einsum("ij,...jc->...ic", band_mat, sh[..., lo:hi, :]))
    return torch.cat(out, dim=-2)
