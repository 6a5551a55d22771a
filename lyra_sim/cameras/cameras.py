"""`Cameras`: a batch of pinhole cameras in the OpenCV convention.

OpenCV convention: camera x right, y down, z forward; ``c2w`` maps camera to world
coordinates; intrinsics ``K`` are in pixels with the image origin at the top-left corner of the
top-left pixel, so pixel (i, j) has its centre at (j + 0.5, i + 0.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from lyra_sim.errors import InvalidInputError


@dataclass
class Cameras:
    """V pinhole cameras sharing one image size.

    Attributes:
        c2w: [V, 4, 4] camera-to-world rigid transforms (OpenCV axes).
        K: [V, 3, 3] intrinsics in pixels: [[fx, 0, cx], [0, fy, cy], [0, 0, 1]].
        width: image width W in pixels.
        height: image height H in pixels.
    """

    c2w: Tensor
    K: Tensor
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.c2w.ndim == 2:
            self.c2w = self.c2w[None]
        if self.K.ndim == 2:
            self.K = self.K[None].expand(self.c2w.shape[0], *self.K.shape)  # wrong sizes fail the check below
        if self.c2w.ndim != 3 or self.c2w.shape[1:] != (4, 4):
            raise InvalidInputError(f"c2w must be [V, 4, 4], got {list(self.c2w.shape)}")
        if self.K.shape != (self.c2w.shape[0], 3, 3):
            raise InvalidInputError(f"K must be [V, 3, 3] with V={self.c2w.shape[0]}, got {list(self.K.shape)}")
        if self.c2w.device != self.K.device:
            raise InvalidInputError("c2w and K must be on the same device")
        self.width, self.height = int(self.width), int(self.height)
        if self.width <= 0 or self.height <= 0:
            raise InvalidInputError(f"image size must be positive, got {self.width}x{self.height}")
        if not (torch.isfinite(self.c2w).all() and torch.isfinite(self.K).all()):
            raise InvalidInputError("camera matrices contain NaN or inf")
        if (self.K[:, 0, 0] <= 0).any() or (self.K[:, 1, 1] <= 0).any():
            raise InvalidInputError("focal lengths fx, fy must be positive")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_fov(
        cls,
        c2w: Tensor,
        fov_y_degrees: float,
        width: int,
        height: int,
    ) -> "Cameras":
        """Cameras with square pixels, principal point at the image centre and vertical FOV.

        Args:
            c2w: [V, 4, 4] or [4, 4].
            fov_y_degrees: vertical field of view in degrees, in (0, 180).
        """
        if not 0 < fov_y_degrees < 180:
            raise InvalidInputError(f"fov_y_degrees must be in (0, 180), got {fov_y_degrees}")
        c2w = torch.as_tensor(c2w)
        if c2w.ndim == 2:
            c2w = c2w[None]
        f = 0.5 * height / math.tan(math.radians(fov_y_degrees) / 2)
        K = intrinsics_matrix(f, f, width / 2, height / 2, dtype=c2w.dtype, device=c2w.device)
        return cls(c2w, K.expand(c2w.shape[0], 3, 3).clone(), width, height)

    @classmethod
    def cat(cls, cameras: Sequence["Cameras"]) -> "Cameras":
        """Concatenate camera batches of the same image size."""
        if not cameras:
            raise InvalidInputError("cat() needs at least one Cameras")
        sizes = {(c.width, c.height) for c in cameras}
        if len(sizes) != 1:
            raise InvalidInputError(f"cannot concatenate cameras of different image sizes {sorted(sizes)}")
        return cls(torch.cat([c.c2w for c in cameras]), torch.cat([c.K for c in cameras]), *sizes.pop())

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return self.c2w.shape[0]

    def __getitem__(self, index) -> "Cameras":
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return Cameras(self.c2w[index], self.K[index], self.width, self.height)

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "Cameras":
        return Cameras(self.c2w.to(device=device, dtype=dtype), self.K.to(device=device, dtype=dtype), self.width, self.height)

    @property
    def device(self) -> torch.device:
        return self.c2w.device

    @property
    def w2c(self) -> Tensor:
        """[V, 4, 4] world-to-camera ("view") matrices, the rigid inverse of ``c2w``."""
        return rigid_inverse(self.c2w)

    @property
    def centers(self) -> Tensor:
        """[V, 3] camera centres in world coordinates."""
        return self.c2w[:, :3, 3]

    @property
    def fx(self) -> Tensor:
        return self.K[:, 0, 0]

    @property
    def fy(self) -> Tensor:
        return self.K[:, 1, 1]

    @property
    def cx(self) -> Tensor:
        return self.K[:, 0, 2]

    @property
    def cy(self) -> Tensor:
        return self.K[:, 1, 2]

    def resized(self, width: int, height: int) -> "Cameras":
        """Same cameras for an image resampled to ``width x height`` (pixel edges stay aligned).

        Lyra's Gaussian rays use this with a factor 1/8: fx, fy, cx, cy all scale with the size.
        """
        sx, sy = width / self.width, height / self.height
        K = self.K.clone()
        K[:, 0, :] *= sx
        K[:, 1, :] *= sy
        return Cameras(self.c2w, K, width, height)

    def relative_to_first(self) -> "Cameras":
        """Re-express all poses in the first camera's frame (Lyra's scene frame): c2w[0] becomes I."""
        return Cameras(rigid_inverse(self.c2w[:1]) @ self.c2w, self.K, self.width, self.height)


def intrinsics_matrix(fx: float, fy: float, cx: float, cy: float, **tensor_kwargs) -> Tensor:
    """[3, 3] pinhole intrinsics."""
    return torch.tensor([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], **tensor_kwargs)


def rigid_inverse(transforms: Tensor) -> Tensor:
    """Inverse of rigid 4x4 transforms ``[..., 4, 4]`` via ``R^T, -R^T t`` (exact, no LU)."""
    rot = transforms[..., :3, :3]
    trans = transforms[..., :3, 3:]
    out = torch.zeros_like(transforms)
    out[..., :3, :3] = rot.transpose(-1, -2)
    out[..., :3, 3:] = -rot.transpose(-1, -2) @ trans
    out[..., 3, 3] = 1.0
    return out


def look_at(eye: Tensor, target: Tensor, down: Sequence[float] = (0.0, 1.0, 0.0)) -> Tensor:
    """OpenCV camera-to-world pose at ``eye`` looking at ``target``.

    Args:
        eye: [..., 3] camera centres.
        target: [..., 3] points to look at.
        down: world direction that should appear downwards in the image (image +y). For the
            OpenCV first-camera frame of a generated scene this is +y, for a Z-up world (0,0,-1).

    Returns:
        [..., 4, 4] c2w whose columns are (right, down, forward, eye).
    """
    eye, target = torch.broadcast_tensors(eye, target)
    forward = torch.nn.functional.normalize(target - eye, dim=-1)
    down_t = torch.as_tensor(down, dtype=eye.dtype, device=eye.device).expand_as(forward)
    right = torch.linalg.cross(down_t, forward)
    if (right.norm(dim=-1) < 1e-8).any():
        raise InvalidInputError("look_at: viewing direction is parallel to the 'down' vector")
    right = torch.nn.functional.normalize(right, dim=-1)
    cam_down = torch.linalg.cross(forward, right)
    c2w = torch.zeros(eye.shape[:-1] + (4, 4), dtype=eye.dtype, device=eye.device)
    c2w[..., :3, 0] = right
    c2w[..., :3, 1] = cam_down
    c2w[..., :3, 2] = forward
    c2w[..., :3, 3] = eye
    c2w[..., 3, 3] = 1.0
    return c2w
