"""`DecoderCfg`: every number of the latent Gaussian decoder, loadable from YAML.

``configs/model/lyra_full.yaml`` reproduces Lyra-1's decoder (lyra-facts.md §1);
``configs/model/embedded.yaml`` is the small one trained on CPU and shipped in the package.
Load with :func:`load_decoder_cfg`, which accepts Hydra-style ``key=value`` overrides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from lyra_sim.errors import InvalidInputError


@dataclass
class DecoderCfg:
    """Configuration of :class:`~lyra_sim.models.LatentGaussianDecoder`."""

    latent_channels: int = 16
    """Channels of the codec's latents (Cosmos and Wan: 16). Defaults to 16."""
    temporal_compression: int = 8
    """Pixel frames per latent frame, causal first frame (Cosmos 8, Wan 4, DCT 1/4/8). Defaults to 8."""
    spatial_compression: int = 8
    """Pixels per latent pixel along each axis. Defaults to 8."""
    codec: str = "dct-t8"
    """Codec that encodes Plücker rays and times when ``ray_embedding == "codec"``
    (:func:`lyra_sim.codecs.load_codec` name or folder). Defaults to "dct-t8"."""

    patch_size: int = 2
    """Latent pixels per token along each axis (Conv3d kernel = stride (1, p, p)). Defaults to 2."""
    width: int = 512
    """Token width (hidden size) of the backbone. Defaults to 512."""
    depth: int = 16
    """Number of backbone blocks. Defaults to 16."""
    num_heads: int = 8
    """Attention heads (head dim = width / num_heads). Defaults to 8."""
    mlp_ratio: float = 4.0
    """MLP hidden size as a multiple of the width in attention blocks. Defaults to 4."""
    attention_every: int = 8
    """Block i is attention when (i + 1) % attention_every == 0, else Mamba-2 (Long-LRM's "7M1T"
    for 8); 1 gives an attention-only backbone. Defaults to 8."""
    mamba_d_state: int = 256
    """Mamba-2 state size. Defaults to 256."""
    mamba_d_conv: int = 4
    """Mamba-2 causal conv width. Defaults to 4."""
    mamba_expand: int = 2
    """Mamba-2 inner width as a multiple of the token width. Defaults to 2."""
    mamba_headdim: int = 64
    """Mamba-2 head size. Defaults to 64."""
    mamba_chunk_size: int = 256
    """Chunk length of the SSD scan. Defaults to 256."""

    ray_embedding: Literal["codec", "unshuffle"] = "codec"
    """How Plücker rays (and times) enter: "codec" encodes the moment and direction halves with
    the codec as if they were RGB videos (Lyra), "unshuffle" is a learned space-to-depth
    convolution of the full-resolution rays. Both go through a zero-initialised patch embedding.
    Defaults to "codec"."""
    time_embedding: bool = False
    """Create the time-conditioning embeddings (input times and one target time, [t, cos t,
    sin t] tiled). Lyra's static checkpoint carries them unused; the dynamic model uses them.
    Defaults to False."""

    gaussian_stride: int = 8
    """Image pixels per Gaussian along each axis (Lyra: one Gaussian per 8x8 block). Defaults to 8."""
    near: float = 0.1
    """Closest distance along a ray a Gaussian can sit at (Lyra dnear). Defaults to 0.1."""
    far: float = 500.0
    """Farthest distance (Lyra dfar). Defaults to 500."""
    distance_shift: float = -1.65
    """Added before the distance sigmoid; Lyra's -1.65 puts the initial distance at ~80 of 500.
    Defaults to -1.65."""
    scale_cap: float = 0.3
    """Largest Gaussian standard deviation (scene units). Defaults to 0.3."""
    scale_activation: Literal["clamp", "softcap"] = "clamp"
    """How raw scales become standard deviations below ``scale_cap``. "clamp" (Lyra):
    ``min(exp(raw - 1 + log cap), cap)``, whose gradient is zero above the cap, so a splat
    that once grew past it stays at the cap for ever (the first embedded decoder ended with
    every splat there). "softcap": ``cap * sigmoid(raw - 1)``, the same curve for small
    splats, never flat. Defaults to "clamp" (what checkpoints without the key were trained with)."""
    opacity_shift: float = 2.0
    """opacity = sigmoid(raw - shift). Defaults to 2."""
    prune_keep_fraction: float | None = None
    """Keep this fraction of the most opaque Gaussians inside forward (Lyra's *_prune: 0.2);
    None keeps all. Defaults to None."""

    gradient_checkpointing: bool = False
    """Recompute each block in backward to save memory. Defaults to False."""
    bf16: bool = False
    """Run the backbone under bfloat16 autocast (GPU). Defaults to False."""

    @property
    def block_types(self) -> list[str]:
        """"attention" or "mamba" for every block."""
        return ["attention" if (i + 1) % self.attention_every == 0 else "mamba" for i in range(self.depth)]

    def validate(self) -> "DecoderCfg":
        if self.width % self.num_heads:
            raise InvalidInputError(f"width {self.width} is not divisible by num_heads {self.num_heads}")
        if (self.spatial_compression * self.patch_size) % self.gaussian_stride:
            raise InvalidInputError(
                f"a token covers {self.spatial_compression * self.patch_size} pixels, which gaussian_stride "
                f"{self.gaussian_stride} must divide"
            )
        if self.ray_embedding not in ("codec", "unshuffle"):
            raise InvalidInputError(f"ray_embedding must be 'codec' or 'unshuffle', got {self.ray_embedding!r}")
        if self.scale_activation not in ("clamp", "softcap"):
            raise InvalidInputError(f"scale_activation must be 'clamp' or 'softcap', got {self.scale_activation!r}")
        if not 0 < self.near < self.far:
            raise InvalidInputError(f"need 0 < near < far, got {self.near}, {self.far}")
        if self.prune_keep_fraction is not None and not 0 < self.prune_keep_fraction <= 1:
            raise InvalidInputError(f"prune_keep_fraction must be in (0, 1], got {self.prune_keep_fraction}")
        if "mamba" in self.block_types and (self.mamba_expand * self.width) % self.mamba_headdim:
            raise InvalidInputError("mamba_expand * width must be divisible by mamba_headdim")
        return self


def load_decoder_cfg(path: str | Path | None = None, overrides: Sequence[str] = ()) -> DecoderCfg:
    """A :class:`DecoderCfg` from a YAML file (or the defaults) plus ``key=value`` overrides."""
    from lyra_sim.config import load_structured

    return load_structured(DecoderCfg, path, overrides, what="model config", hint="see configs/model/").validate()
