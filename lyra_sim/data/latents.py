"""The diffusion model's latent normalisation, as GEN3C saves latents and Lyra undoes it.

GEN3C's latents are in the Cosmos diffusion model's *normalised* space. Lyra maps them back to
the tokenizer's space with ``x / sigma_data * std + mean`` (sigma_data = 0.5), where ``mean``
and ``std`` hold one value per latent channel **and per latent frame** (``mean_std.pt`` of the
tokenizer checkpoint, reshaped to [1, 16, 16, 1, 1]; ``cosmos_1_tokenizer.py:
get_cosmos_diffusion_mean_std / denormalize_latents``). The statistics belong to the model, not
to lyra-sim, so they are always given by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from lyra_sim.errors import DatasetError, InvalidInputError
from lyra_sim.io.archive import check_torch_file

COSMOS_SIGMA_DATA = 0.5


@dataclass
class LatentStatistics:
    """Per-channel, per-latent-frame statistics of a normalised latent space.

    Attributes:
        mean: [C, T] (T latent frames; Cosmos CV8x8x8 at 121 frames: [16, 16]).
        std: [C, T].
        sigma_data: the diffusion model's data scale. Defaults to 0.5 (Cosmos).
    """

    mean: Tensor
    std: Tensor
    sigma_data: float = COSMOS_SIGMA_DATA

    def __post_init__(self) -> None:
        self.mean = torch.as_tensor(self.mean, dtype=torch.float32)
        self.std = torch.as_tensor(self.std, dtype=torch.float32)
        if self.mean.ndim != 2 or self.mean.shape != self.std.shape:
            raise InvalidInputError(f"mean and std must both be [C, T], got {list(self.mean.shape)} and {list(self.std.shape)}")

    @classmethod
    def load(cls, path: str | Path, num_channels: int = 16, sigma_data: float = COSMOS_SIGMA_DATA) -> LatentStatistics:
        """Read a Cosmos ``mean_std.pt``: a ``(mean, std)`` pair of tensors with C*T values each."""
        path = Path(path)
        if not path.is_file():
            raise DatasetError(path, "latent statistics file is missing; it ships with the tokenizer checkpoint (mean_std.pt)")
        check_torch_file(path)
        try:
            mean, std = torch.load(path, map_location="cpu", weights_only=True)
            return cls(mean.reshape(num_channels, -1), std.reshape(num_channels, -1), sigma_data)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise DatasetError(path, f"not a (mean, std) pair with {num_channels} channels ({exc})") from None

    def _stats_for(self, latents: Tensor) -> tuple[Tensor, Tensor]:
        c, t = latents.shape[-4], latents.shape[-3]
        if c != self.mean.shape[0] or t > self.mean.shape[1]:
            raise InvalidInputError(
                f"latents [C={c}, t={t}, ...] do not fit statistics for C={self.mean.shape[0]}, "
                f"up to T={self.mean.shape[1]} latent frames; use the statistics of the model that made them"
            )
        # Shorter clips use the first t per-frame statistics (the causal tokenizer's frame order).
        mean = self.mean[:, :t, None, None].to(latents.device, latents.dtype)
        std = self.std[:, :t, None, None].to(latents.device, latents.dtype)
        return mean, std

    def denormalize(self, latents: Tensor) -> Tensor:
        """``[..., C, t, h, w]`` normalised -> tokenizer space: ``x / sigma_data * std + mean``."""
        mean, std = self._stats_for(latents)
        return latents / self.sigma_data * std + mean

    def normalize(self, latents: Tensor) -> Tensor:
        """Inverse of :meth:`denormalize`."""
        mean, std = self._stats_for(latents)
        return (latents - mean) / std * self.sigma_data
