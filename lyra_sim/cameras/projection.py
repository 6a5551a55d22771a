"""Projection of world points into a camera's pixel grid (the inverse of unprojecting depth)."""

from __future__ import annotations

import torch
from torch import Tensor


def project_to_pixels(points: Tensor, w2c: Tensor, K: Tensor, width: int, height: int) -> tuple[Tensor, Tensor, Tensor]:
    """Which of ``points`` [P, 3] one camera (``w2c`` [4, 4], ``K`` [3, 3]) sees in its image.

    Returns:
        (idx [n]: indices of the points in front of the camera and inside the image, lin [n]:
        their pixel's row-major index, z [P]: every point's camera depth).
    """
    pc = torch.addmm(w2c[:3, 3], points, w2c[:3, :3].T)
    z = pc[:, 2]
    zc = z.clamp(min=1e-4)
    u = (K[0, 0] * pc[:, 0] / zc + K[0, 2]).floor()
    r = (K[1, 1] * pc[:, 1] / zc + K[1, 2]).floor()
    idx = ((z > 1e-4) & (u >= 0) & (u < width) & (r >= 0) & (r < height)).nonzero().squeeze(1)
    return idx, (r[idx] * width + u[idx]).long(), z
