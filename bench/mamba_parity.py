"""Mamba-2 backends: parity and speed of the pure-torch SSD against mamba_ssm's kernels.

    python bench/mamba_parity.py [--lengths 4096 8192 16384] [--out bench/results/mamba_parity.json]
    python bench/mamba_parity.py --cpu [--out bench/results/mamba_cpu.json]

GPU mode (needs CUDA and mamba_ssm): one Lyra-sized ``Mamba2Block`` (d_model 512, d_state 256,
headdim 64, chunk 256) in float32 is run with backend="torch" and backend="mamba_ssm" on the same
weights and input. Reported per sequence length: max abs and relative (max abs / max |ref|)
output difference, relative gradient difference (||g_torch - g_kernel|| / ||g_kernel||) for
the input and every parameter, and best-of-3 forward and forward+backward times and peak
memory of each backend. mamba_ssm's Triton kernels use TF32 matmuls in float32, so differences
of ~1e-3 relative are expected; the script exits 1 above 5e-3 (output) or 2e-2 (gradients).

CPU mode: times the torch backend's mixer (``BidirectionalMamba2``, two scans) forward and
backward for the sizes measured for transformers' ``Mamba2Mixer`` in
the CPU dependency survey (dependencies-on-cpu.md §2.3; a single, unidirectional mixer), plus
Lyra's width.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from common import machine, peak_rss_gb, write_json

from lyra_sim.models.mamba2 import BidirectionalMamba2, Mamba2Block, mamba_ssm_available

RESULTS = Path(__file__).parent / "results"
LYRA = {"d_state": 256, "d_conv": 4, "expand": 2, "headdim": 64, "ngroups": 1, "chunk_size": 256}
# (batch, length, d_model, d_state, chunk): the rows of dependencies-on-cpu.md §2.3, then Lyra's.
CPU_SIZES = [
    (1, 4096, 256, 64, 256),
    (1, 4096, 256, 64, 128),
    (1, 4096, 256, 128, 256),
    (1, 4096, 512, 64, 256),
    (1, 16384, 256, 64, 256),
    (4, 4096, 256, 64, 256),
    (1, 4096, 512, 256, 256),
]
OUT_TOL, GRAD_TOL = 5e-3, 2e-2


def time_fwd_bwd(module, x, grad_out, repeats=3, sync=False) -> tuple[float, float]:
    """Best forward time and best backward time over ``repeats`` runs after one warm-up, s."""
    fwd, bwd = [], []
    for i in range(repeats + 1):
        if sync:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = module(x)
        if sync:
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        out.backward(grad_out)
        if sync:
            torch.cuda.synchronize()
        t2 = time.perf_counter()
        if i:
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
        module.zero_grad(set_to_none=True)
        x.grad = None
    return min(fwd), min(bwd)


def run_backend(block, backend, x, grad_out) -> dict:
    block.mixer.backend = backend
    block.zero_grad(set_to_none=True)
    xi = x.detach().clone().requires_grad_(True)
    out = block(xi)
    out.backward(grad_out)
    grads = {"input": xi.grad.detach().clone(), **{k: p.grad.detach().clone() for k, p in block.named_parameters()}}
    cuda = x.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    fwd, bwd = time_fwd_bwd(block, xi, grad_out, sync=cuda)
    return {"out": out.detach(), "grads": grads, "fwd_s": fwd, "fwd_bwd_s": fwd + bwd,
            "peak_gb": torch.cuda.max_memory_allocated() / 1e9 if cuda else peak_rss_gb()}


def gpu_parity(lengths: list[int], batch: int, device: str = "cuda", reference: str = "mamba_ssm") -> list[dict]:
    """Rows of differences and timings per length; ``reference="torch"`` (self-comparison) only
    for a CPU dry run of the plumbing."""
    torch.manual_seed(0)
    block = Mamba2Block(512, **LYRA).to(device)
    rows = []
    for L in lengths:
        g = torch.Generator(device).manual_seed(L)
        x = torch.randn(batch, L, 512, device=device, generator=g)
        grad_out = torch.randn(batch, L, 512, device=device, generator=g)
        ref = run_backend(block, reference, x, grad_out)
        ours = run_backend(block, "torch", x, grad_out)
        diff = (ours["out"] - ref["out"]).abs()
        grad_rel = {k: float((ours["grads"][k] - gk).norm() / gk.norm().clamp(min=1e-30)) for k, gk in ref["grads"].items()}
        row = {
            "batch": batch, "length": L,
            "out_max_abs": float(diff.max()),
            "out_rel": float(diff.max() / ref["out"].abs().max()),
            "grad_rel_max": max(grad_rel.values()),
            "grad_rel": grad_rel,
            **{f"{name}_{k}": r[k] for name, r in (("torch", ours), ("mamba_ssm", ref)) for k in ("fwd_s", "fwd_bwd_s", "peak_gb")},
            "reference": reference,
        }
        rows.append(row)
        print(f"L={L:6d}  out rel {row['out_rel']:.2e} (max abs {row['out_max_abs']:.2e})  grad rel max {row['grad_rel_max']:.2e}  "
              f"fwd/fwd+bwd s: torch {row['torch_fwd_s']:.4f}/{row['torch_fwd_bwd_s']:.4f}  "
              f"mamba_ssm {row['mamba_ssm_fwd_s']:.4f}/{row['mamba_ssm_fwd_bwd_s']:.4f}  "
              f"peak GB: torch {row['torch_peak_gb']:.2f} mamba_ssm {row['mamba_ssm_peak_gb']:.2f}")
    return rows


def cpu_timings(repeats: int) -> list[dict]:
    from lyra_sim.runtime import tune_cpu_allocator

    tune_cpu_allocator()
    rows = []
    for b, L, d, n, q in CPU_SIZES:
        torch.manual_seed(0)
        mixer = BidirectionalMamba2(d, d_state=n, chunk_size=q, headdim=64, expand=2, ngroups=1, backend="torch")
        x = torch.randn(b, L, d, requires_grad=True)
        fwd, bwd = time_fwd_bwd(mixer, x, torch.randn(b, L, d), repeats=repeats)
        row = {"batch": b, "length": L, "d_model": d, "d_state": n, "chunk": q, "fwd_s": fwd, "bwd_s": bwd,
               "peak_rss_gb": peak_rss_gb()}
        rows.append(row)
        print(f"B={b} L={L:6d} d_model={d} d_state={n:3d} chunk={q}:  fwd {fwd:.3f} s  bwd {bwd:.3f} s  "
              f"(peak RSS so far {row['peak_rss_gb']:.2f} GB)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="time the torch backend on CPU instead")
    parser.add_argument("--lengths", type=int, nargs="+", default=[4096, 8192, 16384])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="CPU mode: timed runs per size")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.cpu:
        rows = cpu_timings(args.repeats)
        path = write_json(args.out or RESULTS / "mamba_cpu.json",
                          {"benchmark": "mamba_cpu", "module": "BidirectionalMamba2 (torch backend, float32)",
                           "machine": machine(), "results": rows})
        print(f"wrote {path}")
        return
    if not torch.cuda.is_available():
        sys.exit("mamba_parity needs a CUDA GPU with mamba_ssm (it compares against mamba_ssm's kernels); "
                 "use --cpu to time the torch backend on this machine")
    if not mamba_ssm_available():
        sys.exit("mamba_ssm does not import here; install the 'gpu' extra (mamba-ssm, causal-conv1d) for this CUDA")
    rows = gpu_parity(args.lengths, args.batch)
    path = write_json(args.out or RESULTS / "mamba_parity.json",
                      {"benchmark": "mamba_parity", "config": {"d_model": 512, **LYRA, "dtype": "float32"},
                       "machine": machine(), "results": rows})
    ok = all(r["out_rel"] <= OUT_TOL and r["grad_rel_max"] <= GRAD_TOL for r in rows)
    print(f"wrote {path}\n" + ("parity OK" if ok else "parity FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
