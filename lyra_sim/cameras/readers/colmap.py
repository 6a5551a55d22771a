"""COLMAP's text model: ``images.txt`` (poses) and ``cameras.txt`` (intrinsics).

Convention: ``images.txt`` holds, per image, a line ``IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID
NAME`` followed by one line of 2D points (possibly empty). The quaternion (Hamilton, w first)
and translation are **world-to-camera** with **OpenCV** camera axes (x right, y down, z
forward): ``x_cam = R(q) x_world + t``, so the camera centre is ``-R^T t``. ``cameras.txt``
holds ``CAMERA_ID MODEL WIDTH HEIGHT PARAMS...``; the pinhole part (fx, fy, cx, cy) of every
model is read and distortion is ignored. Without ``cameras.txt`` the cameras get a 60 degree
assumed pinhole (the poses are what orientation needs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lyra_sim.cameras.cameras import Cameras
from lyra_sim.cameras.readers.common import CameraFileError, check_file, assumed_intrinsics, to_cameras

_FOCAL_LAYOUT = {  # model -> indices of (fx, fy, cx, cy) in PARAMS (fy = fx for the one-focal models)
    "SIMPLE_PINHOLE": (0, 0, 1, 2), "SIMPLE_RADIAL": (0, 0, 1, 2), "RADIAL": (0, 0, 1, 2),
    "SIMPLE_RADIAL_FISHEYE": (0, 0, 1, 2), "RADIAL_FISHEYE": (0, 0, 1, 2), "FOV": (0, 1, 2, 3),
    "PINHOLE": (0, 1, 2, 3), "OPENCV": (0, 1, 2, 3), "OPENCV_FISHEYE": (0, 1, 2, 3),
    "FULL_OPENCV": (0, 1, 2, 3), "THIN_PRISM_FISHEYE": (0, 1, 2, 3), "RAD_TAN_THIN_PRISM_FISHEYE": (0, 1, 2, 3),
}


def find_colmap_text(folder: str | Path) -> Path:
    """``images.txt`` in ``folder`` or the usual ``sparse/0`` / ``sparse`` below it."""
    folder = Path(folder)
    for sub in ("", "sparse/0", "sparse", "colmap/sparse/0"):
        if (folder / sub / "images.txt").is_file():
            return folder / sub / "images.txt"
    if any((folder / sub / "images.bin").is_file() for sub in ("", "sparse/0", "sparse")):
        raise CameraFileError(folder, "holds a binary COLMAP model; write it as text first "
                              "(colmap model_converter --output_type TXT)")
    raise CameraFileError(folder, "has no COLMAP images.txt (nor sparse/0/images.txt)")


def quat_to_rotation(q: np.ndarray) -> np.ndarray:
    """[N, 3, 3] rotations of [N, 4] (w, x, y, z) quaternions (normalised here)."""
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], 1)


def read_cameras_txt(path: str | Path) -> dict[int, tuple[np.ndarray, tuple[float, float]]]:
    """CAMERA_ID -> ([3, 3] K, (width, height)) of a COLMAP ``cameras.txt``."""
    path = check_file(path)
    cams = {}
    for lineno, line in enumerate(_lines(path), 1):
        words = line.split()
        try:
            cam_id, model, w, h = int(words[0]), words[1].upper(), float(words[2]), float(words[3])
            params = [float(v) for v in words[4:]]
        except (IndexError, ValueError):
            raise CameraFileError(path, f"line {lineno} is not 'CAMERA_ID MODEL WIDTH HEIGHT PARAMS...'") from None
        layout = _FOCAL_LAYOUT.get(model)
        if layout is None:
            raise CameraFileError(path, f"line {lineno}: unknown camera model {model!r}")
        if len(params) <= max(layout):
            raise CameraFileError(path, f"line {lineno}: {model} needs more than {len(params)} parameters")
        fx, fy, cx, cy = (params[i] for i in layout)
        cams[cam_id] = (np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], np.float64), (w, h))
    return cams


def read_colmap_text(images: str | Path, cameras: str | Path | None = None) -> Cameras:
    """The cameras of COLMAP's ``images.txt`` (+ ``cameras.txt``), sorted by IMAGE_ID.

    Returns:
        N :class:`Cameras`: OpenCV c2w in COLMAP's world frame, at the first camera's size.

    Raises:
        CameraFileError: a line that is not a pose, an unknown CAMERA_ID, no poses.
    """
    images = check_file(images)
    intrinsics = read_cameras_txt(cameras) if cameras is not None else None
    rows = []
    lines = _lines(images, keep_empty=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        words = line.split()
        try:
            image_id, q, t, cam_id = int(words[0]), [float(v) for v in words[1:5]], [float(v) for v in words[5:8]], int(words[8])
        except (IndexError, ValueError):
            raise CameraFileError(images, f"pose line '{line[:60]}' is not 'IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME'") from None
        rows.append((image_id, q, t, cam_id))
        i += 1  # the 2D points line that follows every pose line
    if not rows:
        raise CameraFileError(images, "holds no image poses")
    rows.sort(key=lambda r: r[0])
    q = np.array([r[1] for r in rows], np.float64)
    if not (np.isfinite(q).all() and (np.linalg.norm(q, axis=1) > 1e-12).all()):
        raise CameraFileError(images, "a quaternion is zero, NaN or infinite")
    rot = quat_to_rotation(q)
    t = np.array([r[2] for r in rows], np.float64)
    c2w = np.tile(np.eye(4), (len(rows), 1, 1))
    c2w[:, :3, :3] = rot.transpose(0, 2, 1)
    c2w[:, :3, 3] = -np.einsum("nji,nj->ni", rot, t)
    if intrinsics is None:
        K = np.broadcast_to(assumed_intrinsics().numpy(), (len(rows), 3, 3))
        sizes = np.tile([640.0, 480.0], (len(rows), 1))
    else:
        missing = sorted({r[3] for r in rows} - set(intrinsics))
        if missing:
            raise CameraFileError(images, f"images use CAMERA_ID {missing[:5]} that {cameras} does not define")
        K = np.stack([intrinsics[r[3]][0] for r in rows])
        sizes = np.array([intrinsics[r[3]][1] for r in rows], np.float64)
    return to_cameras(images, c2w, np.asarray(K, np.float64), sizes)


def _lines(path: Path, keep_empty: bool = False) -> list[str]:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise CameraFileError(path, "is not a text file; COLMAP's text model is images.txt/cameras.txt") from None
    return [ln for ln in text.splitlines() if not ln.lstrip().startswith("#") and (keep_empty or ln.strip())]
