"""DCTCodec: a weight-free, deterministic JPEG-like video codec with Cosmos-shaped latents.

It stands in for the Cosmos tokenizer where there are no weights (CPU, CI, the embedded
default): same latent layout (16 channels, 8x8 spatial, causal 8x temporal by default), so a
decoder trained on it has the same shapes as one trained on Cosmos latents.

Design (all linear, so encode and decode are each one small matmul per 8x8 block):

* Colour: full-range BT.601 YCbCr on [-1, 1] RGB, ``Y = .299 R + .587 G + .114 B``,
  ``Cb = (B - Y) / 1.772``, ``Cr = (R - Y) / 1.402`` (JPEG's transform; Cb, Cr in [-1, 1]).
* Space: orthonormal 8x8 DCT-II per block; keep the lowest frequencies in JPEG zig-zag order,
  10 for luma (every (v, u) with u + v <= 3) and 3 for each chroma channel (DC and the two
  first AC terms). Channels: ``[Y00 Y01 Y10 Y20 Y11 Y02 Y03 Y12 Y21 Y30, Cb00 Cb01 Cb10,
  Cr00 Cr01 Cr10]`` (Xvu: v vertical, u horizontal frequency). Luma gets more because all
  three RGB channels carry its error.
* Normalisation: each coefficient is divided by a fixed constant (:data:`COEFFICIENT_SCALES`),
  its standard deviation under the textbook separable AR(1) image model (correlation
  ``rho = 0.9`` between neighbouring pixels, pixel std 0.5 for Y and 0.15 for Cb/Cr in [-1, 1]
  units), so latents of natural-looking frames are about unit scale (measured on the test
  sequences below: per-channel std 0.17-0.9, largest for DC terms). No mean is subtracted:
  0 is mid-grey.
* Time (causal, like Cosmos): latent frame 0 is frame 0 alone; latent frame k >= 1 is the mean
  of frames ``(k-1)*tc + 1 ... k*tc``. So T = 1 + k*tc frames -> 1 + k latent frames (121 -> 16,
  49 -> 7, 17 -> 3 at tc = 8). Decoding interpolates the latent frames linearly between the
  groups' centre times, then corrects the result so that re-encoding it gives back exactly the
  same latents (``encode(decode(z)) == z`` up to float rounding, for every tc): decode is a
  right inverse of encode.

Why this temporal scheme: it measured best of the linear ones tried (smooth sequence below,
tc = 4 / 8): group mean + corrected interpolation 28.6 / 24.0 dB, group mean + holding each
latent frame 26.3 / 23.0 dB, keeping every tc-th frame + linear interpolation 27.4 / 22.6 dB.
Any linear codec blurs or ghosts what moves within a group; that, not the spatial truncation,
dominates the error at tc = 8.

Measured (``bench/codec.py``): PSNR over [-1, 1] (peak-to-peak 2), 2 videos x 49 frames at
176x320 of ``tests/codecs/test_dct.py: moving_scene`` (lighting gradients, a 1/f-spectrum
texture panned 1 px/frame, soft-edged discs moving 0.8 px/frame and a bar 2.4 px/frame):

    PSNR, dB                                 tc=1   tc=4   tc=8
    smooth (texture std 0.05, the tests')    32.4   28.6   24.0
    textured (texture std 0.12)              25.5   23.9   21.2
    uniform noise in [-1, 1], for contrast   11.1   10.9   10.8

Speed, 6 trajectories x 49 frames at 176x320 (Lyra's first stage), float32, 2 CPU cores,
torch 2.13: encode 0.04 / 0.11 / 0.17 s at tc = 8 / 4 / 1, decode 0.22-0.24 s (on a quiet
VM; with other jobs loading it, up to 0.35 s encode and 0.45 s decode). bfloat16 input costs
about 0.1-0.2 s more (the conversion to float32).
"""

from __future__ import annotations

import math
from functools import cache
from typing import Literal

import torch
from torch import Tensor

from lyra_sim.codecs.base import CodecBase
from lyra_sim.errors import InvalidInputError

BLOCK = 8
"""Spatial block size in pixels (= spatial compression)."""

LUMA_COEFFICIENTS = 10
CHROMA_COEFFICIENTS = 3

ZIGZAG: tuple[tuple[int, int], ...] = ((0, 0), (0, 1), (1, 0), (2, 0), (1, 1), (0, 2), (0, 3), (1, 2), (2, 1), (3, 0))
"""The first ten (v, u) DCT frequencies in JPEG zig-zag order."""

AR1_RHO = 0.9
AR1_PIXEL_STD = (0.5, 0.15, 0.15)
"""Image model behind :data:`COEFFICIENT_SCALES` (see the module docstring)."""

RGB_TO_YCBCR = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [-0.299 / 1.772, -0.587 / 1.772, 0.886 / 1.772],
        [0.701 / 1.402, -0.587 / 1.402, -0.114 / 1.402],
    ],
    dtype=torch.float64,
)


def dct_matrix(n: int = BLOCK) -> Tensor:
    """Orthonormal DCT-II matrix D [n, n] (float64): coefficients = D @ x, x = D.T @ coefficients."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    d[0] /= math.sqrt(2)
    return d


def _kept() -> list[tuple[int, int, int]]:
    """(colour channel, v, u) of each latent channel, in channel order."""
    return [(0, v, u) for v, u in ZIGZAG[:LUMA_COEFFICIENTS]] + [
        (c, v, u) for c in (1, 2) for v, u in ZIGZAG[:CHROMA_COEFFICIENTS]
    ]


def _ar1_scales() -> Tensor:
    """Std of each kept coefficient under the separable AR(1) model, [16] float64."""
    d = dct_matrix()
    idx = torch.arange(BLOCK, dtype=torch.float64)
    r = AR1_RHO ** (idx[:, None] - idx[None, :]).abs()
    var1d = torch.diagonal(d @ r @ d.T)  # variance of 1-D DCT coefficient k for unit pixel variance
    return torch.tensor([AR1_PIXEL_STD[c] * math.sqrt(var1d[v] * var1d[u]) for c, v, u in _kept()])


COEFFICIENT_SCALES: Tensor = _ar1_scales().to(torch.float32)
"""[16] fixed divisors of the kept coefficients (latent = coefficient / scale)."""


@cache
def _block_matrices() -> tuple[Tensor, Tensor]:
    """(E [16, 3*64], P [3*64, 16]) float64: latents of a block = E @ rgb.flatten(); P = decode.

    ``rgb`` is [3, 8, 8] (colour, y, x). E @ P = I because the DCT is orthonormal.
    """
    d = dct_matrix()
    ycc_inv = torch.linalg.inv(RGB_TO_YCBCR)
    scales = _ar1_scales()
    enc = torch.zeros(16, 3, BLOCK, BLOCK, dtype=torch.float64)
    dec = torch.zeros(16, 3, BLOCK, BLOCK, dtype=torch.float64)
    for k, (c, v, u) in enumerate(_kept()):
        basis = torch.outer(d[v], d[u])  # [y, x]
        enc[k] = RGB_TO_YCBCR[c][:, None, None] * basis / scales[k]
        dec[k] = ycc_inv[:, c][:, None, None] * basis * scales[k]
    return enc.reshape(16, -1), dec.reshape(16, -1).T.contiguous()


@cache
def temporal_matrices(num_frames: int, tc: int) -> tuple[Tensor, Tensor]:
    """(A [t, T], U [T, t]) float64: latent frames = A @ frames, decoded frames = U @ latent frames.

    A keeps frame 0 and averages each following group of tc frames. U is linear interpolation
    between the groups' centre times (held constant past the last centre), right-multiplied by
    (A L)^-1 so that A @ U = I.
    """
    t = 1 + (num_frames - 1) // tc
    a = torch.zeros(t, num_frames, dtype=torch.float64)
    a[0, 0] = 1.0
    for k in range(1, t):
        a[k, 1 + (k - 1) * tc : 1 + k * tc] = 1.0 / tc
    if t == 1:
        return a, a.T.clone()
    centres = torch.tensor([0.0] + [(k - 1) * tc + (tc + 1) / 2 for k in range(1, t)], dtype=torch.float64)
    frames = torch.arange(num_frames, dtype=torch.float64).clamp(max=float(centres[-1]))
    hi = torch.searchsorted(centres, frames, right=False).clamp(1, t - 1)
    w = (frames - centres[hi - 1]) / (centres[hi] - centres[hi - 1])
    lin = torch.zeros(num_frames, t, dtype=torch.float64)
    rows = torch.arange(num_frames)
    lin[rows, hi - 1] += 1 - w
    lin[rows, hi] += w
    return a, lin @ torch.linalg.inv(a @ lin)


class DCTCodec(CodecBase):
    """Weight-free JPEG-like codec: 16 channels, 8x8 spatial, causal ``temporal_compression``.

    Encode and decode compute in float32 on the input's device (CPU or CUDA) and return the
    input's dtype; they are deterministic (bitwise-equal on repeated calls) and differentiable.
    The decoded video is not clamped (low-pass ringing can overshoot [-1, 1] slightly at hard
    edges). See the module docstring for the design and measured quality and speed.

    Args:
        temporal_compression: 1, 4 or 8 frames per latent frame (after the first). Defaults to 8,
            Cosmos CV8x8x8's.
    """

    latent_channels = 16
    spatial_compression = BLOCK

    def __init__(self, temporal_compression: Literal[1, 4, 8] = 8):
        if temporal_compression not in (1, 4, 8):
            raise InvalidInputError(
                f"DCTCodec temporal_compression must be 1, 4 or 8; got {temporal_compression!r}"
            )
        self.temporal_compression = int(temporal_compression)
        self.name = f"dct-t{self.temporal_compression}"

    def _encode(self, video: Tensor) -> Tensor:
        b, _, n, height, width = video.shape
        tc = self.temporal_compression
        if tc > 1 and n > 1:  # causal temporal mean first: tc x less data for the spatial step
            groups = video[:, :, 1:].unflatten(2, (-1, tc)).mean(dim=3, dtype=torch.float32)
            x = torch.cat([video[:, :, :1].float(), groups], dim=2)
        else:
            x = video.float()
        t, h, w = x.shape[2], height // BLOCK, width // BLOCK
        enc = _on(_block_matrices()[0], x.device)  # [16, 192]
        blocks = x.reshape(b, 3, t, h, BLOCK, w, BLOCK).permute(0, 2, 3, 5, 1, 4, 6).reshape(b, t, h, w, 3 * BLOCK * BLOCK)
        z = blocks @ enc.T  # [b, t, h, w, 16]
        return z.permute(0, 4, 1, 2, 3).contiguous().to(video.dtype)

    def _decode(self, latents: Tensor) -> Tensor:
        b, _, t, h, w = latents.shape
        z = latents.float()
        tc = self.temporal_compression
        if tc > 1 and t > 1:  # temporal upsampling on the latents: 12x fewer numbers than pixels
            up = _on(temporal_matrices(1 + (t - 1) * tc, tc)[1], z.device)  # [T, t]
            z = torch.einsum("Tt,bcthw->bcThw", up, z)
        n = z.shape[2]
        dec = _on(_block_matrices()[1], z.device)  # [192, 16]
        pix = z.permute(0, 2, 3, 4, 1) @ dec.T  # [b, T, h, w, 192]
        video = pix.reshape(b, n, h, w, 3, BLOCK, BLOCK).permute(0, 4, 1, 2, 5, 3, 6)
        return video.reshape(b, 3, n, h * BLOCK, w * BLOCK).to(latents.dtype)


_DEVICE_CACHE: dict[tuple[int, str], Tensor] = {}


def _on(m: Tensor, device: torch.device) -> Tensor:
    """float32 copy of a cached float64 matrix on ``device`` (cached: no per-call host->device copy)."""
    key = (id(m), str(device))
    out = _DEVICE_CACHE.get(key)
    if out is None:
        out = _DEVICE_CACHE[key] = m.to(device=device, dtype=torch.float32)
    return out
