"""Unit-quaternion helpers in the 3DGS convention: ``(w, x, y, z)``, scalar first.

All functions work on any leading batch shape and keep the input's device and dtype.
"""

from __future__ import annotations

import torch
from torch import Tensor


def quat_multiply(q1: Tensor, q2: Tensor) -> Tensor:
    """Hamilton product ``q1 * q2`` (apply ``q2`` first, then ``q1``).

    Args:
        q1: [..., 4] (w, x, y, z).
        q2: [..., 4] (w, x, y, z), broadcastable against ``q1``.

    Returns:
        [..., 4] product.
    """
    w1, x1, y1, z1 = q1.unbind(-1)
    w2, x2, y2, z2 = q2.unbind(-1)
    return torch.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        dim=-1,
    )


def quat_to_rotmat(quats: Tensor) -> Tensor:
    """Rotation matrices from quaternions (normalised first, so any non-zero length works).

    Args:
        quats: [..., 4] (w, x, y, z).

    Returns:
        [..., 3, 3] rotation matrices.
    """
    q = torch.nn.functional.normalize(quats, dim=-1)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(q.shape[:-1] + (3, 3))


def rotmat_to_quat(rotmats: Tensor) -> Tensor:
    """Quaternions (w >= 0) from rotation matrices, numerically stable for every rotation.

    Args:
        rotmats: [..., 3, 3] proper rotation matrices.

    Returns:
        [..., 4] unit quaternions (w, x, y, z) with non-negative w.
    """
    m = rotmats
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # Four candidate solutions, each well conditioned when its own component is largest.
    candidates = torch.stack(
        [
            torch.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], -1),
            torch.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], -1),
            torch.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], -1),
            torch.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], -1),
        ],
        dim=-2,
    )  # [..., 4 candidates, 4]
    diag = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    best = diag.argmax(dim=-1, keepdim=True)
    q = torch.gather(candidates, -2, best[..., None].expand(best.shape[:-1] + (1, 4))).squeeze(-2)
    q = torch.nn.functional.normalize(q, dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)
