"""nerfstudio / instant-ngp ``transforms.json``.

Convention: each frame's ``transform_matrix`` is a 4x4 **camera-to-world** matrix with
**OpenGL** camera axes (x right, y up, z backwards: the camera looks along -z), in the world
frame of the file. It becomes OpenCV (x right, y down, z forward) by negating the camera's y and
z columns. Intrinsics ``fl_x``, ``fl_y``, ``cx``, ``cy``, ``w``, ``h`` in pixels, per frame or
at the top level; a file with only ``camera_angle_x`` (the NeRF synthetic layout) gets a
centred pinhole with that horizontal field of view.

``ns-process-data`` writes its poses in a permuted COLMAP world and records that permutation as
``applied_transform``; the poses are used as they are in the file, so they must share the
splat's frame (true for a splat trained by nerfstudio from this file).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from lyra_sim.cameras.cameras import Cameras
from lyra_sim.cameras.readers.common import CameraFileError, check_file, to_cameras

OPENGL_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])
"""Right-multiplied onto an OpenGL c2w it gives the OpenCV c2w of the same camera."""


def read_transforms_json(path: str | Path) -> Cameras:
    """The cameras of a nerfstudio ``transforms.json`` (see the module docstring).

    Returns:
        N :class:`Cameras` (OpenCV c2w in the file's world frame) at the first frame's size.

    Raises:
        CameraFileError: not JSON, no ``frames``, a matrix that is not 4x4 numbers or not a pose.
    """
    path = check_file(path)
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CameraFileError(path, f"not a JSON file ({err}); expected a nerfstudio transforms.json") from None
    frames = data.get("frames") if isinstance(data, dict) else None
    if not isinstance(frames, list) or not frames:
        raise CameraFileError(path, "has no 'frames' list; expected a nerfstudio transforms.json")
    c2w, K, sizes = [], [], []
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict) or "transform_matrix" not in frame:
            raise CameraFileError(path, f"frame {i} has no transform_matrix")
        try:
            m = np.asarray(frame["transform_matrix"], dtype=np.float64)
        except (TypeError, ValueError):
            raise CameraFileError(path, f"frame {i}: transform_matrix is not a matrix of numbers") from None
        if m.shape == (3, 4):
            m = np.vstack([m, [0.0, 0.0, 0.0, 1.0]])
        if m.shape != (4, 4):
            raise CameraFileError(path, f"frame {i}: transform_matrix must be 4x4, got shape {list(m.shape)}")
        c2w.append(m @ OPENGL_TO_OPENCV)
        fx, fy, cx, cy, w, h = _intrinsics(path, data, frame, i)
        K.append([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        sizes.append([w, h])
    return to_cameras(path, np.stack(c2w), np.asarray(K, np.float64), np.asarray(sizes, np.float64))


def _intrinsics(path: Path, data: dict, frame: dict, i: int) -> tuple[float, ...]:
    def get(key: str, default=None):
        value = frame.get(key, data.get(key, default))
        if value is None:
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise CameraFileError(path, f"frame {i}: {key} is not a number") from None

    w, h = get("w"), get("h")
    fx, fy = get("fl_x"), get("fl_y")
    if fx is None:
        angle = get("camera_angle_x")
        if angle is None:
            raise CameraFileError(path, f"frame {i} has no focal length (fl_x or camera_angle_x)")
        w = w or 800.0
        fx = 0.5 * w / math.tan(angle / 2)
    fy = fx if fy is None else fy
    w = w or 2 * (get("cx") or 400.0)
    h = h or 2 * (get("cy") or w * 3 / 8)
    return fx, fy, get("cx", w / 2), get("cy", h / 2), w, h
