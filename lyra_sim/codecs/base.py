"""The codec protocol: video <-> latents, and the shape rules every codec shares.

A codec maps a video ``[B, 3, T, H, W]`` with values in [-1, 1] to latents
``[B, C, t, h, w]`` and back. Lyra's decoder reads the latents; the teacher's "RGB decoder" is
``codec.decode``. All codecs in lyra-sim use the *causal* temporal convention of the Cosmos
tokenizer: the first frame is encoded alone and every further group of ``tc`` frames becomes
one latent frame, so ``T = 1 + k * tc`` frames give ``t = 1 + k`` latent frames (121 -> 16,
49 -> 7, 17 -> 3 for tc = 8; with tc = 1, T -> T).

Values outside [-1, 1] are accepted and encoded as they are (nothing is clamped); learned
codecs were trained on [-1, 1] and behave as they do outside it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from lyra_sim.errors import InvalidInputError


def latent_frames(num_frames: int, temporal_compression: int) -> int:
    """Latent frames of a ``num_frames`` video under the causal convention: 1 + (T - 1) / tc.

    Raises InvalidInputError (saying which frame counts work) when T - 1 is not a multiple of tc.
    """
    tc = temporal_compression
    if num_frames < 1 or (num_frames - 1) % tc:
        below = 1 + max(num_frames - 1, 0) // tc * tc
        fix = f"trim the video to {below} or pad it to {below + tc} frames" if num_frames > 1 else "give at least 1 frame"
        raise InvalidInputError(
            f"got T={num_frames} frames; with temporal compression {tc} a video must have T = 1 + k*{tc} "
            f"frames (e.g. {', '.join(str(1 + k * tc) for k in (0, 2, 6, 15))}): the first frame is encoded "
            f"alone, then each group of {tc} frames becomes one latent frame; {fix}"
        )
    return 1 + (num_frames - 1) // tc


def pixel_frames(num_latent_frames: int, temporal_compression: int) -> int:
    """Frames a video of ``num_latent_frames`` latent frames decodes to: 1 + (t - 1) * tc."""
    if num_latent_frames < 1:
        raise InvalidInputError(f"latents need at least 1 latent frame; got {num_latent_frames}")
    return 1 + (num_latent_frames - 1) * temporal_compression


@runtime_checkable
class Codec(Protocol):
    """What the rest of lyra-sim needs from a video codec.

    Attributes:
        name: recorded in datasets next to the latents ("dct-t8", "cosmos-cv8x8x8", "wan-4x8x8").
        latent_channels: C.
        temporal_compression: tc; T = 1 + k * tc frames -> 1 + k latent frames (causal).
        spatial_compression: s; H x W pixels -> H/s x W/s latent pixels.
    """

    name: str
    latent_channels: int
    temporal_compression: int
    spatial_compression: int

    def encode(self, video: Tensor) -> Tensor:
        """video: [B, 3, T, H, W] in [-1, 1] -> latents: [B, C, t, h, w]."""
        ...

    def decode(self, latents: Tensor) -> Tensor:
        """latents: [B, C, t, h, w] -> video: [B, 3, T, H, W], about [-1, 1], not clamped."""
        ...

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(C, t, h, w) of the latents of a [B, 3, T, H, W] video; raises for invalid sizes."""
        ...

    def normalize_latents(self, latents: Tensor) -> Tensor:
        """Codec latents -> the space a diffusion model works in (identity where there is none)."""
        ...

    def denormalize_latents(self, latents: Tensor) -> Tensor:
        """Inverse of :meth:`normalize_latents`."""
        ...


class CodecBase:
    """Shape rules and input checks shared by lyra-sim's codecs.

    Subclasses set the four attributes of :class:`Codec` and implement ``_encode`` / ``_decode``,
    which receive already-validated tensors. ``encode`` / ``decode`` return tensors on the input's
    device and in the input's dtype.
    """

    name: str
    latent_channels: int
    temporal_compression: int
    spatial_compression: int

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        s = self.spatial_compression
        if height < s or width < s or height % s or width % s:
            raise InvalidInputError(
                f"{self.name}: height and width must be positive multiples of {s} pixels; got {height}x{width}. "
                f"Crop or resize the frames to e.g. {max(s, height // s * s)}x{max(s, width // s * s)}."
            )
        try:
            t = latent_frames(num_frames, self.temporal_compression)
        except InvalidInputError as e:
            raise InvalidInputError(f"{self.name}: {e}") from None
        return self.latent_channels, t, height // s, width // s

    def video_shape(self, num_latent_frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(3, T, H, W) of the video that latents [B, C, t, h, w] decode to."""
        s = self.spatial_compression
        return 3, pixel_frames(num_latent_frames, self.temporal_compression), height * s, width * s

    def encode(self, video: Tensor) -> Tensor:
        """video: [B, 3, T, H, W] in [-1, 1] -> latents: [B, C, t, h, w] (input's device and dtype)."""
        if not isinstance(video, Tensor) or video.ndim != 5 or video.shape[1] != 3:
            shape = tuple(video.shape) if isinstance(video, Tensor) else type(video).__name__
            raise InvalidInputError(
                f"{self.name}.encode expects a video [B, 3, T, H, W] in [-1, 1]; got {shape}. "
                "Add a batch dimension with video[None], or reorder a [B, T, 3, H, W] video with "
                "video.permute(0, 2, 1, 3, 4)."
            )
        _check_float(video, f"{self.name}.encode", "convert uint8 frames with video.float() / 127.5 - 1")
        self.latent_shape(*video.shape[2:])
        return self._encode(video)

    def decode(self, latents: Tensor) -> Tensor:
        """latents: [B, C, t, h, w] -> video: [B, 3, T, H, W] (input's device and dtype), not clamped."""
        if not isinstance(latents, Tensor) or latents.ndim != 5 or latents.shape[1] != self.latent_channels:
            shape = tuple(latents.shape) if isinstance(latents, Tensor) else type(latents).__name__
            raise InvalidInputError(
                f"{self.name}.decode expects latents [B, {self.latent_channels}, t, h, w]; got {shape}. "
                "Add a batch dimension with latents[None], and check that the latents were made by this codec."
            )
        _check_float(latents, f"{self.name}.decode", "pass the latents as a float tensor")
        if latents.shape[2] < 1 or latents.shape[3] < 1 or latents.shape[4] < 1:
            raise InvalidInputError(f"{self.name}.decode got empty latents {tuple(latents.shape)}")
        return self._decode(latents)

    def normalize_latents(self, latents: Tensor) -> Tensor:
        """Identity: these latents have no separate diffusion space."""
        return latents

    def denormalize_latents(self, latents: Tensor) -> Tensor:
        """Identity: these latents have no separate diffusion space."""
        return latents

    def _encode(self, video: Tensor) -> Tensor:
        raise NotImplementedError

    def _decode(self, latents: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, C={self.latent_channels}, "
            f"compression={self.temporal_compression}x{self.spatial_compression}x{self.spatial_compression})"
        )


def _check_float(x: Tensor, where: str, fix: str) -> None:
    if not torch.is_floating_point(x):
        raise InvalidInputError(f"{where} needs a floating-point tensor; got {x.dtype}: {fix}")
