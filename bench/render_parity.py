"""Parity of the pure-torch renderer with gsplat's CUDA rasterizer (run on a GPU machine).

    python bench/render_parity.py [--out bench/results/render_parity.json]

Renders the same scenes with backend="torch" and backend="gsplat" on the same CUDA tensors and
reports the largest absolute differences of RGB, alpha and expected depth, and the relative
difference of the gradients of a fixed random loss w.r.t. every Gaussian parameter. Expected:
image differences at float32 rounding level (~1e-5; gsplat keeps transmittance in float32,
ours in float64), gradients equal to ~1e-4 relative.

Surface depth (mode "SD") has no gsplat kernel: it is the torch compositor on whatever device the
scene is on. Two checks stand in: the CUDA run of it against the CPU run (same function, hit
masks and depths equal), and on an opaque wall of flat splats, gsplat's expected depth and our
surface depth both on the wall. Exits with status 1 if a number is off.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from common import frustum_scene, machine, write_json

from lyra_sim.cameras import Cameras, look_at
from lyra_sim.render import render

PARAMS = ("means", "quats", "scales", "opacities", "sh")


def compare(scene, cams, background, reference: str = "gsplat") -> dict:
    """Our torch backend against ``reference`` (gsplat; "torch" only for a CPU dry run)."""
    g = torch.Generator(device=scene.device).manual_seed(0)
    weights = torch.randn(len(cams), cams.height, cams.width, 5, device=scene.device, generator=g)
    outs, grads = {}, {}
    for backend in ("torch", reference):
        s = scene.detach().clone().requires_grad_(True)
        out = render(s, cams, mode="RGB+ED", background=background, backend=backend)
        loss = (torch.cat([out.rgb, out.alpha, out.depth * out.alpha], dim=-1) * weights).sum()
        loss.backward()
        outs[backend] = out
        grads[backend] = {k: getattr(s, k).grad for k in PARAMS}
    a, b = outs["torch"], outs[reference]
    hit = (b.alpha > 0.05)
    res = {
        "rgb_max_abs": float((a.rgb - b.rgb).abs().max()),
        "alpha_max_abs": float((a.alpha - b.alpha).abs().max()),
        "depth_max_rel": float(((a.depth - b.depth).abs() / b.depth.abs().clamp(min=1e-6))[hit].max()),
        "rgb_mean_abs": float((a.rgb - b.rgb).abs().mean()),
    }
    for k in PARAMS:
        ga, gb = grads["torch"][k], grads[reference][k]
        res[f"grad_{k}_rel"] = float((ga - gb).norm() / gb.norm().clamp(min=1e-12))
    return res


def surface_depth_parity(scene, cams) -> dict:
    """Surface depth on CUDA vs CPU (the same torch code), where both see a surface."""
    with torch.no_grad():
        gpu = render(scene, cams, mode="RGB+SD", backend="torch").surface_depth.cpu()
        cpu = render(scene.to("cpu"), cams.to("cpu"), mode="RGB+SD", backend="torch").surface_depth
    both = (gpu > 0) & (cpu > 0)
    return {"sd_hit_agreement": float(((gpu > 0) == (cpu > 0)).float().mean()),
            "sd_max_rel": float(((gpu - cpu).abs() / cpu.clamp(min=1e-6))[both].max()) if both.any() else 0.0}


def opaque_wall(device: str = "cuda", reference: str = "gsplat") -> dict:
    """A wall of flat opaque splats at z = 2: gsplat's expected depth and our surface depth on it."""
    from lyra_sim.cameras import intrinsics_matrix
    from lyra_sim.gaussians import GaussianScene

    xs = torch.linspace(-1.5, 1.5, 61, device=device)
    x, y = torch.meshgrid(xs, xs, indexing="xy")
    n = x.numel()
    means = torch.stack([x.flatten(), y.flatten(), torch.full((n,), 2.0, device=device)], -1)
    wall = GaussianScene.from_rgb(means, torch.tensor([[1.0, 0, 0, 0]], device=device).expand(n, 4),
                                  torch.tensor([[0.04, 0.04, 0.002]], device=device).expand(n, 3).contiguous(),
                                  torch.full((n,), 0.99, device=device), torch.full((n, 3), 0.5, device=device))
    cam = Cameras(torch.eye(4, device=device)[None], intrinsics_matrix(60.0, 60.0, 32.0, 32.0).to(device)[None], 64, 64)
    ed = render(wall, cam, mode="RGB+ED", backend=reference).depth
    sd = render(wall, cam, mode="RGB+SD", backend="torch").surface_depth
    inner = (slice(None), slice(8, -8), slice(8, -8))
    return {"wall_gsplat_ed_max_err": float((ed[inner] - 2.0).abs().max()), "wall_torch_sd_max_err": float((sd[inner] - 2.0).abs().max())}


CASES = ((4096, 128, 0), (65536, 256, 0), (65536, 256, 3))
"""(Gaussians, resolution, SH degree) of the scenes compared."""
TOLERANCE = ("rgb and alpha max abs < 1e-3, every gradient rel < 1e-2, surface-depth hit agreement > 0.999 and "
             "max rel < 1e-3; opaque wall: expected depth within 0.02, surface depth within 0.005")


def parity_rows(cases=CASES, device: str = "cuda", reference: str = "gsplat") -> list[dict]:
    """One row of differences per case, each rendered at three views (input and two moved ones)."""
    rows = []
    for n, res, deg in cases:
        scene, cams = frustum_scene(n, res, device=device)
        if deg:
            sh = torch.zeros(n, (deg + 1) ** 2, 3, device=device)
            sh[:, 0] = scene.sh[:, 0]
            sh[:, 1:] = 0.3 * torch.randn(n, (deg + 1) ** 2 - 1, 3, device=device, generator=torch.Generator(device).manual_seed(1))
            scene = type(scene)(scene.means, scene.quats, scene.scales, scene.opacities, sh)
        # Three views: the input one and two moved ones, so off-axis projection is exercised.
        eyes = torch.tensor([[0.0, 0.0, 0.0], [0.4, -0.2, 0.1], [-0.5, 0.1, -0.3]], device=device)
        c2w = look_at(eyes, torch.tensor([[0.0, 0.0, 3.0]], device=device).expand(3, 3))
        cams3 = Cameras(c2w, cams.K.expand(3, 3, 3), cams.width, cams.height)
        background = torch.tensor([1.0, 1.0, 1.0], device=device)
        row = {"gaussians": n, "resolution": res, "sh_degree": deg, **compare(scene, cams3, background, reference),
               **surface_depth_parity(scene, cams3)}
        rows.append(row)
        print(" ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    return rows


def parity_ok(rows: list[dict], wall: dict) -> bool:
    """Whether every number is within :data:`TOLERANCE`."""
    ok = all(r["rgb_max_abs"] < 1e-3 and r["alpha_max_abs"] < 1e-3 and max(r[f"grad_{k}_rel"] for k in PARAMS) < 1e-2
             and r["sd_hit_agreement"] > 0.999 and r["sd_max_rel"] < 1e-3 for r in rows)
    return ok and wall["wall_gsplat_ed_max_err"] < 0.02 and wall["wall_torch_sd_max_err"] < 0.005


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "render_parity.json")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("render_parity needs a CUDA GPU (it compares against gsplat's CUDA kernels)")
    rows = parity_rows()
    wall = opaque_wall()
    print(" ".join(f"{k}={v:.3g}" for k, v in wall.items()))
    write_json(args.out, {"benchmark": "render_parity", "machine": machine(), "results": rows, "opaque_wall": wall})
    ok = parity_ok(rows, wall)
    print("parity OK" if ok else "parity FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
