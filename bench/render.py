"""Rendering speed and memory: CPU torch compositor (and gsplat on a GPU when present).

    python bench/render.py [--sizes 16384 65536 262144] [--resolutions 128 256] [--out bench/results/render.json]

Targets on 2 CPU cores (issue 2): 65k Gaussians at 256x256 forward+backward under 2 s and
2 GB; 262k under 15 s. Each configuration runs in a fresh subprocess so its peak memory is its
own. Scenes come from ``bench/common.py: frustum_scene`` (about 70 pairs per Gaussian).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))


def run_one(n: int, res: int, backend: str, device: str, repeats: int, footprint: float = 1.0) -> dict:
    import torch
    from common import best_of, frustum_scene, peak_rss_gb

    from lyra_sim.render import render
    from lyra_sim.runtime import tune_cpu_allocator

    tune_cpu_allocator()
    scene, cams = frustum_scene(n, res, footprint=footprint, device=device)
    sync = device == "cuda"

    def forward():
        with torch.no_grad():
            render(scene, cams, mode="RGB+ED", backend=backend)

    def forward_backward():
        s = scene.detach().requires_grad_(True)
        out = render(s, cams, mode="RGB+ED", backend=backend)
        (out.rgb.sum() + out.depth.sum()).backward()

    if sync:
        torch.cuda.reset_peak_memory_stats()
    fwd = best_of(forward, repeats, sync)
    fwd_bwd = best_of(forward_backward, repeats, sync)
    result = {"gaussians": n, "resolution": res, "footprint": footprint, "backend": backend, "device": device,
              "forward_s": round(fwd, 4), "forward_backward_s": round(fwd_bwd, 4)}
    if device == "cuda":
        result["peak_gpu_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 3)
    else:
        result["peak_rss_gb"] = round(peak_rss_gb(), 3)
        result["pairs_millions"] = round(_count_pairs(scene, cams) / 1e6, 2)
    return result


def _count_pairs(scene, cams) -> int:
    """Gaussian-pixel pairs the compositor blends (its unit of work)."""
    import torch

    from lyra_sim.render.projection import project_gaussians
    from lyra_sim.render.torch_backend import _pixel_pairs

    with torch.no_grad():
        p = project_gaussians(scene.means, scene.quats, scene.scales, scene.opacities, cams.w2c, cams.K, cams.width, cams.height)
        vis = (p.radii[0] > 0).any(-1)
        attrs = torch.cat([p.means2d[0][vis], p.conics[0][vis], scene.opacities[vis, None]], dim=-1)
        owner, _ = _pixel_pairs(attrs, p.radii[0][vis], torch.zeros(int(vis.sum()), dtype=torch.long), cams.width, cams.height)
    return owner.numel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16384, 65536, 262144])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--footprint", type=float, default=1.0,
                        help="Gaussian size relative to the image area per Gaussian (1.0: ~70 pairs per Gaussian)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "render.json")
    parser.add_argument("--one", nargs=4, metavar=("N", "RES", "BACKEND", "DEVICE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        n, res, backend, device = args.one
        print(json.dumps(run_one(int(n), int(res), backend, device, args.repeats, args.footprint)))
        return

    import torch
    from common import machine, write_json

    configs = [(n, r, "torch", "cpu") for n in args.sizes for r in args.resolutions]
    if torch.cuda.is_available():
        configs += [(n, r, b, "cuda") for n in args.sizes for r in args.resolutions for b in ("torch", "gsplat")]
    rows = []
    print(f"{'gaussians':>10} {'res':>5} {'backend':>8} {'device':>6} {'pairs M':>8} {'fwd s':>8} {'fwd+bwd s':>10} {'peak GB':>8}")
    for n, r, backend, device in configs:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(n), str(r), backend, device, "--repeats", str(args.repeats), "--footprint", str(args.footprint)],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            print(f"{n:>10} {r:>5} {backend:>8} {device:>6} failed: {proc.stderr.strip().splitlines()[-1]}")
            continue
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        peak = row.get("peak_rss_gb", row.get("peak_gpu_gb"))
        print(f"{n:>10} {r:>5} {backend:>8} {device:>6} {row.get('pairs_millions', '-'):>8} "
              f"{row['forward_s']:>8.3f} {row['forward_backward_s']:>10.3f} {peak:>8.2f}")
    write_json(args.out, {"benchmark": "render", "machine": machine(), "results": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
