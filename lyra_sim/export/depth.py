"""Depth for the collider: the Gaussians' own surface depth, or given decoded/teacher depth maps.

The pipeline hands the export what it knows besides the Gaussians: the decoder's per-pixel
decoded depth with its cameras (:class:`DepthViews`), and whatever the teacher knows about the
frame (:class:`SourceFrame`: a metric ``world_from_scene``, the trajectories). A bare PLY has
neither, so :func:`render_depth_views` renders the Gaussians' surface depth (where each ray's
accumulated opacity crosses 0.5, :mod:`lyra_sim.render.surface`) at automatically placed
cameras; rays that stay more transparent are "no surface" and are never fused. The cameras: the
scene's own trajectories when known, Lyra's six trajectories from the input
camera when the scene lies in front of it (the generated-scene convention), else an orbit
around the bounds plus views looking out from inside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

from lyra_sim.cameras import (
    Cameras,
    intrinsics_matrix,
    look_at,
    lyra_trajectory,
    orbit_trajectory,
    unproject_depth,
)
from lyra_sim.cameras.trajectories import LYRA_TRAJECTORIES
from lyra_sim.errors import ExportError, InvalidInputError
from lyra_sim.export.config import ColliderCfg
from lyra_sim.export.frame_record import FrameRecord, read_source_record
from lyra_sim.export.orientation import UpPrior, convention_prior
from lyra_sim.gaussians import GaussianScene
from lyra_sim.progress import report
from lyra_sim.render.bands import render_in_bands

DepthSource = Literal["decoded", "teacher", "rendered"]


@dataclass
class DepthViews:
    """Depth maps and the cameras that saw them, in the scene frame.

    Attributes:
        depth: [V, H, W] z-depth along each camera's optical axis, scene units; values <= 0 or
            non-finite mean "unknown".
        cameras: V cameras (OpenCV) of size W x H.
        masks: [V, H, W] bool, True where the depth is trustworthy (None: wherever it is > 0).
        source: where the depth came from: "decoded" (the decoder's depth head), "teacher"
            (e.g. the procedural teacher's exact depth) or "rendered" (the Gaussians' surface depth).
    """

    depth: Tensor
    cameras: Cameras
    masks: Tensor | None = None
    source: DepthSource = "decoded"

    def __post_init__(self) -> None:
        if self.depth.ndim == 4 and self.depth.shape[-1] == 1:
            self.depth = self.depth[..., 0]
        if self.depth.ndim != 3:
            raise InvalidInputError(f"DepthViews.depth must be [V, H, W], got {list(self.depth.shape)}")
        v, h, w = self.depth.shape
        if len(self.cameras) != v or (self.cameras.height, self.cameras.width) != (h, w):
            raise InvalidInputError(
                f"DepthViews: {v} depth maps of {w}x{h} need {v} cameras of that size, got "
                f"{len(self.cameras)} of {self.cameras.width}x{self.cameras.height}"
            )
        if self.masks is not None and tuple(self.masks.shape) != (v, h, w):
            raise InvalidInputError(f"DepthViews.masks must be [V, H, W] = {[v, h, w]}, got {list(self.masks.shape)}")

    def __len__(self) -> int:
        return self.depth.shape[0]

    def valid(self) -> Tensor:
        """[V, H, W] bool: finite, positive and inside the mask."""
        ok = torch.isfinite(self.depth) & (self.depth > 0)
        return ok & self.masks.bool() if self.masks is not None else ok

    def subsample(self, max_views: int) -> DepthViews:
        """At most ``max_views`` views, evenly spaced (neighbouring frames are nearly the same view)."""
        if len(self) <= max_views:
            return self
        idx = torch.linspace(0, len(self) - 1, max_views).round().long()
        masks = self.masks[idx] if self.masks is not None else None
        cams = Cameras(self.cameras.c2w[idx], self.cameras.K[idx], self.cameras.width, self.cameras.height)
        return DepthViews(self.depth[idx], cams, masks, self.source)

    def near(self, max_depth_ratio: float) -> DepthViews:
        """These views with the pixels deeper than ``max_depth_ratio`` times the median valid
        depth masked out: where the depth is dense enough to rebuild a surface from (a pixel's
        footprint grows with its depth; a street's horizon lies kilometres beyond the robot)."""
        valid = self.valid()
        if not valid.any():
            return self
        limit = float(self.depth[valid].float().median()) * max_depth_ratio
        return DepthViews(self.depth, self.cameras, valid & (self.depth <= limit), self.source)

    def points(self, stride: int = 1) -> Tensor:
        """[M, 3] scene-frame points of the valid pixels (every ``stride``-th row and column)."""
        cams = self.cameras.to(self.depth.device, torch.float32)
        p = unproject_depth(self.depth.float(), cams.K, cams.c2w)
        sel = (slice(None), slice(None, None, stride), slice(None, None, stride))
        return p[sel][self.valid()[sel]]

    def transformed(self, matrix: Tensor) -> DepthViews:
        """The same views after a similarity ``x -> s R x + t`` of the world (depth scales by s)."""
        m = torch.as_tensor(matrix, dtype=torch.float64).cpu()
        s = float(torch.linalg.det(m[:3, :3]) ** (1 / 3))
        c2w = m.to(self.cameras.c2w) @ self.cameras.c2w
        c2w[:, :3, :3] = c2w[:, :3, :3] / s
        return DepthViews(self.depth * s, Cameras(c2w, self.cameras.K, self.cameras.width, self.cameras.height), self.masks, self.source)


@dataclass
class SourceFrame:
    """What is known about the scene's frame besides the Gaussians.

    Attributes:
        world_from_scene: [4, 4] similarity from the scene frame to a Z-up metric world, when a
            metric teacher knows it (the procedural teacher does); None otherwise.
        depth_is_metric: scene units are metres (a metric teacher or estimator).
        input_camera: [4, 4] c2w of the input camera in the scene frame, whose height above the
            floor fixes the scale; None: the origin camera (identity) when the scene lies in
            front of it (Lyra's convention), else unknown.
        cameras: the scene's own trajectories (all views), used to render expected depth.
        name: a label for reports.
        recorded: the sim frame the scene file itself records (``generate``'s ``scene.ply``,
            :mod:`lyra_sim.export.frame_record`); used unless the user asks for another frame.
        prior: the up convention of the file's writer (:func:`~lyra_sim.export.orientation.convention_prior`).
        cameras_evidence: set when ``cameras`` are the capture's own poses (``--cameras``): the
            file and count, for the report; ``input_camera`` is then the first of them.
    """

    world_from_scene: Tensor | None = None
    depth_is_metric: bool = False
    input_camera: Tensor | None = None
    cameras: Cameras | None = None
    name: str = "scene"
    recorded: FrameRecord | None = None
    prior: UpPrior | None = None
    cameras_evidence: str | None = None

    @classmethod
    def from_teacher(cls, output, name: str = "scene") -> SourceFrame:
        """From a :class:`~lyra_sim.teachers.TeacherOutput` (cameras of every trajectory)."""
        cams = Cameras.cat([t.cameras for t in output.trajectories]) if output.trajectories else None
        return cls(output.world_from_scene, bool(output.depth_is_metric), torch.eye(4), cams, name)

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> SourceFrame:
        """For the scene file ``path``: the sim frame it records (generate's ``scene.ply``), its
        input camera, and the views of a ``camera_paths.json`` beside it
        (:mod:`lyra_sim.export.frame_record`); a file without a record gives a bare SourceFrame."""
        record, cams, input_camera = read_source_record(path)
        return cls(input_camera=input_camera, cameras=cams, name=name or Path(path).stem, recorded=record,
                   prior=convention_prior(path))

    def with_capture_cameras(self, path: str | Path) -> SourceFrame:
        """This frame with the capture's camera poses read from ``path``
        (:func:`lyra_sim.cameras.readers.read_capture_cameras`): they become the views, the
        input camera (the first) and the up evidence.

        Raises:
            CameraFileError: a file that cannot be read (one line naming it).
        """
        from dataclasses import replace

        from lyra_sim.cameras.readers import read_capture_cameras

        cams = read_capture_cameras(path)
        return replace(self, cameras=cams, input_camera=cams.c2w[0].double(),
                       cameras_evidence=f"{Path(path).name} ({len(cams)} views)")


def depth_views_from_teacher(output) -> DepthViews:
    """All depth maps of a :class:`~lyra_sim.teachers.TeacherOutput` as one :class:`DepthViews`."""
    trajs = [t for t in output.trajectories if t.depth is not None]
    if not trajs:
        raise ExportError("the teacher output holds no depth maps")
    masks = [t.mask if t.mask is not None else t.depth > 0 for t in trajs]
    return DepthViews(
        torch.cat([t.depth for t in trajs]), Cameras.cat([t.cameras for t in trajs]), torch.cat(masks), "teacher"
    )


def in_front_of_origin(scene: GaussianScene, fov_y_degrees: float = 60.0, aspect: float = 4 / 3) -> float:
    """Fraction of Gaussians inside the view of an identity (OpenCV) camera."""
    z = scene.means[:, 2]
    t = math.tan(math.radians(fov_y_degrees) / 2)
    ok = (z > 1e-6) & (scene.means[:, 0].abs() < aspect * t * z) & (scene.means[:, 1].abs() < t * z)
    return float(ok.float().mean()) if len(scene) else 0.0


def auto_cameras(scene: GaussianScene, cfg: ColliderCfg, source: SourceFrame | None = None,
                 up=None) -> tuple[Cameras, str]:
    """Cameras to render expected depth from, and the name of the placement used.

    Args:
        up: [3] the scene's up, for the orbit (its cameras look down from 30 degrees above);
            None: the geometry's thinnest axis.
    """
    w, h = cfg.render_width, cfg.render_height
    placement = cfg.view_placement
    if placement == "auto":
        if source is not None and source.cameras is not None:
            placement = "trajectories"
        elif in_front_of_origin(scene) >= 0.5:
            placement = "lyra"
        else:
            placement = "outside-in"
    if placement == "trajectories":
        if source is None or source.cameras is None:
            raise ExportError("view_placement='trajectories' needs the scene's cameras (SourceFrame.cameras)")
        cams = source.cameras
        idx = torch.linspace(0, len(cams) - 1, min(len(cams), cfg.max_views)).round().long()
        cams = Cameras(cams.c2w[idx], cams.K[idx], cams.width, cams.height).resized(w, h)
        return cams, placement
    f = 0.5 * h / math.tan(math.radians(30.0))
    K = intrinsics_matrix(f, f, w / 2, h / 2)
    cpu = scene.detach().to("cpu", torch.float32)
    n = cfg.views_per_trajectory
    if placement == "lyra":
        z = cpu.means[:, 2]
        center_depth = float(z[z > 0].median()) if (z > 0).any() else 1.0
        cams = [lyra_trajectory(name, n, hi, K, w, h, center_depth=center_depth) for name, (lo, hi) in LYRA_TRAJECTORIES.items()]
        return Cameras.cat(cams), placement
    lo, hi = cpu.bounds(quantile=0.02)
    centre, size = (lo + hi) / 2, (hi - lo)
    groups = []
    if placement in ("orbit", "outside-in"):
        up = _up_guess(cpu) if up is None else torch.as_tensor(up, dtype=torch.float64).flatten()
        radius = 0.6 * float(size.norm()) / math.tan(math.radians(30.0))
        groups.append(orbit_trajectory(centre, max(radius, 1e-3), 2 * n, K, w, h, elevation_degrees=30.0, up=up.tolist()))
    if placement in ("interior", "outside-in"):
        groups.append(_interior_cameras(centre, K, w, h, max(2 * n, 8)))
    if not groups:
        raise InvalidInputError(f"unknown view_placement {cfg.view_placement!r}")
    return Cameras.cat(groups), placement


def _up_guess(scene: GaussianScene) -> Tensor:
    """-y (OpenCV) unless the scene is flattest along another axis: that axis is likely up."""
    lo, hi = scene.bounds(quantile=0.02)
    thin = int((hi - lo).argmin())
    up = torch.zeros(3, dtype=torch.float64)
    up[thin] = -1.0 if thin == 1 else 1.0
    return up


def _interior_cameras(centre: Tensor, K: Tensor, w: int, h: int, count: int) -> Cameras:
    """``count`` cameras at ``centre`` looking out along a Fibonacci sphere of directions."""
    i = torch.arange(count, dtype=torch.float64) + 0.5
    phi = torch.acos(1 - 2 * i / count)
    theta = math.pi * (1 + 5**0.5) * i
    dirs = torch.stack([torch.cos(theta) * torch.sin(phi), torch.cos(phi), torch.sin(theta) * torch.sin(phi)], -1)
    eye = centre.to(torch.float64).expand(count, 3)
    down = torch.where(dirs[:, 1:2].abs() > 0.95, torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64), torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64))
    c2w = torch.stack([look_at(eye[k], eye[k] + dirs[k], down=down[k].tolist()) for k in range(count)])
    return Cameras(c2w.float(), K.expand(count, 3, 3).clone(), w, h)


def render_depth_views(
    scene: GaussianScene, cameras: Cameras, min_alpha: float = 0.5, chunk: int = 4, scale_factor: float = 1.0
) -> DepthViews:
    """Surface depth of ``scene`` at ``cameras``; pixels with alpha < ``min_alpha`` (or no
    surface) are masked.

    Args:
        scale_factor: multiplies every Gaussian's scales for this render (1: as they are). The
            surface depth is taken where the ray meets a splat, not at its centre, so splat size
            no longer lifts grazing floors; thinner splats only open holes.
    """
    if scale_factor != 1.0:
        scene = GaussianScene(scene.means, scene.quats, scene.scales * scale_factor, scene.opacities, scene.sh)
    depths, masks = [], []
    cams = cameras.to(scene.device, scene.dtype)
    report("depth views", 0, len(cams))
    with torch.no_grad():
        for i in range(0, len(cams), chunk):
            out = render_in_bands(scene, cams[i : i + chunk], mode="RGB+SD")  # memory bounded per view
            depth = out.surface_depth[..., 0].float().cpu()
            depths.append(depth)
            masks.append((out.alpha[..., 0] >= min_alpha).cpu() & (depth > 0))
            report("depth views", min(i + chunk, len(cams)), len(cams))
    return DepthViews(torch.cat(depths), cameras.to("cpu", torch.float32), torch.cat(masks), "rendered")
