"""What a person looks at after ``generate``: ``preview.png`` and ``preview.mp4``.

``preview.png`` is a contact sheet, one column per sampled input view and four rows:

1. the teacher's frame (what the decoder had to reproduce),
2. the Gaussians rendered from the same camera,
3. the rendered expected depth (near = warm),
4. the collision proxy over the render (what a robot will stand on).

``preview.mp4`` is a fly-through of the Gaussians along one of Lyra's camera paths.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from lyra_sim.cameras import Cameras
from lyra_sim.gaussians import GaussianScene
from lyra_sim.pipeline.config import PreviewCfg
from lyra_sim.progress import track
from lyra_sim.render.bands import render_in_bands
from lyra_sim.render.preview import colorize_depth, contact_sheet, depth_range, write_mp4, write_png


def write_contact_sheet(scene: GaussianScene, frames: torch.Tensor, cameras: Cameras, collider, path: str | Path,
                        views: int = 3, min_width: int = 160) -> Path:
    """Write the four-row contact sheet (see the module docstring).

    Args:
        frames: [V, 3, H, W] teacher frames in [0, 1] seen by ``cameras`` (scene frame).
        collider: a :class:`~lyra_sim.export.CollisionProxy` in the scene frame, or None.
        min_width: small frames are upsampled to at least this width for legibility.
    """
    from lyra_sim.export.report import collider_over_renders

    idx = torch.linspace(0, len(cameras) - 1, min(views, len(cameras))).round().long()
    cams = Cameras(cameras.c2w[idx], cameras.K[idx], cameras.width, cameras.height)
    teacher = frames[idx].float()
    if cams.width < min_width:
        factor = -(-min_width // cams.width)
        cams = cams.resized(cams.width * factor, cams.height * factor)
        teacher = torch.nn.functional.interpolate(teacher, size=(cams.height, cams.width), mode="nearest")
    rows_rgb, depths = [], []
    for i in range(len(cams)):
        with torch.no_grad():
            out = render_in_bands(scene, cams[i], mode="RGB+ED", background=(1.0, 1.0, 1.0))
        rows_rgb.append(out.rgb[0].clamp(0, 1))
        depths.append((out.depth[0, ..., 0], out.alpha[0, ..., 0]))
    near_far = depth_range([d for d, _ in depths], [a for _, a in depths])  # one range: one colour, one distance
    rows_depth = [colorize_depth(d, a, *(near_far or (None, None))) for d, a in depths]
    overlay = list(rows_rgb)
    if collider is not None and len(collider.faces):
        overlay = list(collider_over_renders(collider, cams, torch.stack(rows_rgb))[0])
    images = list(teacher.permute(0, 2, 3, 1)) + rows_rgb + rows_depth + overlay
    labels = ["teacher", "Gaussians", "depth", "collider" if collider is not None and len(collider.faces) else "Gaussians"]
    return write_png(contact_sheet(images, columns=len(cams), row_labels=labels, depth_range=near_far), path, overwrite=True)


def write_flythrough(scene: GaussianScene, settings: PreviewCfg, path: str | Path,
                     on_frame: Callable[[int], None] | None = None) -> Path:
    """Render ``settings.frames`` frames along ``settings.trajectory`` into an MP4 (one frame at a time)."""
    from lyra_sim.render.flythrough import preview_cameras

    cams = preview_cameras(scene, settings.trajectory, settings.frames, settings.width, settings.height)

    def frames():
        for i in track(range(len(cams)), "preview frames"):
            with torch.no_grad():
                yield render_in_bands(scene, cams[i], background=(1.0, 1.0, 1.0)).rgb[0].clamp(0, 1)
            if on_frame:
                on_frame(i)

    return write_mp4(frames(), path, fps=settings.fps, overwrite=True)
