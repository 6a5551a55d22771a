"""Camera trajectories: Lyra's six, an orbit for previews, and custom ``.npz`` files.

Lyra's teacher renders every input image along six trajectories (GEN3C's
``demo_multi_trajectory``; numbers in ``shared/reference/lyra-facts.md`` §4.2). All of them
start at the input camera, keep its intrinsics, and look at the point ``(0, 0, center_depth)``
of the input camera's frame while moving:

====  =========  =================  ================================================
idx   name       distance range     motion (input-camera axes, OpenCV: x right, y down)
====  =========  =================  ================================================
0     left       0.2-0.3            camera at ``-x * i * d * c / N``
1     right      0.2-0.3            camera at ``+x * i * d * c / N``
2     up         0.1-0.2            camera at ``-y * i * d * c / N``
3     zoom_out   0.3-0.4            camera at ``-z * i * d * c / N``
4     zoom_in    0.3-0.4            camera at ``+z * i * d * c / N``
5     clockwise  0.4-0.6            spiral ``x = 0.15 d c (cos t - 1)``, ``y = 0.10 d c sin t``,
                                    ``t`` from 0 to 4 pi (two circles)
====  =========  =================  ================================================

``d`` is drawn uniformly from the range and multiplied by the movement factor (GEN3C's
``--total_movement_distance_factor``), ``c`` is the centre depth (1.0 in Lyra, whose scenes are
MoGe-scaled), ``i = 0..N-1``. One difference from GEN3C, on purpose: GEN3C's look-at matrix
stores ``-eye`` as the translation of a rotated camera, which displaces the camera slightly
from where the formula says; here each camera sits exactly on the path (a proper rigid pose).
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from lyra_sim.cameras.cameras import Cameras, look_at, rigid_inverse
from lyra_sim.errors import TrajectoryError
from lyra_sim.io.archive import check_zip_file
from lyra_sim.cameras.trajectory_names import (  # noqa: F401 (re-exported)
    _LINEAR_AXES,
    LYRA_TRAJECTORIES,
    SPIRAL_CIRCLES,
    SPIRAL_RADIUS_FACTORS,
    TRAJECTORY_NAMES,
    TrajectoryName,
)




def trajectory_positions(name: str, num_frames: int, distance: float, center_depth: float = 1.0) -> Tensor:
    """Camera centres of one trajectory in the input camera's frame.

    Args:
        name: one of :data:`TRAJECTORY_NAMES`.
        num_frames: N >= 1.
        distance: movement distance ``d`` (already multiplied by any movement factor).
        center_depth: ``c``, depth of the look-at point; scales the whole motion.

    Returns:
        [N, 3] float64 positions; row 0 is the origin (the input camera).
    """
    if num_frames < 1:
        raise TrajectoryError(f"num_frames must be >= 1, got {num_frames}")
    i = torch.arange(num_frames, dtype=torch.float64)
    pos = torch.zeros(num_frames, 3, dtype=torch.float64)
    if name in _LINEAR_AXES:
        axis, sign = _LINEAR_AXES[name]
        pos[:, axis] = sign * i * distance * center_depth / num_frames
    elif name in ("clockwise", "counterclockwise"):
        theta = 2 * math.pi * SPIRAL_CIRCLES * i / max(num_frames - 1, 1)
        sign = 1.0 if name == "clockwise" else -1.0
        rx, ry = (f * distance * center_depth for f in SPIRAL_RADIUS_FACTORS)
        pos[:, 0] = sign * rx * (torch.cos(theta) - 1)
        pos[:, 1] = ry * torch.sin(theta)
    else:
        raise TrajectoryError(f"unknown trajectory {name!r}; choose one of {', '.join(TRAJECTORY_NAMES)}")
    return pos


def lyra_trajectory(
    name: str,
    num_frames: int,
    distance: float,
    K: Tensor,
    width: int,
    height: int,
    initial_c2w: Tensor | None = None,
    center_depth: float = 1.0,
) -> Cameras:
    """One center-facing trajectory starting at the input camera.

    Args:
        K: [3, 3] intrinsics of the input camera, kept for every frame.
        initial_c2w: [4, 4] input camera pose; identity (the scene frame) when None.

    Returns:
        Cameras with N frames; frame 0 equals the input camera exactly.
    """
    dtype = K.dtype if K.is_floating_point() else torch.float32
    pos = trajectory_positions(name, num_frames, distance, center_depth)
    target = torch.tensor([0.0, 0.0, center_depth], dtype=torch.float64)
    local_c2w = look_at(pos, target.expand_as(pos))  # poses in the input camera's frame
    base = torch.eye(4, dtype=torch.float64) if initial_c2w is None else initial_c2w.detach().cpu().to(torch.float64)
    c2w = (base @ local_c2w).to(dtype=dtype, device=K.device)
    return Cameras(c2w, K.expand(num_frames, 3, 3).clone(), width, height)


def lyra_trajectories(
    num_frames: int,
    K: Tensor,
    width: int,
    height: int,
    initial_c2w: Tensor | None = None,
    center_depth: float = 1.0,
    movement_factor: float = 1.0,
    seed: int = 0,
    names: Sequence[str] = tuple(LYRA_TRAJECTORIES),
) -> dict[str, Cameras]:
    """Lyra's trajectories with distances drawn (seeded) from their ranges times ``movement_factor``.

    Returns:
        ``{name: Cameras}`` in Lyra's dataset order (left, right, up, zoom_out, zoom_in, clockwise).
    """
    distances = sample_distances(names, movement_factor, seed)
    return {
        name: lyra_trajectory(name, num_frames, distance, K, width, height, initial_c2w, center_depth)
        for name, distance in distances.items()
    }


def sample_distances(names: Sequence[str] = tuple(LYRA_TRAJECTORIES), movement_factor: float = 1.0, seed: int = 0) -> dict[str, float]:
    """Movement distance of each trajectory: uniform in its range (seeded), times ``movement_factor``."""
    if movement_factor <= 0:
        raise TrajectoryError(f"movement_factor must be > 0, got {movement_factor}")
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name in names:
        if name not in LYRA_TRAJECTORIES:
            raise TrajectoryError(f"{name!r} is not one of Lyra's trajectories {list(LYRA_TRAJECTORIES)}")
        lo, hi = LYRA_TRAJECTORIES[name]
        out[name] = (lo + (hi - lo) * torch.rand((), generator=gen, dtype=torch.float64).item()) * movement_factor
    return out


def orbit_trajectory(
    center: Tensor,
    radius: float,
    num_frames: int,
    K: Tensor,
    width: int,
    height: int,
    elevation_degrees: float = 20.0,
    up: Sequence[float] = (0.0, -1.0, 0.0),
) -> Cameras:
    """A full circle around ``center`` looking at it, for fly-through previews of any scene.

    Args:
        center: [3] point to orbit around.
        radius: distance of the cameras from ``center``.
        up: world up vector; (0, -1, 0) for OpenCV-frame scenes, (0, 0, 1) for Z-up worlds.
    """
    up_t = torch.nn.functional.normalize(torch.as_tensor(up, dtype=torch.float64), dim=0)
    # Any unit vector orthogonal to up starts the circle.
    helper = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    if abs(float(helper @ up_t)) > 0.9:
        helper = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    a = torch.nn.functional.normalize(helper - (helper @ up_t) * up_t, dim=0)
    b = torch.linalg.cross(up_t, a)
    theta = torch.linspace(0, 2 * math.pi, num_frames + 1, dtype=torch.float64)[:-1]
    elev = math.radians(elevation_degrees)
    offsets = radius * (math.cos(elev) * (torch.cos(theta)[:, None] * a + torch.sin(theta)[:, None] * b) + math.sin(elev) * up_t)
    c = torch.as_tensor(center, dtype=torch.float64).cpu()
    c2w = look_at(c + offsets, c.expand(num_frames, 3), down=(-up_t).tolist())
    dtype = K.dtype if K.is_floating_point() else torch.float32
    return Cameras(c2w.to(dtype=dtype, device=K.device), K.expand(num_frames, 3, 3).clone(), width, height)


def load_trajectory_npz(path: str | Path) -> Cameras:
    """Read a custom trajectory (Lyra / GEN3C ``--custom_trajectory`` layout).

    The file holds ``w2c`` [N, 4, 4] (OpenCV world-to-camera), ``intrinsics`` [N, 3, 3] in
    pixels, and scalars ``image_height``, ``image_width``.
    """
    path = Path(path)
    if not path.is_file():
        raise TrajectoryError(f"{path}: trajectory file not found")
    check_zip_file(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"w2c", "intrinsics", "image_height", "image_width"} - set(data.files)
            if missing:
                raise TrajectoryError(f"{path}: missing arrays {sorted(missing)}; expected w2c, intrinsics, image_height, image_width")
            w2c = np.asarray(data["w2c"], dtype=np.float64)
            K = np.asarray(data["intrinsics"], dtype=np.float64)
            height, width = int(data["image_height"]), int(data["image_width"])
    # TypeError: non-scalar image_height/width; EOFError: empty file; BadZipFile: truncated .npz
    except (ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise TrajectoryError(f"{path}: not a readable .npz trajectory ({err})") from None
    if w2c.ndim != 3 or w2c.shape[1:] != (4, 4) or len(w2c) == 0:
        raise TrajectoryError(f"{path}: w2c must be [N, 4, 4] with N >= 1, got {list(w2c.shape)}")
    if K.shape == (3, 3):
        K = np.broadcast_to(K, (len(w2c), 3, 3))
    if K.shape != (len(w2c), 3, 3):
        raise TrajectoryError(f"{path}: intrinsics must be [N, 3, 3] matching w2c, got {list(K.shape)}")
    if not (np.isfinite(w2c).all() and np.isfinite(K).all()):
        raise TrajectoryError(f"{path}: w2c or intrinsics contain NaN/inf")
    rot = w2c[:, :3, :3]
    if not np.allclose(rot @ rot.transpose(0, 2, 1), np.eye(3), atol=1e-4) or (np.linalg.det(rot) < 0).any():
        raise TrajectoryError(f"{path}: w2c rotations are not proper rotation matrices (is it c2w with scale?)")
    c2w = rigid_inverse(torch.from_numpy(w2c)).float()
    try:
        return Cameras(c2w, torch.from_numpy(np.array(K)).float(), width, height)
    except Exception as err:  # noqa: BLE001 - InvalidInputError from Cameras, or torch on odd arrays: name the file
        raise TrajectoryError(f"{path}: {err}") from None


def save_trajectory_npz(cameras: Cameras, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``cameras`` in the layout :func:`load_trajectory_npz` reads (atomically)."""
    from lyra_sim.io import atomic_output

    with atomic_output(path, overwrite) as tmp:
        with open(tmp, "wb") as f:
            np.savez(
                f,
                w2c=cameras.w2c.detach().cpu().double().numpy(),
                intrinsics=cameras.K.detach().cpu().double().numpy(),
                image_height=cameras.height,
                image_width=cameras.width,
            )
    return Path(path)
