"""Lyra's camera-pose ``.npz`` files.

Two layouts, told apart by their arrays:

- Lyra's dataset ``pose/<key>.npz``: ``data`` [N, 4, 4] **camera-to-world**, **OpenCV** axes
  (x right, y down, z forward), ``inds`` [N] frame indices. Lyra's decoder puts its Gaussians
  in the first camera's frame (its loader left-multiplies every c2w by ``inv(c2w[0])``), so the
  poses are made relative to the first one the same way (``relative=False`` keeps them as
  stored). Intrinsics live in the sibling ``intrinsics/<key>.npz`` (``data`` [N, 4] fx, fy,
  cx, cy in pixels at 1280 x 704); without it the cameras get a assumed 60 degree pinhole
  of that size.
- Lyra-2's custom trajectory ``trajectory.npz``: ``w2c`` [N, 4, 4] **world-to-camera**, OpenCV,
  with ``intrinsics`` [N, 3, 3], ``image_height``, ``image_width``
  (read by :func:`lyra_sim.cameras.load_trajectory_npz`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from lyra_sim.cameras.cameras import Cameras
from lyra_sim.cameras.readers.common import CameraFileError, check_file, assumed_intrinsics, to_cameras

LYRA_SIZE = (1280, 704)
"""Lyra's frame size (width, height), which its intrinsics npz refers to."""


def read_lyra_pose_npz(path: str | Path, relative: bool = True) -> Cameras:
    """The cameras of a Lyra pose npz (either layout of the module docstring).

    Args:
        relative: dataset layout: express the poses in the first camera's frame, as Lyra's
            decoder does (its Gaussians are in that frame).

    Raises:
        CameraFileError: not an npz, neither ``data`` nor ``w2c``, wrong shapes, not poses.
    """
    path = check_file(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            if "w2c" in names:
                from lyra_sim.cameras.trajectories import load_trajectory_npz
                from lyra_sim.errors import LyraSimError

                try:
                    return load_trajectory_npz(path)
                except LyraSimError as err:
                    raise CameraFileError(path, str(err).removeprefix(f"{path}: ")) from None
            if "data" not in names:
                raise CameraFileError(path, f"holds {sorted(names)}; a Lyra pose npz holds 'data' (c2w) and 'inds', "
                                      "or 'w2c' (Lyra-2 trajectory)")
            c2w = np.asarray(npz["data"], dtype=np.float64)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise CameraFileError(path, f"not a readable .npz ({err})") from None
    if c2w.ndim != 3 or c2w.shape[1:] != (4, 4):
        raise CameraFileError(path, f"'data' must be [N, 4, 4] camera-to-world matrices, got {list(c2w.shape)}")
    if relative and len(c2w) and np.isfinite(c2w[0]).all() and abs(np.linalg.det(c2w[0])) > 1e-12:
        c2w = np.linalg.inv(c2w[0]) @ c2w
    K, sizes = _sibling_intrinsics(path, len(c2w))
    return to_cameras(path, c2w, K, sizes)


def _sibling_intrinsics(path: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """K [N, 3, 3] and sizes [N, 2] from ``../intrinsics/<same name>`` (an assumed pinhole without it)."""
    sizes = np.tile(np.asarray(LYRA_SIZE, np.float64), (n, 1))
    other = path.parent.parent / "intrinsics" / path.name
    if path.parent.name == "pose" and other.is_file():
        try:
            with np.load(other, allow_pickle=False) as npz:
                data = np.asarray(npz["data"], dtype=np.float64)
            if data.shape == (n, 4):
                K = np.zeros((n, 3, 3))
                K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = *data.T, 1.0
                return K, sizes
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile):
            pass
    return np.broadcast_to(assumed_intrinsics(*LYRA_SIZE).numpy(), (n, 3, 3)).copy(), sizes
