"""`LatentGaussianDecoder`: video latents + camera rays (+ time) -> pixel-aligned 3D Gaussians.

Lyra's feed-forward 3DGS decoder (lyra-facts.md §1), configurable from Lyra's full size down to
a CPU-sized model:

1. **Latent tokens**: per view, a Conv3d patch embedding (kernel = stride (1, p, p)) of the
   codec latents ``[C, t, h, w]`` and a LayerNorm -> ``t * (h/p) * (w/p)`` tokens.
2. **Conditioning** (zero-initialised, added to the tokens): Plücker rays of every pixel of
   every frame (moment, direction), either encoded by the codec like RGB videos (Lyra) or by a
   learned space-to-depth convolution; for the dynamic model also the input frames' times and
   one target time, ``[t, cos t, sin t]`` tiled over the image.
3. **Backbone**: all views' tokens in ONE sequence; Mamba-2 blocks with an attention block every
   ``attention_every`` (Lyra: 7 Mamba + 1 attention, twice); final LayerNorm.
4. **Head**: per view, a ConvTranspose3d to 12 raw values per Gaussian, one Gaussian per
   ``gaussian_stride`` x ``gaussian_stride`` pixels of every input frame, placed on that pixel's
   ray at a distance squashed between ``near`` and ``far``.
5. Optional opacity pruning (keep the most opaque fraction) after fusing all views.

Besides the Gaussians it returns the per-pixel decoded distance and z-depth maps and each
Gaussian's ray index: the collision proxy is fused from exactly this depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from lyra_sim.cameras import Cameras
from lyra_sim.cameras.rays import camera_rays, plucker_rays
from lyra_sim.errors import InvalidInputError
from lyra_sim.gaussians import GaussianScene
from lyra_sim.models.config import DecoderCfg
from lyra_sim.models.layers import AttentionBlock, PatchEmbed3D, init_linear

RAW_CHANNELS = 12  # distance 1, rgb 3, scale 3, rotation 4, opacity 1 (Lyra's split order)


@dataclass
class DecoderOutput:
    """Gaussians for a batch of B scenes (all views fused), plus the decoded depth.

    Attributes:
        means: [B, N, 3] centres in the scene frame (first input camera, OpenCV).
        quats: [B, N, 4] unit (w, x, y, z).
        scales: [B, N, 3] linear, in (0, scale_cap].
        opacities: [B, N] in (0, 1).
        rgb: [B, N, 3] in (0, 1).
        ray_index: [B, N] flat index of each Gaussian's pixel ray into ``[V, T, Hg, Wg]``.
        distance: [B, V, T, Hg, Wg] decoded distance along each pixel's unit ray.
        depth: [B, V, T, Hg, Wg] the same as camera z-depth.
        cameras: the Gaussian-resolution cameras of every (view, frame), ``B * V * T`` of them.
    """

    means: Tensor
    quats: Tensor
    scales: Tensor
    opacities: Tensor
    rgb: Tensor
    ray_index: Tensor
    distance: Tensor
    depth: Tensor
    cameras: Cameras

    def scene(self, b: int = 0) -> GaussianScene:
        """Batch element ``b`` as a :class:`GaussianScene` (degree-0 SH from the RGB)."""
        return GaussianScene.from_rgb(self.means[b], self.quats[b], self.scales[b], self.opacities[b], self.rgb[b])

    def __len__(self) -> int:
        return self.means.shape[1]


class LatentGaussianDecoder(nn.Module):
    """See the module docstring; all sizes come from :class:`DecoderCfg`.

    Args:
        cfg: the configuration.
        codec: encodes rays/times in ``ray_embedding == "codec"`` mode; loaded from
            ``cfg.codec`` when None. Not a parameter of the model (never trained or saved).
    """

    def __init__(self, cfg: DecoderCfg, codec=None):
        super().__init__()
        self.cfg = cfg.validate()
        c, p, w = cfg.latent_channels, cfg.patch_size, cfg.width
        tc, s = cfg.temporal_compression, cfg.spatial_compression
        if tc > 1 and tc % 2:
            raise InvalidInputError(f"temporal_compression must be 1 or even, got {tc}")
        self._codec = codec
        self.patch_embed = PatchEmbed3D(c, w, (1, p, p))
        if cfg.ray_embedding == "codec":
            cond_kernel, cond_padding, ray_in, time_in = (1, p, p), (0, 0, 0), 2 * c, c
        else:
            cond_kernel, cond_padding, ray_in, time_in = (tc, s * p, s * p), (tc // 2, 0, 0), 6, 3
        self.patch_plucker_embed = PatchEmbed3D(ray_in, w, cond_kernel, cond_padding, zero_init=True)
        if cfg.time_embedding:
            self.patch_time_embed = PatchEmbed3D(time_in, w, cond_kernel, cond_padding, zero_init=True)
            self.patch_time_embed_tgt = PatchEmbed3D(time_in, w, cond_kernel, cond_padding, zero_init=True)
        self.enc_blocks = nn.ModuleList([self._block(kind) for kind in cfg.block_types])
        self.enc_norm = nn.LayerNorm(w, eps=1e-6)
        k = s * p // cfg.gaussian_stride
        if tc == 1:
            self.deconv = nn.ConvTranspose3d(w, RAW_CHANNELS, (1, k, k), stride=(1, k, k))
        else:
            self.deconv = nn.ConvTranspose3d(w, RAW_CHANNELS, (tc + 1, k, k), stride=(tc, k, k), padding=(tc // 2, 0, 0))
        self.enc_norm.apply(init_linear)
        self._scale_shift = 1.0 - math.log(cfg.scale_cap)

    def _block(self, kind: str) -> nn.Module:
        cfg = self.cfg
        if kind == "attention":
            return AttentionBlock(cfg.width, cfg.num_heads, cfg.mlp_ratio)
        from lyra_sim.models.mamba2 import Mamba2Block

        return Mamba2Block(
            cfg.width, d_state=cfg.mamba_d_state, d_conv=cfg.mamba_d_conv, expand=cfg.mamba_expand,
            headdim=cfg.mamba_headdim, chunk_size=cfg.mamba_chunk_size,
        )

    @property
    def codec(self):
        if self._codec is None:
            from lyra_sim.codecs import load_codec

            self._codec = load_codec(self.cfg.codec)
        return self._codec

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        latents: Tensor,
        c2w: Tensor,
        K: Tensor,
        input_times: Tensor | None = None,
        target_times: Tensor | None = None,
        keep_fraction: float | None = -1.0,
    ) -> DecoderOutput | list[DecoderOutput]:
        """Decode Gaussians.

        Args:
            latents: [B, V, C, t, h, w] codec latents of V trajectories (views).
            c2w: [B, V, T, 4, 4] camera of every pixel frame, T = (t - 1) * tc + 1, in the
                scene frame (relative to the first input camera).
            K: [B, V, T, 3, 3] intrinsics at the full image size (h * s, w * s).
            input_times: [B, V, T] or [B, T] frame times in [0, 1] (dynamic model only).
            target_times: [B, K] the times to decode, one static scene each (dynamic model).
            keep_fraction: opacity pruning; -1 uses ``cfg.prune_keep_fraction``, None keeps all.

        Returns:
            One DecoderOutput, or a list with one per target time when ``target_times`` is given.
        """
        B, V, C, t, h, w = self._check(latents, c2w, K)
        tc, s = self.cfg.temporal_compression, self.cfg.spatial_compression
        T, H, W = (t - 1) * tc + 1, h * s, w * s
        keep = self.cfg.prune_keep_fraction if keep_fraction == -1.0 else keep_fraction
        cams = Cameras(c2w.reshape(-1, 4, 4), K.reshape(-1, 3, 3), W, H)
        tokens = self.patch_embed(latents.reshape(B * V, C, t, h, w))
        tokens = tokens + self.patch_plucker_embed(self._ray_input(cams, B * V, T))
        if target_times is None:
            if input_times is not None:
                raise InvalidInputError("input_times without target_times: pass the times to decode")
            return self._decode(tokens, cams, B, V, T, keep)
        if not self.cfg.time_embedding:
            raise InvalidInputError("this decoder has no time embedding (a static model); use a dynamic config")
        if input_times is None:
            raise InvalidInputError("the dynamic decoder needs input_times [B, T] with target_times")
        times = input_times if input_times.ndim == 3 else input_times[:, None].expand(B, V, T)
        tokens = tokens + self.patch_time_embed(self._time_input(times.reshape(B * V, T), H, W))
        outputs = []
        for k in range(target_times.shape[1]):
            tgt = target_times[:, k, None, None].expand(B, V, T).reshape(B * V, T)
            outputs.append(self._decode(tokens + self.patch_time_embed_tgt(self._time_input(tgt, H, W)), cams, B, V, T, keep))
        return outputs

    def _check(self, latents: Tensor, c2w: Tensor, K: Tensor) -> tuple[int, ...]:
        cfg = self.cfg
        if latents.ndim != 6 or latents.shape[2] != cfg.latent_channels:
            raise InvalidInputError(f"latents must be [B, V, {cfg.latent_channels}, t, h, w], got {list(latents.shape)}")
        B, V, C, t, h, w = latents.shape
        if h % cfg.patch_size or w % cfg.patch_size:
            raise InvalidInputError(f"latent size {h}x{w} must be divisible by patch_size {cfg.patch_size}")
        T = (t - 1) * cfg.temporal_compression + 1
        if c2w.shape != (B, V, T, 4, 4) or K.shape != (B, V, T, 3, 3):
            raise InvalidInputError(
                f"c2w must be [B, V, T, 4, 4] and K [B, V, T, 3, 3] with T = {T} frames for {t} latent frames; "
                f"got {list(c2w.shape)} and {list(K.shape)}"
            )
        return B, V, C, t, h, w

    def _ray_input(self, cams: Cameras, BV: int, T: int) -> Tensor:
        """Plücker rays ready for ``patch_plucker_embed``."""
        rays = plucker_rays(cams).view(BV, T, 6, cams.height, cams.width).permute(0, 2, 1, 3, 4)  # [BV, 6, T, H, W]
        if self.cfg.ray_embedding == "unshuffle":
            return rays
        with torch.no_grad():  # the codec is frozen; rays enter it unscaled, as in Lyra
            moment = self.codec.encode(rays[:, :3].contiguous())
            direction = self.codec.encode(rays[:, 3:].contiguous())
        return torch.cat([moment, direction], dim=1).to(rays.dtype)

    def _time_input(self, times: Tensor, H: int, W: int) -> Tensor:
        """[t, cos t, sin t] of [BV, T] times, tiled over the image, ready for a time embedding."""
        emb = torch.stack([times, torch.cos(times), torch.sin(times)], dim=1)  # [BV, 3, T]
        if self.cfg.ray_embedding == "unshuffle":
            return emb[..., None, None].expand(*emb.shape, H, W)
        # Codec mode: tile at full resolution and encode like an RGB video in [-1, 1] (Lyra).
        with torch.no_grad():
            return self.codec.encode((emb[..., None, None].expand(*emb.shape, H, W) * 2 - 1).contiguous())

    def _decode(self, tokens: Tensor, cams: Cameras, B: int, V: int, T: int, keep: float | None) -> DecoderOutput:
        cfg = self.cfg
        BV, N, D = tokens.shape
        x = tokens.reshape(B, V * N, D)  # all views in one sequence
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            for block in self.enc_blocks:
                x = checkpoint(block, x, use_reentrant=False) if cfg.gradient_checkpointing and self.training else block(x)
            x = self.enc_norm(x)
        x = x.float().reshape(BV, N, D)
        t = (T - 1) // cfg.temporal_compression + 1
        hp = cams.height // (cfg.spatial_compression * cfg.patch_size)
        wp = cams.width // (cfg.spatial_compression * cfg.patch_size)
        raw = self.deconv(x.transpose(1, 2).reshape(BV, D, t, hp, wp))  # [BV, 12, T, Hg, Wg]
        Hg, Wg = raw.shape[-2:]
        g_cams = cams.resized(Wg, Hg)
        origins, dirs = camera_rays(g_cams)  # [BV*T, Hg, Wg, 3]
        raw = raw.permute(0, 2, 3, 4, 1).reshape(B, V * T * Hg * Wg, RAW_CHANNELS)
        o = origins.reshape(B, -1, 3).to(raw.dtype)
        d = dirs.reshape(B, -1, 3).to(raw.dtype)
        distance, rgb, scale, rot, opacity = raw.split([1, 3, 3, 4, 1], dim=-1)
        w = torch.sigmoid(distance + cfg.distance_shift)
        dist = cfg.near * (1 - w) + cfg.far * w  # [B, N, 1], along the unit ray
        means = o + d * dist
        forward_axis = g_cams.c2w[:, :3, 2].reshape(B, V * T, 1, 1, 3).to(raw.dtype)
        depth = dist.view(B, V * T, Hg, Wg) * (d.view(B, V * T, Hg, Wg, 3) * forward_axis).sum(-1)
        out = DecoderOutput(
            means=means,
            quats=F.normalize(rot, dim=-1),
            scales=self._scales(scale),
            opacities=torch.sigmoid(opacity[..., 0] - cfg.opacity_shift),
            rgb=0.5 * torch.tanh(rgb) + 0.5,
            ray_index=torch.arange(means.shape[1], device=means.device).expand(B, -1),
            distance=dist.view(B, V, T, Hg, Wg),
            depth=depth.view(B, V, T, Hg, Wg),
            cameras=g_cams,
        )
        return prune(out, keep) if keep is not None and keep < 1.0 else out


    def _scales(self, raw: Tensor) -> Tensor:
        """[..., 3] standard deviations in (0, scale_cap] from raw head outputs (``cfg.scale_activation``)."""
        cap = self.cfg.scale_cap
        if self.cfg.scale_activation == "softcap":
            return cap * torch.sigmoid(raw - 1.0)
        return torch.clamp_max(torch.exp(raw - self._scale_shift), cap)


def prune(out: DecoderOutput, keep_fraction: float) -> DecoderOutput:
    """Keep the ``keep_fraction`` most opaque Gaussians of each batch element (original order).

    Ties break by index; the decoded depth maps are unaffected.
    """
    B, N = out.opacities.shape
    k = max(1, int(round(N * keep_fraction)))
    order = torch.argsort(out.opacities.detach(), dim=1, descending=True, stable=True)[:, :k]
    idx = order.sort(dim=1).values
    take = lambda x: torch.gather(x, 1, idx.view(B, k, *([1] * (x.ndim - 2))).expand(B, k, *x.shape[2:]))
    return DecoderOutput(
        means=take(out.means), quats=take(out.quats), scales=take(out.scales), opacities=take(out.opacities),
        rgb=take(out.rgb), ray_index=take(out.ray_index), distance=out.distance, depth=out.depth, cameras=out.cameras,
    )
