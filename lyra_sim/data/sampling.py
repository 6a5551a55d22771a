"""Which frames of which trajectories make one training sample (Lyra's ``provider.py``).

Static scenes (``_get_indices_static``):
  1. a context gap is drawn uniformly in [min_gap, max_gap], clamped to
     [num_input_frames, num_frames - 1], and placed at a uniform random start;
  2. each input trajectory gets its own input frames: the gap's two endpoints plus sorted
     distinct random frames in between (num_input_frames in all);
  3. target frames are drawn once, without replacement, from the whole gap (uniformly, or with
     weights exp(3 * position) for ``exponential``, biased toward late frames), and rendered
     from every selected trajectory.
  Videos with no more frames than num_input_frames use every frame (equal), or a ping-pong
  mirrored clip (fewer), and targets come from the input frames.

Dynamic scenes (``_get_indices_dynamic``): one set of input frames shared by the input
trajectories; one target time chosen among the input frames; the target cameras are every
trajectory of the scene at that time (Lyra: trajectories 0-5 and their time-flipped copies 6-11;
``flipped_supervision=False`` keeps only the first half, the original's ablation).

The number of input trajectories is ``num_input_trajectories``, or uniform in
1..num_input_trajectories with ``sample_num_input_trajectories`` (Lyra's
``sample_num_input_multi_views``); they are drawn without replacement, in random order, from the
input pool (Lyra's single-element buckets '0'..'5'). The first input camera of the first drawn
trajectory becomes the sample's reference frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from lyra_sim.errors import InvalidInputError

TargetSampling = Literal["uniform", "exponential"]


@dataclass
class ViewSamplingCfg:
    """How frames and trajectories are drawn for one sample."""

    num_input_frames: int = 121
    """Input frames per input trajectory (Lyra ``num_input_views``). Defaults to 121."""

    num_target_frames: int = 9
    """Target frames per selected trajectory in static scenes (Lyra ``num_views -
    num_input_views``; the 17/49-frame stages use 17/49). Dynamic scenes always use one target
    time. Defaults to 9."""

    min_gap: int = 45
    """Smallest context gap in frames (Lyra registry ``min_gap``). Defaults to 45."""

    max_gap: int = 121
    """Largest context gap in frames (Lyra registry ``max_gap``). Defaults to 121."""

    target_sampling: TargetSampling = "uniform"
    """Distribution of target frames over the gap: "uniform", or "exponential" with weights
    exp(3 * position) (Lyra ``static_frame_sampling``; stage 6+ uses exponential).
    Defaults to "uniform"."""

    num_input_trajectories: int = 1
    """(Largest) number of input trajectories (Lyra ``num_input_multi_views``). Defaults to 1."""

    sample_num_input_trajectories: bool = True
    """Draw the number of input trajectories uniformly in 1..num_input_trajectories
    (Lyra ``sample_num_input_multi_views``). Defaults to True."""

    input_trajectories: tuple[str, ...] | None = None
    """Trajectory folders inputs are drawn from; None means every trajectory of a static
    scene, or the first half (the non-flipped "0".."5") of a dynamic one. Defaults to None."""

    flipped_supervision: bool = True
    """Dynamic scenes: render the target time from every trajectory, the motion-reversed
    second half included (Lyra's flipped supervision, 12 views of one instant); False keeps
    only the input pool's half (6 views), the original's ablation. Defaults to True."""

    mirror_short_videos: bool = True
    """Ping-pong short videos (fewer frames than num_input_frames) instead of failing
    (Lyra ``mirror_static`` / ``mirror_dynamic``). Defaults to True."""

    def __post_init__(self) -> None:
        if self.num_input_frames < 2:
            raise InvalidInputError("num_input_frames must be at least 2 (the gap's two endpoints)")
        if self.num_target_frames < 1 or self.num_input_trajectories < 1:
            raise InvalidInputError("num_target_frames and num_input_trajectories must be positive")
        if not 1 <= self.min_gap <= self.max_gap:
            raise InvalidInputError(f"need 1 <= min_gap <= max_gap, got {self.min_gap}, {self.max_gap}")
        if self.target_sampling not in ("uniform", "exponential"):
            raise InvalidInputError(f"target_sampling must be 'uniform' or 'exponential', got {self.target_sampling!r}")


@dataclass
class ViewSample:
    """The frames one sample reads.

    Attributes:
        input_trajectories: V trajectory ids, the first one holds the reference camera.
        input_frames: [V, Ti] frame indices per input trajectory (sorted, except the ping-pong
            clips of videos shorter than Ti).
        target_trajectories: Vt trajectory ids rendered as targets.
        target_frames: [Vt, Tt] frame indices per target trajectory (the same row for all).
    """

    input_trajectories: list[str]
    input_frames: np.ndarray
    target_trajectories: list[str]
    target_frames: np.ndarray


def sample_views(
    rng: np.random.Generator,
    num_frames: int,
    trajectories: Sequence[str],
    cfg: ViewSamplingCfg,
    dynamic: bool = False,
) -> ViewSample:
    """Draw one sample's trajectories and frames (see the module docstring for the rules)."""
    trajectories = [str(t) for t in trajectories]
    if cfg.input_trajectories is not None:
        pool = [str(t) for t in cfg.input_trajectories]
        unknown = sorted(set(pool) - set(trajectories))
        if unknown:
            raise InvalidInputError(f"input trajectories {unknown} are not in the scene ({trajectories})")
    else:
        pool = trajectories[: len(trajectories) // 2] if dynamic else trajectories
    n = cfg.num_input_trajectories
    if cfg.sample_num_input_trajectories:
        n = int(rng.integers(1, n + 1))
    n = min(n, len(pool))
    chosen = [pool[i] for i in rng.permutation(len(pool))[:n]]

    if dynamic:
        frames = _input_window_frames(rng, num_frames, cfg)
        input_frames = np.stack([frames] * n)
        target = int(rng.choice(frames))
        targets = list(trajectories) if cfg.flipped_supervision else trajectories[: len(trajectories) // 2]
        return ViewSample(chosen, input_frames, targets, np.full((len(targets), 1), target))

    if num_frames <= cfg.num_input_frames:
        rows = [_short_video_frames(rng, num_frames, cfg) for _ in range(n)]
        candidates = rows[0]
    else:
        start, end = context_window(rng, num_frames, cfg)
        rows = [input_frames_in_window(rng, start, end, cfg.num_input_frames) for _ in range(n)]
        candidates = np.arange(start, end + 1)
    targets = sample_target_frames(rng, candidates, cfg.num_target_frames, cfg.target_sampling)
    return ViewSample(chosen, np.stack(rows), list(chosen), np.stack([targets] * n))


def context_window(rng: np.random.Generator, num_frames: int, cfg: ViewSamplingCfg) -> tuple[int, int]:
    """``(start, end)`` frames of the context gap; needs ``num_frames > num_input_frames``."""
    gap = int(rng.integers(cfg.min_gap, cfg.max_gap + 1))
    gap = max(min(num_frames - 1, gap), cfg.num_input_frames)
    start = int(rng.integers(0, num_frames - gap))
    return start, start + gap


def input_frames_in_window(rng: np.random.Generator, start: int, end: int, count: int) -> np.ndarray:
    """``[count]`` sorted frames: ``start``, ``end`` and ``count - 2`` distinct frames between them."""
    between = np.sort(rng.permutation(np.arange(start + 1, end))[: count - 2])
    return np.concatenate([[start], between, [end]]).astype(np.int64)


def sample_target_frames(rng: np.random.Generator, candidates: np.ndarray, count: int, bias: TargetSampling) -> np.ndarray:
    """``[count]`` distinct frames of ``candidates`` (sorted), uniform or weighted exp(3 * position)."""
    candidates = np.asarray(candidates)
    if count > len(candidates):
        raise InvalidInputError(f"cannot draw {count} distinct target frames from {len(candidates)} candidates")
    p = None
    if bias == "exponential":
        weights = np.exp(3.0 * np.linspace(0.0, 1.0, len(candidates)))
        p = weights / weights.sum()
    return np.sort(candidates[rng.choice(len(candidates), size=count, replace=False, p=p)]).astype(np.int64)


def mirror_frame_indices(num_samples: int, num_frames: int, start: int) -> np.ndarray:
    """``num_samples`` frames of the ping-pong sequence 0..T-1..0..T-1..., from position ``start``."""
    if num_frames < 2:
        return np.zeros(num_samples, dtype=np.int64)
    period = 2 * (num_frames - 1)
    pos = (start + np.arange(num_samples)) % period
    return np.where(pos < num_frames, pos, period - pos).astype(np.int64)


def _short_video_frames(rng: np.random.Generator, num_frames: int, cfg: ViewSamplingCfg) -> np.ndarray:
    if num_frames == cfg.num_input_frames:
        return np.arange(num_frames, dtype=np.int64)
    if not cfg.mirror_short_videos:
        raise InvalidInputError(
            f"the scene has {num_frames} frames per trajectory, fewer than num_input_frames="
            f"{cfg.num_input_frames}; lower num_input_frames or enable mirror_short_videos"
        )
    # Lyra draws a random start in the repeated sequence (``mirror_frame_indices``).
    return mirror_frame_indices(cfg.num_input_frames, num_frames, int(rng.integers(0, 2 * (num_frames - 1) or 1)))


def _input_window_frames(rng: np.random.Generator, num_frames: int, cfg: ViewSamplingCfg) -> np.ndarray:
    if num_frames <= cfg.num_input_frames:
        if num_frames == cfg.num_input_frames:
            return np.arange(num_frames, dtype=np.int64)
        if not cfg.mirror_short_videos:
            return _short_video_frames(rng, num_frames, cfg)  # raises the explanatory error
        return mirror_frame_indices(cfg.num_input_frames, num_frames, 0)  # Lyra starts dynamic clips at 0
    start, end = context_window(rng, num_frames, cfg)
    return input_frames_in_window(rng, start, end, cfg.num_input_frames)
