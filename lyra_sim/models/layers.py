"""Building blocks of the decoder: patch embeddings and the attention block.

Parameter names follow Lyra-1 (``src/models/utils/attention.py``) so its checkpoints map onto
ours key for key: ``PatchEmbed3D.proj/.norm``, ``AttentionBlock.norm1/attn.qkv/attn.proj/
norm2/mlp.fc1/mlp.fc2``.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn


def init_linear(module: nn.Module) -> None:
    """Lyra's init: truncated normal (std 0.02) Linear weights, zero biases; LayerNorm to identity."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class PatchEmbed3D(nn.Module):
    """Conv3d patchify + LayerNorm: ``[B, C, T, H, W] -> [B, T' * H' * W', D]`` (t h w order).

    Args:
        kernel: Conv3d kernel (t, h, w); the stride equals it.
        padding: temporal/spatial zero padding of the conv.
        zero_init: start with all-zero weights, so the embedding adds nothing at init (used for
            conditioning: rays and time must not disturb the latent pathway early in training).
    """

    def __init__(self, in_channels: int, width: int, kernel: Sequence[int], padding: Sequence[int] = (0, 0, 0), zero_init: bool = False):
        super().__init__()
        self.proj = nn.Conv3d(in_channels, width, kernel_size=tuple(kernel), stride=tuple(kernel), padding=tuple(padding))
        self.norm = nn.LayerNorm(width, eps=1e-5)
        fan_out = math.prod(kernel) * width
        nn.init.normal_(self.proj.weight, 0.0, math.sqrt(2.0 / fan_out))
        nn.init.zeros_(self.proj.bias)
        if zero_init:
            nn.init.zeros_(self.proj.weight)

    def forward(self, x: Tensor) -> Tensor:
        x = self.proj(x)
        return self.norm(x.flatten(2).transpose(1, 2))


class Attention(nn.Module):
    """Multi-head self-attention over all tokens (``scaled_dot_product_attention``; flash on GPU)."""

    def __init__(self, width: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(width, 3 * width, bias=True)
        self.proj = nn.Linear(width, width, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        B, N, C = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class MLP(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class AttentionBlock(nn.Module):
    """Pre-norm transformer block: ``x + attn(LN(x))``, then ``x + mlp(LN(x))``; [B, N, D] -> same."""

    def __init__(self, width: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn = Attention(width, num_heads)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = MLP(width, int(width * mlp_ratio))
        self.apply(init_linear)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
