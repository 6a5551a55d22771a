"""Pure-torch Mamba-2 pieces: the chunked SSD scan, its naive reference, causal conv, gated norm.

The scan computes, for every head h (state ``S`` of shape [headdim, d_state], zero at t = -1):

    S_t = exp(dt_t * A_h) * S_{t-1} + dt_t * x_t B_t^T
    y_t = S_t C_t + D_h * x_t

which is mamba_ssm's ``mamba_chunk_scan_combined`` with ``dt`` already passed through
softplus(dt + dt_bias). ``ssd_chunked`` evaluates it in blocks of ``chunk_size`` steps (the
"state space duality" algorithm of the Mamba-2 paper): inside a chunk the recurrence is a masked
matrix product, and only one state per chunk is carried across chunk boundaries, so the Python
loop runs L / chunk_size times instead of L. ``reference_recurrence`` is the step-by-step
definition the chunked form is tested against.

Heads are split evenly over ``ngroups`` groups; a head in group g reads B[..., g, :] and
C[..., g, :] (as in mamba_ssm).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def compute_dtype(*tensors: Tensor) -> torch.dtype:
    """float64 if any input is float64, else float32: half-precision inputs are upcast, because
    the cumulative decays lose all precision in bf16."""
    return torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32


def ssd_chunked(
    x: Tensor,  # [B, L, H, P]
    dt: Tensor,  # [B, L, H], > 0 (after softplus)
    A: Tensor,  # [H], < 0
    B: Tensor,  # [B, L, G, N]
    C: Tensor,  # [B, L, G, N]
    chunk_size: int,
    D: Tensor | None = None,  # [H]
) -> Tensor:
    """Chunked SSD scan; returns y [B, L, H, P] in float32 (float64 if any input is float64).

    Any L works: the sequence is zero-padded at the end to a multiple of ``chunk_size``, which
    cannot change earlier outputs because the scan is causal. Differentiable by autograd.
    """
    b, L, h, p = x.shape
    g, n = B.shape[-2:]
    if h % g:
        raise ValueError(f"{h} heads cannot be split into {g} groups")
    hg = h // g
    ct = compute_dtype(x, dt, A, B, C)
    x, dt, A, B, C = (t.to(ct) for t in (x, dt, A, B, C))

    q = chunk_size
    pad = (-L) % q
    if pad:
        x = F.pad(x, (0, 0, 0, 0, 0, pad))
        dt = F.pad(dt, (0, 0, 0, pad))
        B = F.pad(B, (0, 0, 0, 0, 0, pad))
        C = F.pad(C, (0, 0, 0, 0, 0, pad))
    nc = (L + pad) // q

    # Layout [b, g, hg, chunk, step, ...]; B and C get a singleton head axis so that heads of a
    # group share one C B^T product.
    xdt = (x * dt[..., None]).view(b, nc, q, g, hg, p).permute(0, 3, 4, 1, 2, 5)
    log_a = (dt * A).view(b, nc, q, g, hg).permute(0, 3, 4, 1, 2)
    Bc = B.view(b, nc, q, g, n).permute(0, 3, 1, 2, 4).unsqueeze(2)
    Cc = C.view(b, nc, q, g, n).permute(0, 3, 1, 2, 4).unsqueeze(2)
    cum = log_a.cumsum(-1)  # log of the decay from the chunk start to step l (inclusive)

    # 1. Within a chunk: y_l = sum_{s<=l} exp(cum_l - cum_s) (C_l . B_s) xdt_s. The upper triangle
    #    is set to -inf *before* exp: there cum_l - cum_s > 0 and exp could overflow to inf.
    causal = torch.ones(q, q, dtype=torch.bool, device=x.device).tril()
    decay = torch.exp((cum[..., :, None] - cum[..., None, :]).masked_fill(~causal, float("-inf")))
    y = ((Cc @ Bc.transpose(-1, -2)) * decay) @ xdt  # [b, g, hg, c, q, p]

    # 2. The state each chunk leaves behind from its own inputs alone.
    to_end = torch.exp(cum[..., -1:] - cum)
    own_state = (xdt * to_end[..., None]).transpose(-1, -2) @ Bc  # [b, g, hg, c, p, n]

    # 3. The state entering each chunk: carry across boundaries, one step per chunk.
    chunk_decay = torch.exp(cum[..., -1])[..., None, None]  # [b, g, hg, c, 1, 1]
    entering = [torch.zeros_like(own_state[..., 0, :, :])]
    for c in range(nc - 1):
        entering.append(entering[-1] * chunk_decay[..., c, :, :] + own_state[..., c, :, :])
    prev = torch.stack(entering, dim=3)  # [b, g, hg, c, p, n]

    # 4. What the entering state contributes at each step: exp(cum_l) C_l S_prev.
    y = y + (Cc @ prev.transpose(-1, -2)) * torch.exp(cum)[..., None]

    y = y.permute(0, 3, 4, 1, 2, 5).reshape(b, nc * q, h, p)[:, :L]
    if D is not None:
        y = y + x[:, :L] * D.to(ct)[:, None]
    return y


def reference_recurrence(
    x: Tensor,  # [B, L, H, P]
    dt: Tensor,  # [B, L, H]
    A: Tensor,  # [H]
    B: Tensor,  # [B, L, G, N]
    C: Tensor,  # [B, L, G, N]
    D: Tensor | None = None,  # [H]
) -> Tensor:
    """The SSD recurrence one time step at a time, in float64; returns y [B, L, H, P] (float64).

    Slow (a Python loop over L); it is the definition ``ssd_chunked`` is tested against.
    """
    x, dt, A, B, C = (t.double() for t in (x, dt, A, B, C))
    b, L, h, p = x.shape
    g, n = B.shape[-2:]
    group_of_head = torch.arange(h, device=x.device) // (h // g)
    state = x.new_zeros(b, h, p, n)
    ys = []
    for t in range(L):
        Bt = B[:, t, group_of_head]  # [b, h, n]
        Ct = C[:, t, group_of_head]
        state = state * torch.exp(dt[:, t] * A)[..., None, None] + (dt[:, t, :, None] * x[:, t])[..., None] * Bt[:, :, None, :]
        ys.append((state * Ct[:, :, None, :]).sum(-1))
    y = torch.stack(ys, dim=1)
    if D is not None:
        y = y + x * D.double()[:, None]
    return y


def causal_depthwise_conv1d(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """Depthwise causal convolution along the sequence: x [B, L, C], weight [C, 1, K] (an
    ``nn.Conv1d(groups=C)`` weight), bias [C]. Output [B, L, C]; step t sees inputs t-K+1..t."""
    k = weight.shape[-1]
    out = F.conv1d(x.transpose(1, 2), weight, bias, padding=k - 1, groups=x.shape[-1])
    return out[..., : x.shape[1]].transpose(1, 2)


def gated_rms_norm(y: Tensor, z: Tensor, weight: Tensor, eps: float, group_size: int) -> Tensor:
    """mamba_ssm's ``RMSNormGated(norm_before_gate=False)``: RMS-normalise y * silu(z) over each
    group of ``group_size`` channels, then scale by ``weight``. y, z: [..., D]; weight: [D]."""
    gated = y * F.silu(z)
    grouped = gated.unflatten(-1, (-1, group_size))
    normed = grouped * torch.rsqrt(grouped.pow(2).mean(-1, keepdim=True) + eps)
    return normed.flatten(-2) * weight
