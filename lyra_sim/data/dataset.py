"""A torch Dataset of training samples drawn from Lyra-layout scenes, as Lyra's ``Provider`` does.

Each item is one scene with freshly drawn input/target frames (:mod:`lyra_sim.data.sampling`),
cropped and resized to ``image_size`` with matching intrinsics, poses made relative to the first
input camera (Lyra's ``relative_translation_scale``). Draws are deterministic: item ``i`` of
epoch ``e`` uses ``numpy.random.default_rng([seed, e, i])``, whatever worker loads it.

Loading cost: each trajectory's mp4 is decoded once per item, from frame 0 up to the last
frame the item needs (the union of its input and target frames); nothing is cached across
items. Poses and intrinsics tables are cached per scene object (per worker).

Unlike Lyra, a broken scene raises a :class:`DatasetError` naming it instead of being silently
replaced by a random other one. Items with a random number of input trajectories differ in
shape: use ``batch_size=1`` (as Lyra does from stage 6) or a collate function that pads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from lyra_sim.data.layout import LatentTransform, LyraScene, find_scenes
from lyra_sim.data.sampling import ViewSample, ViewSamplingCfg, sample_views
from lyra_sim.data.transforms import intrinsics_to_matrix
from lyra_sim.errors import DatasetError


@dataclass
class LyraDatasetCfg:
    """What a training sample holds and how it is drawn."""

    image_size: tuple[int, int] | None = None
    """Output (H, W): centre-crop to this aspect, then resize (Lyra ``img_size``). None keeps
    the stored size. Defaults to None."""

    sampling: ViewSamplingCfg = field(default_factory=ViewSamplingCfg)
    """Frame and trajectory sampling. Defaults to ``ViewSamplingCfg()``."""

    dynamic: bool | None = None
    """Sample as a dynamic scene (one target time, every trajectory as a target camera). None
    decides per scene (``scene.json``, else 12 trajectories = dynamic). Defaults to None."""

    load_input_frames: bool = True
    """Return the input RGB frames (Lyra needs them only when it encodes RGB on the fly,
    stages 1-4). Defaults to True."""

    load_latents: bool = False
    """Return each input trajectory's stored latents (Lyra ``load_latents``, stage 5+). Latents
    cover the whole trajectory, so every frame must be an input frame. Defaults to False."""

    load_depth: bool = True
    """Return target depth when the scene has a ``depth`` folder. Defaults to True."""

    load_input_depth: bool = False
    """Return the input frames' depth too (the decoder's metric depth loss). Defaults to False."""

    relative_poses: bool = True
    """Express every pose in the first input camera's frame (Lyra
    ``relative_translation_scale``). Defaults to True."""

    timesteps_eps: float = 0.0
    """Added to the denominator when frame indices are normalised to times (Lyra
    ``timesteps_eps``). Defaults to 0.0."""

    seed: int = 0
    """Base seed of the per-item generators. Defaults to 0."""


class LyraDataset(Dataset):
    """Training samples from scenes in Lyra's SDG layout.

    Args:
        scenes: a dataset root, a scene root, a list of those, or :class:`LyraScene` objects.
        cfg: what to load and how to sample.
        latent_statistics: passed to every :class:`LyraScene` (Cosmos de-normalisation).

    Each item is a dict (V input trajectories, Vt target trajectories, float32 unless noted)::

        input_frames          [V, Ti, 3, H, W]  RGB in [0, 1]        (load_input_frames)
        input_latents         [V, C, t, h, w]                        (load_latents)
        input_c2w             [V, Ti, 4, 4]     OpenCV camera-to-world
        input_K               [V, Ti, 3, 3]     pixels of (H, W)
        input_frame_indices   [V, Ti]           int64
        input_trajectories    [V]               int64 trajectory folder numbers
        target_frames         [Vt, Tt, 3, H, W]
        target_c2w            [Vt, Tt, 4, 4]
        target_K              [Vt, Tt, 3, 3]
        target_depth          [Vt, Tt, H, W]    0 = unknown          (load_depth, if stored)
        input_depth           [V, Ti, H, W]     0 = unknown          (load_input_depth, if stored)
        target_frame_indices  [Vt, Tt]          int64
        target_trajectories   [Vt]              int64
        input_times           [V, Ti]           dynamic scenes: Lyra's normalised frame times
        target_times          [Vt, Tt]          dynamic scenes
        scene_index           []                int64
    """

    def __init__(
        self,
        scenes: str | Path | LyraScene | Sequence[str | Path | LyraScene],
        cfg: LyraDatasetCfg | None = None,
        latent_statistics: LatentTransform | None = None,
    ):
        self.cfg = cfg or LyraDatasetCfg()
        items = [scenes] if isinstance(scenes, (str, Path, LyraScene)) else list(scenes)
        self.scenes: list[LyraScene] = []
        for item in items:
            if isinstance(item, LyraScene):
                self.scenes.append(item)
                continue
            found = find_scenes(item)
            if not found:
                raise DatasetError(item, "holds no scene (no <traj>/rgb/<key>.mp4 here or one level down)")
            self.scenes += [LyraScene(root, key, latent_statistics) for root, key in found]
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.scenes)

    def set_epoch(self, epoch: int) -> None:
        """Draw different frames in each epoch: call before each epoch's DataLoader iteration
        (workers are forked from this object; with ``persistent_workers`` they keep the old epoch)."""
        self.epoch = int(epoch)

    def is_dynamic(self, scene: LyraScene) -> bool:
        return scene.is_dynamic if self.cfg.dynamic is None else self.cfg.dynamic

    def sample_views(self, index: int) -> ViewSample:
        """The trajectories and frames item ``index`` reads (deterministic)."""
        scene = self.scenes[index]
        rng = np.random.default_rng([self.cfg.seed, self.epoch, index])
        return sample_views(rng, scene.num_frames, scene.trajectory_ids, self.cfg.sampling, self.is_dynamic(scene))

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        if not 0 <= index < len(self.scenes):
            raise IndexError(f"index {index} out of range for {len(self.scenes)} scenes")
        scene = self.scenes[index]
        views = self.sample_views(index)
        cfg, size = self.cfg, self.cfg.image_size
        if cfg.load_latents:
            _check_full_trajectories(scene, views)

        reference = None
        if cfg.relative_poses:
            reference = scene.load_c2w(views.input_trajectories[0], views.input_frames[0, :1])[0]

        frames = self._frames(scene, views)
        out: dict[str, Tensor] = {}
        for role, trajs, idx in (
            ("input", views.input_trajectories, views.input_frames),
            ("target", views.target_trajectories, views.target_frames),
        ):
            if role == "target" or cfg.load_input_frames:
                out[f"{role}_frames"] = torch.stack([_gather(frames[t], i) for t, i in zip(trajs, idx)])
            out[f"{role}_c2w"] = torch.stack([scene.load_c2w(t, i, reference) for t, i in zip(trajs, idx)])
            out[f"{role}_K"] = torch.stack([intrinsics_to_matrix(scene.load_intrinsics(t, i, size)) for t, i in zip(trajs, idx)])
            out[f"{role}_frame_indices"] = torch.as_tensor(idx, dtype=torch.int64)
            out[f"{role}_trajectories"] = torch.as_tensor([_traj_number(scene, t) for t in trajs], dtype=torch.int64)
        if cfg.load_latents:
            out["input_latents"] = torch.stack([scene.load_latents(t) for t in views.input_trajectories])
        if cfg.load_depth and all(scene.has("depth", t) for t in views.target_trajectories):
            out["target_depth"] = torch.stack(
                [scene.load_depth(t, i, size) for t, i in zip(views.target_trajectories, views.target_frames)]
            )
        if cfg.load_input_depth and all(scene.has("depth", t) for t in views.input_trajectories):
            out["input_depth"] = torch.stack(
                [scene.load_depth(t, i, size) for t, i in zip(views.input_trajectories, views.input_frames)]
            )
        if self.is_dynamic(scene):
            # Lyra normalises the sample's frame indices (inputs + target time) to [0, 1].
            all_idx = np.concatenate([views.input_frames[0], views.target_frames[0]])
            lo, span = float(all_idx.min()), float(all_idx.max() - all_idx.min()) + cfg.timesteps_eps
            span = span if span > 0 else 1.0
            out["input_times"] = (out["input_frame_indices"].float() - lo) / span
            out["target_times"] = (out["target_frame_indices"].float() - lo) / span
        out["scene_index"] = torch.tensor(index, dtype=torch.int64)
        return out

    def _frames(self, scene: LyraScene, views: ViewSample) -> dict[str, tuple[np.ndarray, Tensor]]:
        """Per trajectory: (sorted unique frame indices, their frames), one decode each."""
        wanted: dict[str, list[np.ndarray]] = {}
        if self.cfg.load_input_frames:
            for t, i in zip(views.input_trajectories, views.input_frames):
                wanted.setdefault(t, []).append(i)
        for t, i in zip(views.target_trajectories, views.target_frames):
            wanted.setdefault(t, []).append(i)
        out = {}
        for t, parts in wanted.items():
            unique = np.unique(np.concatenate(parts))
            out[t] = (unique, scene.load_frames(t, unique, self.cfg.image_size))
        return out


def _gather(decoded: tuple[np.ndarray, Tensor], frame_indices: np.ndarray) -> Tensor:
    unique, images = decoded
    return images[torch.from_numpy(np.searchsorted(unique, frame_indices))]


def _traj_number(scene: LyraScene, trajectory: str) -> int:
    # Lyra's folders are numbers; any other name gets its position in the scene.
    return int(trajectory) if trajectory.isdigit() else scene.trajectory_ids.index(trajectory)


def _check_full_trajectories(scene: LyraScene, views: ViewSample) -> None:
    every = np.arange(scene.num_frames)
    if not all(np.array_equal(row, every) for row in views.input_frames):
        raise DatasetError(
            scene.root,
            f"scene {scene.key!r}: load_latents needs every frame as input (latents cover the whole "
            f"trajectory), but num_input_frames={views.input_frames.shape[1]} of {scene.num_frames} frames; "
            "set sampling.num_input_frames to the frame count, as Lyra does (121)",
        )
