"""Teacher videos -> Gaussians with the latent decoder (the middle of ``generate``).

The decoder reads each trajectory's latents plus the cameras of every pixel frame and writes
pixel-aligned Gaussians and a decoded depth map per (trajectory, frame) at the Gaussian grid
(one Gaussian per ``gaussian_stride`` x ``gaussian_stride`` pixels). Cameras are
in the teacher's scene frame (the first input camera), so Gaussians of separately decoded
trajectories already share one frame and are simply concatenated.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from lyra_sim.cameras import Cameras
from lyra_sim.errors import InvalidInputError
from lyra_sim.export.depth import DepthViews
from lyra_sim.gaussians import GaussianScene
from lyra_sim.pipeline.config import GenerateDecoderCfg
from lyra_sim.progress import track
from lyra_sim.teachers.base import TrajectoryVideo


@dataclass
class DecodedScene:
    """The decoder's output for one scene (one time, for dynamic scenes).

    Attributes:
        scene: the Gaussians of every decoded trajectory, pruned, in the scene frame.
        depth: the decoded per-pixel depth of every (trajectory, frame) with its cameras,
            what export fuses into the collider.
        cameras: [V * T] the decode-size cameras of the input frames (for scoring and previews).
        frames: [V * T, 3, H, W] the teacher frames at the decode size, in [0, 1].
        frames_per_view: T, the frames of each trajectory (views are trajectory-major).
        score_views: indices into ``cameras``/``frames`` that show this scene's instant
            (dynamic scenes: frame t * (T - 1) of every trajectory); None: all of them.
    """

    scene: GaussianScene
    depth: DepthViews
    cameras: Cameras
    frames: Tensor
    frames_per_view: int
    score_views: list[int] | None = None


def decode_size(settings: GenerateDecoderCfg, videos: list[TrajectoryVideo], unit: int) -> tuple[int, int]:
    """(H, W) to decode at: ``settings.image_size`` or the teacher's, checked against ``unit``."""
    H, W = videos[0].frames.shape[-2:]
    if settings.image_size:
        if len(settings.image_size) != 2:
            raise InvalidInputError(f"decoder.image_size must be [H, W], got {settings.image_size}")
        h, w = (int(v) for v in settings.image_size)
        if abs(h / w - H / W) > 0.02:
            raise InvalidInputError(f"decoder.image_size {h}x{w} changes the teacher's aspect ratio ({H}x{W}); keep {H / W:.3f}")
        H, W = h, w
    if H % unit or W % unit:
        raise InvalidInputError(f"decoding at {H}x{W}: both sides must be multiples of {unit} (codec block x patch); "
                                f"set teacher.width/height or decoder.image_size accordingly")
    return H, W


def _frames_and_cameras(video: TrajectoryVideo, size: tuple[int, int]) -> tuple[Tensor, Cameras]:
    H, W = size
    frames, cams = video.frames.float(), video.cameras
    if frames.shape[-2:] != (H, W):
        frames = F.interpolate(frames, size=(H, W), mode="area" if H < frames.shape[-2] else "bilinear", align_corners=None)
        cams = cams.resized(W, H)
    return frames.clamp(0, 1), cams


def decode_videos(model, videos: list[TrajectoryVideo], settings: GenerateDecoderCfg, teacher_codec: str,
                  input_times: Tensor | None = None, target_times: list[float] | None = None) -> list[DecodedScene]:
    """Decode ``videos`` into one :class:`DecodedScene` (static) or one per target time.

    Args:
        model: a :class:`~lyra_sim.models.LatentGaussianDecoder` in eval mode.
        videos: the input trajectories (forward ones only, for dynamic scenes).
        teacher_codec: the codec name of the teacher's latents (used as is when it is the
            decoder's and the size is unchanged).
        input_times: [T] frame times for the dynamic decoder; None for a static one.
        target_times: the times to decode (dynamic decoder).
    """
    cfg = model.cfg
    device = next(model.parameters()).device
    T = videos[0].frames.shape[0]
    tc = cfg.temporal_compression
    if (T - 1) % tc:
        raise InvalidInputError(f"{T} frames per trajectory: the decoder needs 1 + k * {tc} (e.g. {1 + tc * max(1, (T - 1) // tc)})")
    size = decode_size(settings, videos, cfg.spatial_compression * cfg.patch_size)
    prepared = [_frames_and_cameras(v, size) for v in videos]
    use_latents = settings.inputs != "frames" and teacher_codec == cfg.codec and size == tuple(videos[0].frames.shape[-2:]) \
        and all(v.latents is not None for v in videos)
    if settings.inputs == "latents" and not use_latents:
        raise InvalidInputError(f"decoder.inputs=latents: the teacher's latents ({teacher_codec}, "
                                f"{tuple(videos[0].frames.shape[-2:])}) do not fit the decoder ({cfg.codec}, {size}); use auto or frames")
    groups = [[i] for i in range(len(videos))] if settings.fuse == "per_trajectory" else [list(range(len(videos)))]
    per_time: list[list] = [[] for _ in (target_times or [None])]
    for idx in track(groups, "decode"):
        if use_latents:
            lat = torch.stack([videos[i].latents for i in idx]).float()
        else:
            clip = torch.stack([prepared[i][0] for i in idx]).permute(0, 2, 1, 3, 4) * 2 - 1  # [V, 3, T, H, W]
            with torch.no_grad():
                lat = model.codec.encode(clip.to(device).contiguous()).float()
        c2w = torch.stack([prepared[i][1].c2w for i in idx]).float()
        K = torch.stack([prepared[i][1].K for i in idx]).float()
        kwargs = {}
        if target_times is not None:
            kwargs = {"input_times": input_times[None].float().to(device), "target_times": torch.tensor([target_times], device=device)}
        with torch.no_grad():
            outs = model(lat[None].to(device), c2w[None].to(device), K[None].to(device), keep_fraction=None, **kwargs)
        for k, out in enumerate(outs if isinstance(outs, list) else [outs]):
            per_time[k].append(out)
    frames = torch.cat([p[0] for p in prepared])
    cameras = Cameras.cat([p[1] for p in prepared])
    scenes = [_assemble(outs, settings.keep_fraction, frames, cameras, T) for outs in per_time]
    if target_times is not None:
        for d, t in zip(scenes, target_times):
            i = int(round(t * (T - 1)))
            d.score_views = [v * T + i for v in range(len(videos))]
    return scenes


def _assemble(outs: list, keep_fraction: float | None, frames: Tensor, cameras: Cameras, frames_per_view: int) -> DecodedScene:
    scene = GaussianScene.merge([o.scene(0).detach().to("cpu", torch.float32) for o in outs])
    if keep_fraction is not None and keep_fraction < 1.0:
        scene = scene.prune(keep_fraction)
    depth = torch.cat([o.depth[0].reshape(-1, *o.depth.shape[-2:]) for o in outs]).float().cpu()
    grid_cams = Cameras.cat([o.cameras.to("cpu") for o in outs])
    views = DepthViews(depth, grid_cams, masks=depth > 0, source="decoded")
    return DecodedScene(scene, views, cameras, frames, frames_per_view)
