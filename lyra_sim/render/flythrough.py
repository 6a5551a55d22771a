"""Fly-through previews of a scene: choose cameras, render frame by frame, write PNG/MP4/sheet.

The default path is an orbit around the scene's content that keeps all of it in view
(:func:`content_orbit`), for a scene from anywhere (an INRIA/COLMAP PLY, a Z-up export, a
generated scene.ply). Generated scenes live in their first input camera's frame (OpenCV, camera
at the origin looking down +z), so Lyra's own trajectories from the identity pose show them as
the teacher saw them; ``trajectory="auto"`` picks Lyra's spiral for such a scene, else the orbit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from lyra_sim.cameras import (
    Cameras,
    intrinsics_matrix,
    load_trajectory_npz,
    lyra_trajectory,
    orbit_trajectory,
)
from lyra_sim.cameras.trajectories import LYRA_TRAJECTORIES, TRAJECTORY_NAMES
from lyra_sim.errors import InvalidInputError, OutputExistsError
from lyra_sim.gaussians import GaussianScene
from lyra_sim.progress import ProgressFn, track, using
from lyra_sim.render.preview import colorize_depth, contact_sheet, depth_range, write_mp4, write_png
from lyra_sim.render.bands import render_in_bands

log = logging.getLogger(__name__)

PREVIEW_TRAJECTORIES = ("orbit", "auto", "spiral") + TRAJECTORY_NAMES
"""Names accepted by :func:`preview_cameras` (or a path to a trajectory ``.npz``)."""


def _median_depth_in_front(scene: GaussianScene, K: Tensor, width: int, height: int) -> tuple[float, float]:
    """(median z, fraction of Gaussians inside the identity camera's frustum)."""
    z = scene.means[:, 2]
    u = K[0, 0] * scene.means[:, 0] / z.clamp(min=1e-6) + K[0, 2]
    v = K[1, 1] * scene.means[:, 1] / z.clamp(min=1e-6) + K[1, 2]
    inside = (z > 0) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
    if not inside.any():
        return 1.0, 0.0
    return float(z[inside].median()), float(inside.float().mean())


def preview_cameras(
    scene: GaussianScene,
    trajectory: str = "orbit",
    num_frames: int = 60,
    width: int = 512,
    height: int = 384,
    fov_y_degrees: float = 60.0,
    movement_factor: float = 1.0,
    up: tuple[float, float, float] = (0.0, -1.0, 0.0),
) -> Cameras:
    """Cameras for a preview of ``scene``.

    Args:
        trajectory: "orbit" (the default: a full circle around the content, all of it in view in
            every frame, :func:`content_orbit`), "auto" (Lyra's spiral when the scene faces
            the identity camera, as a generated scene.ply does, else the orbit), "spiral"
            (Lyra's clockwise spiral), one of Lyra's trajectory names, or a path to a
            trajectory ``.npz`` (then size/FOV come from the file).
        movement_factor: scales Lyra trajectories' motion (GEN3C's movement distance factor);
            previews use the upper end of each trajectory's range, times this factor.
        up: world up for "orbit"; (0, -1, 0) for OpenCV-frame scenes, (0, 0, 1) for Z-up worlds.
    """
    if trajectory.endswith(".npz"):
        return load_trajectory_npz(trajectory)
    if num_frames < 1:
        raise InvalidInputError(f"num_frames must be >= 1, got {num_frames}")
    if len(scene) == 0:
        raise InvalidInputError("the scene has no Gaussians to preview")
    f = 0.5 * height / torch.tan(torch.deg2rad(torch.tensor(fov_y_degrees / 2.0))).item()
    K = intrinsics_matrix(f, f, width / 2, height / 2)
    cpu_scene = scene.detach().to("cpu", torch.float32)
    center_depth, in_view = _median_depth_in_front(cpu_scene, K, width, height)
    if trajectory == "auto":
        trajectory = "spiral" if in_view >= 0.5 else "orbit"
    if trajectory == "spiral":
        trajectory = "clockwise"
    if trajectory == "orbit":
        return content_orbit(cpu_scene, num_frames, K, width, height, up=up)
    if trajectory not in TRAJECTORY_NAMES:
        raise InvalidInputError(f"unknown trajectory {trajectory!r}; choose one of {', '.join(PREVIEW_TRAJECTORIES)} or a .npz path")
    # The mirrored moves that Lyra's dataset does not use take their twin's distance range.
    distance = LYRA_TRAJECTORIES[{"down": "up", "counterclockwise": "clockwise"}.get(trajectory, trajectory)][1]
    return lyra_trajectory(trajectory, num_frames, distance * movement_factor, K, width, height, center_depth=center_depth)


def content_orbit(scene: GaussianScene, num_frames: int, K: Tensor, width: int, height: int,
                  up: tuple[float, float, float] = (0.0, -1.0, 0.0), margin: float = 1.1,
                  min_opacity: float = 0.1, quantile: float = 0.02) -> Cameras:
    """A full circle around the scene's content, far enough that all of it stays in view.

    The content is the Gaussians at least ``min_opacity`` opaque (all of them when none is),
    less the ``quantile`` outliers on each axis; the cameras circle its box's centre 20 degrees
    above the plane normal to ``up``, at the distance where its bounding sphere (times
    ``margin``) fits the narrower of the two fields of view of ``K``.

    Args:
        scene: the Gaussians (CPU, scene units).
        K: [3, 3] intrinsics in pixels of a ``width`` x ``height`` image.
        up: world up; (0, -1, 0) for OpenCV-frame scenes, (0, 0, 1) for Z-up worlds.

    Returns:
        ``num_frames`` cameras looking at the content's centre.
    """
    opaque = scene.opacities.reshape(-1) >= min_opacity
    content = scene[opaque] if int(opaque.sum()) > 0 else scene
    bounds = content.bounds(quantile=quantile)
    centre = bounds.mean(0)
    sphere = 0.5 * float((bounds[1] - bounds[0]).norm())
    half_fov = min(math.atan(0.5 * width / float(K[0, 0])), math.atan(0.5 * height / float(K[1, 1])))
    radius = margin * sphere / math.sin(half_fov)
    return orbit_trajectory(centre, max(radius, 1e-3), num_frames, K, width, height, up=up)


@dataclass
class FlythroughFiles:
    """Paths written by :func:`render_flythrough`."""

    frames: list[Path] = field(default_factory=list)
    video: Path | None = None
    contact_sheet: Path | None = None


def render_flythrough(
    scene: GaussianScene,
    cameras: Cameras,
    out_dir: str | Path,
    fps: int = 24,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    overwrite: bool = False,
    write_frames: bool = True,
    sheet_frames: int = 8,
    backend: str = "auto",
    on_frame: Callable[[int], None] | None = None,
    progress: ProgressFn | None = None,
) -> FlythroughFiles:
    """Render ``scene`` from each camera into ``out_dir``.

    Writes ``frames/frame_0000.png ...`` (if ``write_frames``), ``preview.mp4`` and
    ``contact_sheet.png`` (``sheet_frames`` evenly spaced frames: RGB row over depth row).
    Frames are rendered one at a time (each in bands of rows if it is large, see
    :mod:`lyra_sim.render.bands`), so memory does not grow with the trajectory length or the
    scene's splat sizes. An interruption (Ctrl-C) or error removes what this call wrote.
    Nothing is overwritten unless ``overwrite``: the check happens before any rendering.

    Args:
        on_frame: called with the frame index after each frame.
        progress: ``fn(stage, done, total)`` (:mod:`lyra_sim.progress`), stage ``"render frames"``.
            None: the caller's, else log the start and end on the ``lyra_sim.render`` logger.
    """
    out_dir = Path(out_dir)
    video, sheet = out_dir / "preview.mp4", out_dir / "contact_sheet.png"
    frame_paths = [out_dir / "frames" / f"frame_{i:04d}.png" for i in range(len(cameras))] if write_frames else []
    if not overwrite:
        existing = [p for p in [video, sheet, *frame_paths] if p.exists()]
        if existing:
            raise OutputExistsError(existing[0])
    sheet_ids = set(torch.linspace(0, len(cameras) - 1, min(sheet_frames, len(cameras))).round().long().tolist())
    sheet_rgb, sheet_depth = [], []
    made_dirs = [d for d in (out_dir, out_dir / "frames") if not d.exists()]
    written: list[Path] = []

    def frames():
        for i in track(range(len(cameras)), "render frames"):
            with torch.no_grad():
                out = render_in_bands(scene, cameras[i].to(scene.device, scene.dtype), mode="RGB+ED", background=background, backend=backend)
            rgb = out.rgb[0].cpu()
            if write_frames:
                written.append(write_png(rgb, frame_paths[i], overwrite=overwrite))
            if i in sheet_ids:
                sheet_rgb.append(rgb)
                sheet_depth.append((out.depth[0].cpu(), out.alpha[0].cpu()))
            if on_frame is not None:
                on_frame(i)
            yield rgb

    try:
        with using(progress, log):
            written.append(write_mp4(frames(), video, fps=fps, overwrite=overwrite))
        # One depth range for the whole sheet, so a colour means the same distance in every frame.
        near_far = depth_range([d for d, _ in sheet_depth], [a for _, a in sheet_depth])
        depth_images = [colorize_depth(d, a, *(near_far or (None, None))) for d, a in sheet_depth]
        write_png(contact_sheet(sheet_rgb + depth_images, columns=len(sheet_rgb), row_labels=["render", "depth"],
                                depth_range=near_far), sheet, overwrite=overwrite)
    except BaseException:  # Ctrl-C or an error: leave no half fly-through behind
        for path in written:
            path.unlink(missing_ok=True)
        for folder in reversed(made_dirs):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    return FlythroughFiles(frames=frame_paths, video=video, contact_sheet=sheet)
