"""Per-pixel camera rays and their Plücker coordinates.

Lyra conditions its decoder on Plücker rays at full image resolution: pixel centres at
(j + 0.5, i + 0.5), direction ``normalize(R [(x - cx)/fx, (y - cy)/fy, 1])`` and the six
channels ``[o x d, d]`` (moment first). Gaussians are placed along the same unit rays.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lyra_sim.cameras.cameras import Cameras


def pixel_centers(width: int, height: int, device=None, dtype=torch.float32) -> Tensor:
    """[H, W, 2] pixel-centre coordinates (x, y) = (j + 0.5, i + 0.5)."""
    ys = torch.arange(height, device=device, dtype=dtype) + 0.5
    xs = torch.arange(width, device=device, dtype=dtype) + 0.5
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], dim=-1)


def camera_rays(cameras: Cameras) -> tuple[Tensor, Tensor]:
    """World-space rays through every pixel centre.

    Returns:
        origins: [V, H, W, 3] camera centres, broadcast to every pixel.
        directions: [V, H, W, 3] unit directions in world coordinates.
    """
    V, H, W = len(cameras), cameras.height, cameras.width
    pix = pixel_centers(W, H, device=cameras.device, dtype=cameras.c2w.dtype)  # [H, W, 2]
    x = (pix[..., 0] - cameras.cx.view(V, 1, 1)) / cameras.fx.view(V, 1, 1)
    y = (pix[..., 1] - cameras.cy.view(V, 1, 1)) / cameras.fy.view(V, 1, 1)
    dirs_cam = torch.stack([x, y, torch.ones_like(x)], dim=-1)  # [V, H, W, 3]
    dirs = torch.einsum("vij,vhwj->vhwi", cameras.c2w[:, :3, :3], dirs_cam)
    dirs = torch.nn.functional.normalize(dirs, dim=-1)
    origins = cameras.centers.view(V, 1, 1, 3).expand(V, H, W, 3)
    return origins, dirs


def plucker_rays(cameras: Cameras) -> Tensor:
    """Plücker coordinates of every pixel ray, channels first.

    Returns:
        [V, 6, H, W]: channels 0-2 the moment ``o x d``, channels 3-5 the unit direction ``d``.
        The moment is perpendicular to the direction, and its norm is the distance from the
        world origin to the ray, so it changes with the camera position, not just its rotation.
    """
    origins, dirs = camera_rays(cameras)
    moment = torch.linalg.cross(origins, dirs, dim=-1)
    return torch.cat([moment, dirs], dim=-1).permute(0, 3, 1, 2).contiguous()
