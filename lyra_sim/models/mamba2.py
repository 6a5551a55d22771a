"""Lyra's backbone Mamba-2 block: pre-norm residual around a bidirectional Mamba-2 mixer.

``Mamba2Block(x) = x + BidirectionalMamba2(RMSNorm(x))`` for x [B, L, d_model]. The mixer
(Long-LRM / Lyra, ``scan_type="bi"``) is mamba_ssm's ``Mamba2`` with one change: a single
shared ``in_proj`` gives [z, xBC, dt], and two SSM parameter sets scan xBC, one forward and one
over the reversed sequence. Each set has its own depthwise causal conv (+SiLU), ``dt_bias``,
``A_log`` and ``D``. The two outputs (the backward one flipped back) are summed without
dividing by 2, then pass through the gated RMSNorm ``rms(y * silu(z)) * w`` and ``out_proj``.

Backends, chosen per call below the modules (callers never see them):

* ``"mamba_ssm"``: mamba_ssm's Triton ``mamba_chunk_scan_combined`` and gated ``rmsnorm_fn``
  plus ``causal_conv1d_fn`` (torch conv if causal-conv1d is missing). CUDA only.
* ``"torch"``: :mod:`lyra_sim.models.ssd`, the chunked SSD scan in float32 (float64 for float64
  inputs; bf16 is upcast). Runs anywhere, is differentiable, and is what CPU tests run.

``backend="auto"`` (the default) uses mamba_ssm for CUDA tensors when it imports, else torch.
The environment variable ``LYRA_MAMBA_BACKEND`` (auto / torch / mamba_ssm) overrides "auto", so
a run can be pinned to one backend without code changes.

Parameter names are the same in both backends. The forward set uses ``mamba_ssm.Mamba2``'s
names; the backward set adds the suffix ``_b`` (the bidirectional "v2" convention of Vision
Mamba)::

    norm.weight                                   block pre-norm, [d_model]
    mixer.in_proj.weight                          [2*d_inner + 2*ngroups*d_state + nheads, d_model]
    mixer.conv1d.weight   mixer.conv1d_b.weight   [d_inner + 2*ngroups*d_state, 1, d_conv]
    mixer.conv1d.bias     mixer.conv1d_b.bias     [d_inner + 2*ngroups*d_state]
    mixer.dt_bias         mixer.dt_bias_b         [nheads]
    mixer.A_log           mixer.A_log_b           [nheads]
    mixer.D               mixer.D_b               [nheads]
    mixer.norm.weight                             gated RMSNorm, [d_inner]
    mixer.out_proj.weight                         [d_model, d_inner]

The names inside Lyra's released checkpoint could not be checked: Lyra's
``src/models/utils/mamba2.py`` is not in our reference material. Vision Mamba's own v2 code
names the backward decay ``A_b_log`` (not ``A_log_b``), so loading a real checkpoint may need
a rename (``lyra_sim.models.checkpoint.LYRA_RENAMES``).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lyra_sim.errors import InvalidInputError, LyraSimError
from lyra_sim.models.ssd import (
    causal_depthwise_conv1d,
    compute_dtype,
    gated_rms_norm,
    reference_recurrence,
    ssd_chunked,
)

__all__ = [
    "BACKEND_ENV",
    "BidirectionalMamba2",
    "Mamba2Block",
    "RMSNorm",
    "mamba_ssm_available",
    "reference_recurrence",
    "resolve_backend",
    "ssd_chunked",
]

Backend = Literal["auto", "torch", "mamba_ssm"]
BACKEND_ENV = "LYRA_MAMBA_BACKEND"


@lru_cache(maxsize=1)
def _kernels() -> dict | None:
    """mamba_ssm's kernels, or None when CUDA or mamba_ssm is unusable. On CPU-only installs
    ``import mamba_ssm`` fails (its CUDA extension is missing), which lands here as None."""
    if not torch.cuda.is_available():
        return None
    try:
        from mamba_ssm.ops.triton.layernorm_gated import rmsnorm_fn
        from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return None
    try:
        from causal_conv1d import causal_conv1d_fn
    except Exception:  # noqa: BLE001
        causal_conv1d_fn = None
    return {"scan": mamba_chunk_scan_combined, "norm": rmsnorm_fn, "conv": causal_conv1d_fn}


def mamba_ssm_available() -> bool:
    """True when CUDA is usable and mamba_ssm's Triton kernels import."""
    return _kernels() is not None


def resolve_backend(backend: Backend, device: torch.device) -> Literal["torch", "mamba_ssm"]:
    """The backend a mixer uses for tensors on ``device``; "auto" defers to $LYRA_MAMBA_BACKEND."""
    if backend == "auto":
        backend = os.environ.get(BACKEND_ENV, "auto") or "auto"  # type: ignore[assignment]
    if backend == "auto":
        return "mamba_ssm" if device.type == "cuda" and mamba_ssm_available() else "torch"
    if backend == "mamba_ssm":
        if device.type != "cuda":
            raise InvalidInputError("Mamba-2 backend 'mamba_ssm' needs CUDA tensors; use backend='torch' on CPU")
        if not mamba_ssm_available():
            raise LyraSimError(
                "mamba_ssm is not usable here (it failed to import); install the 'gpu' extra "
                "(mamba-ssm, causal-conv1d) built for this CUDA, or use backend='torch'"
            )
        return "mamba_ssm"
    if backend == "torch":
        return "torch"
    raise InvalidInputError(f"unknown Mamba-2 backend {backend!r} (from argument or ${BACKEND_ENV}); choose auto, torch or mamba_ssm")


class RMSNorm(nn.Module):
    """RMSNorm over the last axis, computed in float32 (or float64); returns the input dtype."""

    def __init__(self, dim: int, eps: float = 1e-5, device=None, dtype=None):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim, device=device, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        ct = compute_dtype(x, self.weight)
        xf = x.to(ct)
        out = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight.to(ct)
        return out.to(x.dtype)


class GatedRMSNorm(RMSNorm):
    """mamba_ssm's ``RMSNormGated(norm_before_gate=False)``: ``rms(y * silu(z)) * weight``, with
    the RMS taken over groups of ``group_size`` channels."""

    def __init__(self, dim: int, group_size: int, eps: float = 1e-5, device=None, dtype=None):
        super().__init__(dim, eps, device, dtype)
        self.group_size = group_size

    def forward(self, y: Tensor, z: Tensor) -> Tensor:  # type: ignore[override]
        ct = compute_dtype(y, z, self.weight)
        return gated_rms_norm(y.to(ct), z.to(ct), self.weight.to(ct), self.eps, self.group_size)


class BidirectionalMamba2(nn.Module):
    """Bidirectional Mamba-2 mixer: [B, L, d_model] -> [B, L, d_model] (same dtype as the input).

    Args:
        d_model: token width. Required.
        d_state: SSM state size N. Defaults to 256 (Lyra).
        d_conv: causal conv width. Defaults to 4.
        expand: d_inner = expand * d_model. Defaults to 2.
        headdim: channels per SSM head; nheads = d_inner / headdim. Defaults to 64.
        ngroups: groups of heads sharing B and C. Defaults to 1.
        chunk_size: SSD chunk length (changes speed and memory, not the result). Defaults to 256.
        A_init_range: A = -exp(A_log) starts uniform in this range. Defaults to (1, 16).
        dt_min, dt_max: softplus(dt_bias) starts log-uniform in [dt_min, dt_max]. Defaults to 1e-3, 0.1.
        dt_init_floor: lower clamp of that initial dt. Defaults to 1e-4.
        norm_eps: epsilon of the gated RMSNorm. Defaults to 1e-5.
        backend: "auto", "torch" or "mamba_ssm" (see the module docstring). Defaults to "auto".
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 256,
        d_conv: int = 4,
        expand: int = 2,
        headdim: int = 64,
        ngroups: int = 1,
        chunk_size: int = 256,
        A_init_range: tuple[float, float] = (1.0, 16.0),
        dt_min: float = 1e-3,
        dt_max: float = 0.1,
        dt_init_floor: float = 1e-4,
        norm_eps: float = 1e-5,
        backend: Backend = "auto",
        device=None,
        dtype=None,
    ):
        super().__init__()
        d_inner = expand * d_model
        if d_inner % headdim:
            raise InvalidInputError(f"expand * d_model = {d_inner} is not a multiple of headdim {headdim}")
        nheads = d_inner // headdim
        if nheads % ngroups:
            raise InvalidInputError(f"{nheads} heads cannot be split into {ngroups} groups")
        if not 0 < A_init_range[0] <= A_init_range[1]:
            raise InvalidInputError(f"A_init_range must satisfy 0 < lo <= hi, got {A_init_range}")
        self.d_model, self.d_state, self.d_conv, self.expand = d_model, d_state, d_conv, expand
        self.d_inner, self.headdim, self.nheads, self.ngroups = d_inner, headdim, nheads, ngroups
        self.chunk_size = chunk_size
        self.backend: Backend = backend
        fk = {"device": device, "dtype": dtype}

        self.in_proj = nn.Linear(d_model, 2 * d_inner + 2 * ngroups * d_state + nheads, bias=False, **fk)
        conv_dim = d_inner + 2 * ngroups * d_state
        for suffix in ("", "_b"):
            conv = nn.Conv1d(conv_dim, conv_dim, d_conv, groups=conv_dim, padding=d_conv - 1, bias=True, **fk)
            setattr(self, "conv1d" + suffix, conv)
            self._init_ssm(suffix, A_init_range, dt_min, dt_max, dt_init_floor, device, dtype)
        self.norm = GatedRMSNorm(d_inner, group_size=d_inner // ngroups, eps=norm_eps, **fk)
        self.out_proj = nn.Linear(d_inner, d_model, bias=False, **fk)

    def _init_ssm(self, suffix, A_init_range, dt_min, dt_max, dt_floor, device, dtype) -> None:
        # mamba_ssm's initialisation: softplus(dt_bias) log-uniform in [dt_min, dt_max].
        h = self.nheads
        dt = torch.exp(torch.rand(h, device=device) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = dt.clamp(min=dt_floor)
        params = {
            "dt_bias": dt + torch.log(-torch.expm1(-dt)),  # inverse softplus
            "A_log": torch.log(torch.empty(h, device=device).uniform_(*A_init_range)),
            "D": torch.ones(h, device=device),
        }
        for name, value in params.items():
            p = nn.Parameter(value.to(dtype) if dtype is not None else value)
            p._no_weight_decay = True  # optimizers built like mamba_ssm's skip weight decay here
            setattr(self, name + suffix, p)

    def extra_repr(self) -> str:
        return (f"d_model={self.d_model}, d_state={self.d_state}, nheads={self.nheads}, headdim={self.headdim}, "
                f"ngroups={self.ngroups}, chunk_size={self.chunk_size}, backend={self.backend!r}")

    def forward(self, u: Tensor) -> Tensor:
        """u [B, L, d_model] -> [B, L, d_model]."""
        if u.ndim != 3 or u.shape[-1] != self.d_model:
            raise InvalidInputError(f"expected [batch, length, {self.d_model}], got {tuple(u.shape)}")
        backend = resolve_backend(self.backend, u.device)
        if not torch.is_autocast_enabled(u.device.type):
            u_in = u.to(self.in_proj.weight.dtype)
        else:
            u_in = u
        zxbcdt = self.in_proj(u_in)
        z, xBC, dt = torch.split(zxbcdt, [self.d_inner, self.d_inner + 2 * self.ngroups * self.d_state, self.nheads], dim=-1)
        scan = self._scan_mamba_ssm if backend == "mamba_ssm" else self._scan_torch
        y = scan(xBC, dt, "") + scan(xBC.flip(1), dt.flip(1), "_b").flip(1)
        if backend == "mamba_ssm":
            y = _kernels()["norm"](y, self.norm.weight, None, z=z, eps=self.norm.eps,
                                   group_size=self.norm.group_size, norm_before_gate=False)
        else:
            y = self.norm(y, z)
        if not torch.is_autocast_enabled(u.device.type):
            y = y.to(self.out_proj.weight.dtype)
        return self.out_proj(y).to(u.dtype)

    def _ssm_params(self, suffix: str) -> tuple[nn.Conv1d, Tensor, Tensor, Tensor]:
        return (getattr(self, "conv1d" + suffix), getattr(self, "dt_bias" + suffix),
                getattr(self, "A_log" + suffix), getattr(self, "D" + suffix))

    def _split_xbc(self, xBC: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, L = xBC.shape[:2]
        gn = self.ngroups * self.d_state
        x, B, C = torch.split(xBC, [self.d_inner, gn, gn], dim=-1)
        return (x.unflatten(-1, (self.nheads, self.headdim)),
                B.view(b, L, self.ngroups, self.d_state), C.view(b, L, self.ngroups, self.d_state))

    def _scan_torch(self, xBC: Tensor, dt: Tensor, suffix: str) -> Tensor:
        """One direction, pure torch: conv + SiLU + chunked SSD. Returns [B, L, d_inner] float32/64."""
        conv, dt_bias, A_log, D = self._ssm_params(suffix)
        ct = compute_dtype(xBC)
        bias = conv.bias.to(ct) if conv.bias is not None else None
        xBC = F.silu(causal_depthwise_conv1d(xBC.to(ct), conv.weight.to(ct), bias))
        x, B, C = self._split_xbc(xBC)
        dt = F.softplus(dt.to(ct) + dt_bias.to(ct))
        A = -torch.exp(A_log.to(ct))
        y = ssd_chunked(x, dt, A, B, C, self.chunk_size, D)
        return y.flatten(-2)

    def _scan_mamba_ssm(self, xBC: Tensor, dt: Tensor, suffix: str) -> Tensor:
        """One direction with mamba_ssm's kernels, called as ``mamba_ssm.Mamba2`` calls them
        (its non-fused path). Returns [B, L, d_inner] in the activation dtype."""
        k = _kernels()
        conv, dt_bias, A_log, D = self._ssm_params(suffix)
        if k["conv"] is not None:
            xt = xBC.transpose(1, 2)  # [B, C, L], channel-last in memory
            if xt.shape[1] % 8 or xt.stride(0) % 8 or xt.stride(2) % 8 or xt.data_ptr() % 16:
                xt = xt.contiguous()  # causal-conv1d's channel-last path needs 8-aligned sizes
            xBC = k["conv"](xt, conv.weight.squeeze(1), bias=conv.bias, activation="silu").transpose(1, 2)
        else:
            xBC = F.silu(causal_depthwise_conv1d(xBC, conv.weight.to(xBC.dtype), conv.bias.to(xBC.dtype)))
        x, B, C = self._split_xbc(xBC)
        A = -torch.exp(A_log.float())  # float32 even for half params: exp of a half A_log overflows
        y = k["scan"](x, dt, A, B, C, chunk_size=self.chunk_size, D=D, z=None, dt_bias=dt_bias, dt_softplus=True)
        return y.flatten(-2)


class Mamba2Block(nn.Module):
    """Pre-norm residual Mamba-2 block: ``x + mixer(norm(x))``; x [B, L, d_model].

    ``norm`` is an RMSNorm (eps ``norm_eps``, defaults to 1e-5); ``mixer`` a
    :class:`BidirectionalMamba2` built from the remaining keyword arguments. A half-precision
    input is upcast on entry (norm, residual and scan run in float32; the projections in the
    parameters' dtype) and the result is cast back to the input dtype.
    """

    def __init__(self, d_model: int, norm_eps: float = 1e-5, device=None, dtype=None, **mixer_kwargs):
        super().__init__()
        self.norm = RMSNorm(d_model, eps=norm_eps, device=device, dtype=dtype)
        self.mixer = BidirectionalMamba2(d_model, device=device, dtype=dtype, **mixer_kwargs)

    def forward(self, x: Tensor) -> Tensor:
        """x [B, L, d_model] -> [B, L, d_model], same dtype."""
        xf = x.to(torch.promote_types(x.dtype, torch.float32))
        return (xf + self.mixer(self.norm(xf)).to(xf.dtype)).to(x.dtype)
