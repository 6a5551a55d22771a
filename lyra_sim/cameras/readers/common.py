"""What the capture-camera readers share: the error, the file check, the assumed intrinsics."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from lyra_sim.cameras.cameras import Cameras, intrinsics_matrix
from lyra_sim.errors import InvalidInputError

FORMATS = "nerfstudio transforms.json, COLMAP images.txt/cameras.txt (or their folder), or a Lyra pose .npz"
MAX_BYTES = 512 << 20
"""Camera files larger than this are refused before they are read (512 MiB: millions of poses)."""


class CameraFileError(InvalidInputError):
    """A camera-pose file that cannot be read: the message names the file and what is wrong."""

    def __init__(self, path: str | Path, problem: str):
        self.path, self.problem = Path(path), problem
        super().__init__(f"{path}: {problem}")


def check_file(path: str | Path) -> Path:
    """``path`` as a Path; CameraFileError when it is not a readable file of sane size."""
    path = Path(path)
    if not path.is_file():
        raise CameraFileError(path, f"camera file not found; --cameras takes {FORMATS}")
    if path.stat().st_size > MAX_BYTES:
        raise CameraFileError(path, f"{path.stat().st_size} bytes is too large for a camera-pose file")
    return path


def assumed_intrinsics(width: int = 640, height: int = 480, fov_y_degrees: float = 60.0) -> torch.Tensor:
    """[3, 3] K of a centred pinhole with ``fov_y_degrees``, for poses given without intrinsics."""
    f = 0.5 * height / math.tan(math.radians(fov_y_degrees) / 2)
    return intrinsics_matrix(f, f, width / 2, height / 2, dtype=torch.float64)


def to_cameras(path: Path, c2w: np.ndarray, K: np.ndarray, sizes: np.ndarray) -> Cameras:
    """:class:`Cameras` of [N, 4, 4] OpenCV c2w, [N, 3, 3] K and [N, 2] (width, height): every
    camera's K rescaled to the first one's image size (one size per batch)."""
    if len(c2w) == 0:
        raise CameraFileError(path, "holds no camera poses")
    if not (np.isfinite(c2w).all() and np.isfinite(K).all()):
        raise CameraFileError(path, "a pose or intrinsic is NaN or infinite")
    rot = c2w[:, :3, :3]
    if not np.allclose(rot.transpose(0, 2, 1) @ rot, np.eye(3), atol=1e-3) or (np.linalg.det(rot) <= 0).any():
        bad = int(np.argmax(np.abs(rot.transpose(0, 2, 1) @ rot - np.eye(3)).max(axis=(1, 2)) + (np.linalg.det(rot) <= 0)))
        raise CameraFileError(path, f"pose {bad} is not a rotation (orthonormal, determinant +1)")
    w, h = (int(v) for v in sizes[0])
    if w <= 0 or h <= 0 or (sizes <= 0).any():
        raise CameraFileError(path, "an image size is not positive")
    K = K.copy()
    K[:, 0] *= (w / sizes[:, 0])[:, None]
    K[:, 1] *= (h / sizes[:, 1])[:, None]
    if (K[:, 0, 0] <= 0).any() or (K[:, 1, 1] <= 0).any():
        raise CameraFileError(path, "a focal length is not positive")
    return Cameras(torch.from_numpy(c2w).float(), torch.from_numpy(K).float(), w, h)
