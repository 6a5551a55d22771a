"""CosmosCodec and WanCodec: the teachers' video VAEs through diffusers, from local weights only.

Weights load with ``from_pretrained(local_dir, local_files_only=True)``; nothing downloads at run
time and a missing directory raises :class:`MissingWeightsError` naming what to download.
``local_dir`` is a diffusers-format VAE folder (``config.json`` + ``diffusion_pytorch_model.safetensors``);
a model folder whose ``vae/`` subfolder holds one is accepted too.

Encoding is deterministic: it returns the posterior's mode (Cosmos' posterior is an identity
distribution, Wan's a diagonal Gaussian whose mean is returned), never a sample. ``encode`` and
``decode`` run without gradients (the VAEs are frozen teachers) and return tensors on the input's
device and in its dtype; the model runs on its own device and dtype.

Latent statistics. ``encode`` returns the VAE's raw latents, which is what Lyra's decoder reads
(stages 1-4 encode frames on the fly). Diffusion models work in a normalised space:
``normalize_latents(z) = (z - mean) / std * sigma_data`` and ``denormalize_latents`` inverts it,
with ``mean``/``std`` shaped ``[1, C, n, 1, 1]`` and applied to ``[B, C, t, h, w]`` latents (the
first t of the n frames; n = 1 broadcasts over time):

* Cosmos (``sigma_data = 0.5``, the EDM value GEN3C uses): diffusers' config holds ``latents_mean``
  / ``latents_std`` of CV8x8x8-1.0 as 256 numbers, channel-major, i.e. ``[1, 16, 16, 1, 1]``
  (per channel *and* per latent frame; 16 latent frames = 121 pixel frames). Lyra reads the same
  layout from ``mean_std.pt`` of ``Cosmos-Tokenize1-CV8x8x8-720p`` (a ``(mean, std)`` pair viewed
  ``[16, -1]``); pass that file as ``latent_stats`` to use it instead of the config's values.
  Note: cosmos-predict1's tokenizer and diffusers apply these statistics to ``[B, C, T, H, W]`` as
  here, but Lyra's ``denormalize_latents`` applies them after rearranging to ``[B, T, C, H, W]``,
  so it pairs (frame t, channel c) with the statistic of (channel t, frame c).
* Wan 2.1 (``sigma_data = 1``, flow matching): 16 per-channel values, ``[1, 16, 1, 1, 1]``.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor

from lyra_sim.codecs.base import CodecBase
from lyra_sim.errors import InvalidInputError, MissingWeightsError
from lyra_sim.io.archive import check_torch_file

PathLike = str | os.PathLike


class DiffusersVAECodec(CodecBase):
    """A diffusers video VAE behind the :class:`~lyra_sim.codecs.base.Codec` protocol.

    Use :meth:`from_pretrained` (what configs and the CLI do); the constructor wraps a model that
    is already loaded.

    Args:
        vae: the diffusers autoencoder (kept as ``self.vae``, e.g. to call ``enable_tiling()``).
        latent_stats: ``(mean, std)`` tensors or a ``.pt`` file holding them (see the module
            docstring); None uses the statistics in the model's config. Defaults to None.
        sigma_data: scale of the diffusion space; None uses the family's value. Defaults to None.
    """

    family: ClassVar[str]
    model_class: ClassVar[str]
    default_sigma_data: ClassVar[float]
    weights_hint: ClassVar[str]

    def __init__(
        self,
        vae: torch.nn.Module,
        *,
        latent_stats: PathLike | Sequence[Tensor] | None = None,
        sigma_data: float | None = None,
    ):
        if type(vae).__name__ != self.model_class:
            raise InvalidInputError(f"{type(self).__name__} wraps a {self.model_class}; got {type(vae).__name__}")
        self.vae = vae.eval().requires_grad_(False)
        c, tc, s = self._compression(vae.config)
        self.latent_channels, self.temporal_compression, self.spatial_compression = c, tc, s
        self.name = self._name()
        self.sigma_data = float(self.default_sigma_data if sigma_data is None else sigma_data)
        if latent_stats is None:
            mean, std = vae.config.get("latents_mean"), vae.config.get("latents_std")
            self.latents_mean = None if mean is None else _stats_tensor(mean, c, "latents_mean")
            self.latents_std = None if std is None else _stats_tensor(std, c, "latents_std")
        else:
            self.latents_mean, self.latents_std = load_latent_stats(latent_stats, c)

    @classmethod
    def from_pretrained(
        cls,
        path: PathLike,
        *,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
        latent_stats: PathLike | Sequence[Tensor] | None = None,
        sigma_data: float | None = None,
    ) -> DiffusersVAECodec:
        """Load the VAE from a local diffusers-format folder (never the Hub).

        Args:
            path: the VAE folder, or a model folder with a ``vae/`` subfolder.
            device: where the model runs; None: CUDA if available, else CPU. Defaults to None.
            dtype: model dtype; None: bfloat16 on CUDA, float32 on CPU (Cosmos has no bfloat16
                avg_pool3d kernel on CPU). Defaults to None.
            latent_stats, sigma_data: see the class docstring.
        """
        folder = resolve_weights_dir(path, cls)
        device = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
        if dtype is None:
            dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
        import diffusers  # here, not at the top: a slow import DCT users never pay

        vae = getattr(diffusers, cls.model_class).from_pretrained(
            str(folder),
            local_files_only=True,
            torch_dtype=dtype,
            # diffusers warns when it wants accelerate for this and cannot find it
            low_cpu_mem_usage=importlib.util.find_spec("accelerate") is not None,
        )
        return cls(vae.to(device), latent_stats=latent_stats, sigma_data=sigma_data)

    @property
    def device(self) -> torch.device:
        return next(self.vae.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.vae.parameters()).dtype

    def _encode(self, video: Tensor) -> Tensor:
        with torch.no_grad():
            posterior = self.vae.encode(video.to(self.device, self.dtype)).latent_dist
            z = posterior.mode()
        return z.to(video.device, video.dtype)

    def _decode(self, latents: Tensor) -> Tensor:
        with torch.no_grad():
            video = self.vae.decode(latents.to(self.device, self.dtype)).sample
        return video.to(latents.device, latents.dtype)

    def normalize_latents(self, latents: Tensor) -> Tensor:
        """Raw latents [B, C, t, h, w] -> diffusion space: (z - mean) / std * sigma_data."""
        mean, std = self._stats_for(latents)
        if mean is None:
            return latents * self.sigma_data
        return (latents - mean) / std * self.sigma_data

    def denormalize_latents(self, latents: Tensor) -> Tensor:
        """Diffusion space [B, C, t, h, w] -> raw latents: z / sigma_data * std + mean."""
        mean, std = self._stats_for(latents)
        if mean is None:
            return latents / self.sigma_data
        return latents / self.sigma_data * std + mean

    def _stats_for(self, latents: Tensor) -> tuple[Tensor | None, Tensor | None]:
        if latents.ndim != 5 or latents.shape[1] != self.latent_channels:
            raise InvalidInputError(
                f"{self.name}: latent normalisation expects [B, {self.latent_channels}, t, h, w]; got {tuple(latents.shape)}"
            )
        if self.latents_mean is None or self.latents_std is None:
            return None, None
        t, n = latents.shape[2], self.latents_mean.shape[2]
        if n != 1 and t > n:
            raise InvalidInputError(
                f"{self.name}: the latent statistics cover {n} latent frames ({1 + (n - 1) * self.temporal_compression} "
                f"pixel frames) but the latents have {t}; normalise longer videos chunk by chunk, as GEN3C generates them"
            )
        sl = slice(None) if n == 1 else slice(0, t)
        mean = self.latents_mean[:, :, sl].to(latents.device, latents.dtype)
        std = self.latents_std[:, :, sl].to(latents.device, latents.dtype)
        return mean, std

    # Family-specific pieces.
    @staticmethod
    def _compression(config: Mapping) -> tuple[int, int, int]:
        raise NotImplementedError

    def _name(self) -> str:
        raise NotImplementedError


class CosmosCodec(DiffusersVAECodec):
    """Cosmos tokenizer (``AutoencoderKLCosmos``): CV8x8x8 is 16 channels, 8x causal time, 8x8 space.

    Lyra's teacher codec. Name: ``cosmos-cv{tc}x{s}x{s}`` (``cosmos-cv8x8x8``).
    """

    family = "cosmos"
    model_class = "AutoencoderKLCosmos"
    default_sigma_data = 0.5
    weights_hint = (
        "download the diffusers-format Cosmos tokenizer, e.g. `huggingface-cli download "
        "nvidia/Cosmos-1.0-Tokenizer-CV8x8x8 --include 'vae/*' --local-dir DIR` and pass path=DIR/vae "
        "(Lyra's nvidia/Cosmos-Tokenize1-CV8x8x8-720p holds the same tokenizer as TorchScript .jit files, "
        "which diffusers cannot load; its mean_std.pt can be passed as latent_stats=...)"
    )

    @staticmethod
    def _compression(config: Mapping) -> tuple[int, int, int]:
        return (
            int(config["latent_channels"]),
            int(config["temporal_compression_ratio"]),
            int(config["spatial_compression_ratio"]),
        )

    def _name(self) -> str:
        s = self.spatial_compression
        return f"cosmos-cv{self.temporal_compression}x{s}x{s}"


class WanCodec(DiffusersVAECodec):
    """Wan VAE (``AutoencoderKLWan``): Wan 2.1 is 16 channels, 4x causal time, 8x8 space.

    The VAE of Wan 2.1 and Cosmos-Predict2. Name: ``wan-{tc}x{s}x{s}`` (``wan-4x8x8``;
    Wan 2.2's 48-channel VAE is ``wan-4x16x16``).
    """

    family = "wan"
    model_class = "AutoencoderKLWan"
    default_sigma_data = 1.0
    weights_hint = (
        "download a diffusers-format Wan 2.1 VAE, e.g. `huggingface-cli download "
        "Wan-AI/Wan2.1-T2V-1.3B-Diffusers --include 'vae/*' --local-dir DIR` and pass path=DIR/vae"
    )

    @staticmethod
    def _compression(config: Mapping) -> tuple[int, int, int]:
        temporal = 2 ** sum(bool(d) for d in config["temperal_downsample"])
        spatial = 2 ** (len(config["dim_mult"]) - 1) * int(config.get("patch_size") or 1)
        return int(config["z_dim"]), temporal, spatial

    def _name(self) -> str:
        s = self.spatial_compression
        return f"wan-{self.temporal_compression}x{s}x{s}"


def resolve_weights_dir(path: PathLike | None, codec_cls: type[DiffusersVAECodec]) -> Path:
    """The diffusers VAE folder at ``path`` (or ``path/vae``); raises MissingWeightsError / InvalidInputError."""
    what = f"{codec_cls.family} codec weights"
    if path is None:
        raise MissingWeightsError(f"the {codec_cls.family} codec needs path=<local VAE folder>: {codec_cls.weights_hint}")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise MissingWeightsError(
            f"{what}: {root} does not exist or is not a folder. lyra-sim never downloads weights: "
            f"{codec_cls.weights_hint}"
        )
    folder = root if (root / "config.json").is_file() else root / "vae"
    if not (folder / "config.json").is_file():
        jit = " It holds TorchScript .jit files, which diffusers cannot load." if any(root.glob("*.jit")) else ""
        raise MissingWeightsError(
            f"{what}: no config.json in {root} or {root / 'vae'}, so it is not a diffusers-format VAE.{jit} "
            f"{codec_cls.weights_hint[0].upper() + codec_cls.weights_hint[1:]}"
        )
    found = json.loads((folder / "config.json").read_text()).get("_class_name")
    if found != codec_cls.model_class:
        other = {c.model_class: c.family for c in (CosmosCodec, WanCodec)}.get(found)
        hint = f"; load it as codec '{other}'" if other else ""
        raise InvalidInputError(
            f"{folder} holds a {found}, not the {codec_cls.model_class} the {codec_cls.family} codec needs{hint}"
        )
    return folder


def detect_family(path: PathLike) -> type[DiffusersVAECodec] | None:
    """CosmosCodec / WanCodec from a folder's config.json (or its vae/ subfolder), else None."""
    root = Path(path).expanduser()
    for folder in (root, root / "vae"):
        cfg = folder / "config.json"
        if cfg.is_file():
            name = json.loads(cfg.read_text()).get("_class_name")
            return {c.model_class: c for c in (CosmosCodec, WanCodec)}.get(name)
    return None


def load_latent_stats(stats: PathLike | Sequence[Tensor], channels: int) -> tuple[Tensor, Tensor]:
    """(mean, std) as float32 [1, C, n, 1, 1] from a ``(mean, std)`` pair or a ``.pt`` file of one.

    The file is Lyra's / cosmos-predict1's ``mean_std.pt`` layout: a pair of tensors of C * n
    numbers, channel-major (viewed ``[C, n]``). A dict with keys ``mean`` and ``std`` works too.
    """
    if isinstance(stats, (str, os.PathLike)):
        path = Path(stats).expanduser()
        if not path.is_file():
            raise MissingWeightsError(
                f"latent statistics file {path} does not exist; Lyra's is mean_std.pt in the "
                "nvidia/Cosmos-Tokenize1-CV8x8x8-720p folder (e.g. checkpoints/cosmos_predict1/"
                "Cosmos-Tokenize1-CV8x8x8-720p/mean_std.pt), or pass latent_stats=None to use the VAE config's"
            )
        check_torch_file(path)
        stats = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(stats, Mapping):
            stats = (stats.get("mean"), stats.get("std"))
    if not isinstance(stats, Sequence) or len(stats) != 2 or any(s is None for s in stats):
        raise InvalidInputError("latent statistics must be a (mean, std) pair of tensors or a dict with 'mean' and 'std'")
    mean, std = (_stats_tensor(s, channels, name) for s, name in zip(stats, ("mean", "std")))
    if mean.shape != std.shape:
        raise InvalidInputError(f"latent mean {tuple(mean.shape)} and std {tuple(std.shape)} differ in shape")
    return mean, std


def _stats_tensor(values, channels: int, what: str) -> Tensor:
    t = torch.as_tensor(values, dtype=torch.float32).flatten()
    if t.numel() == 0 or t.numel() % channels:
        raise InvalidInputError(f"{what} has {t.numel()} numbers; expected a multiple of the {channels} latent channels")
    if what in ("std", "latents_std") and not bool((t > 0).all()):
        raise InvalidInputError(f"{what} must be positive everywhere")
    return t.view(1, channels, -1, 1, 1)
