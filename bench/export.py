"""Export benchmarks: USD speed, collider speed, converter comparison, collider quality.

    python bench/export.py                 # everything (about 5 minutes on 2 cores)
    python bench/export.py --only usd collider
    python bench/export.py --quick         # smaller sizes, for a smoke run

Writes ``bench/results/export.json`` and prints a table per part:

* usd: 2M-Gaussian PLY -> ``.usdc`` (read_ply + write_usd_gaussians), SH degree 0 (Lyra's
  output) and 3 (a trained 3DGS file); target under 2 s on 2 cores.
* collider: 6 x 121 depth maps of 88 x 160 (the procedural teacher's exact depth) -> collision
  mesh with the default ColliderCfg; target under 10 s.
* converter: ours vs NVIDIA's usd-convert-gsplat on the same PLY (speed ratio; same values are
  asserted by tests/export/test_export_usd_gaussians.py).
* quality: procedural-teacher scenes with known geometry, exported without the teacher's frame
  (floor fit + ``camera_height`` = the true camera height): Chamfer distance and F-score@5 cm
  of the collider against the true surfaces seen by the views (in the exported sim frame),
  floor tilt error, scale error; once from the teacher's depth, once from the expected depth of
  pixel-aligned Gaussians (the bare-PLY path).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "export"))

from common import machine, write_json

from lyra_sim.export import (
    AlignmentCfg,
    ColliderCfg,
    CollisionProxy,
    SourceFrame,
    build_collision_proxy,
    depth_views_from_teacher,
    estimate_alignment,
    mesh_ops,
    write_usd_gaussians,
)
from lyra_sim.export.alignment import angle_degrees
from lyra_sim.export.depth import render_depth_views
from lyra_sim.gaussians import GaussianScene, read_ply, write_ply
from lyra_sim.runtime import tune_cpu_allocator
from lyra_sim.teachers import ProceduralTeacher, TeacherRequest


def random_scene(n: int, degree: int, seed: int = 0) -> GaussianScene:
    g = torch.Generator().manual_seed(seed)
    return GaussianScene(torch.randn(n, 3, generator=g), torch.nn.functional.normalize(torch.randn(n, 4, generator=g), dim=-1),
                         torch.rand(n, 3, generator=g) * 0.05 + 1e-3, torch.rand(n, generator=g) * 0.98 + 0.01,
                         torch.randn(n, (degree + 1) ** 2, 3, generator=g) * 0.3)


def bench_usd(n: int, tmp: Path) -> list[dict]:
    rows = []
    for degree in (0, 3):
        ply = tmp / f"s{degree}.ply"
        write_ply(random_scene(n, degree), ply)
        best = math.inf
        for rep in range(3):
            out = tmp / f"s{degree}_{rep}.usdc"
            t0 = time.perf_counter()
            write_usd_gaussians(read_ply(ply), out)
            best = min(best, time.perf_counter() - t0)
        rows.append({"gaussians": n, "sh_degree": degree, "ply_mb": ply.stat().st_size / 1e6,
                     "usdc_mb": out.stat().st_size / 1e6, "ply_to_usdc_s": best})
        print(f"usd       {n:>10,} Gaussians  SH {degree}  PLY {rows[-1]['ply_mb']:7.1f} MB -> usdc "
              f"{rows[-1]['usdc_mb']:7.1f} MB  {best:6.2f} s")
    return rows


def bench_converter(n: int, tmp: Path) -> dict:
    try:
        import usd_convert_gsplat as ucg
    except ImportError:
        print("converter skipped: usd-convert-gsplat is not installed")
        return {"skipped": "usd-convert-gsplat not installed"}
    import contextlib
    import io

    ply = tmp / "conv.ply"
    write_ply(random_scene(n, 3), ply)
    t0 = time.perf_counter()
    write_usd_gaussians(read_ply(ply), tmp / "ours.usdc")
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        ucg.write_gaussian_splat_usd(ucg.read_ply(str(ply)), str(tmp / "theirs.usdc"))
    theirs = time.perf_counter() - t0
    print(f"converter {n:>10,} Gaussians  SH 3  ours {ours:6.3f} s  usd-convert-gsplat {theirs:6.2f} s  "
          f"ratio {theirs / ours:6.0f}x")
    return {"gaussians": n, "ours_s": ours, "usd_convert_gsplat_s": theirs, "speedup": theirs / ours}


def teacher(prompt: str, frames: int, seed: int = 0):
    return ProceduralTeacher(codec=False, shadows=False).generate(
        TeacherRequest(prompt=prompt, num_frames=frames, width=160, height=88, seed=seed))


def bench_collider(frames: int) -> dict:
    t0 = time.perf_counter()
    out = teacher("a living room", frames)
    t_teacher = time.perf_counter() - t0
    views = depth_views_from_teacher(out)
    build_collision_proxy(views.subsample(12))  # warm-up (imports, allocator)
    t0 = time.perf_counter()
    proxy, stats = build_collision_proxy(views)
    total = time.perf_counter() - t0
    print(f"collider  {len(views)} depth maps of {views.cameras.height}x{views.cameras.width}: {total:5.2f} s "
          f"({', '.join(f'{k} {v:.2f}' for k, v in stats.seconds.items())}); {proxy.num_triangles:,} triangles, "
          f"voxel {stats.voxel_size * 100:.1f} cm, grid {stats.grid}  (teacher took {t_teacher:.0f} s, not counted)")
    return {"views": len(views), "height": views.cameras.height, "width": views.cameras.width, "seconds": total,
            "steps_s": stats.seconds, "triangles": proxy.num_triangles, "voxel_m": stats.voxel_size, "grid": stats.grid}


def quality(out, views, depth_source: str) -> dict:
    """Export-like run without the teacher's frame; metrics in the exported sim frame."""
    true_height = float(out.world_from_scene[2, 3])
    t0 = time.perf_counter()
    proxy, _ = build_collision_proxy(views)
    align = estimate_alignment(proxy, AlignmentCfg(camera_height=true_height, use_teacher_frame=False),
                               SourceFrame(input_camera=torch.eye(4)))
    seconds = time.perf_counter() - t0
    sim_from_scene = align.sim_from_scene.numpy()
    w = out.world_from_scene.double().numpy()
    true_up_scene = w[:3, :3].T @ np.array([0, 0, 1.0])
    tilt_error = angle_degrees(align.floor.normal, true_up_scene)
    scale_error = abs(align.scale - 1.0)  # the teacher's scene frame is metric, so the true scale is 1
    # Ground truth in the exported sim frame: the true mesh, and the true surface the views saw.
    gt = out.meshes[0]
    gt_sim = CollisionProxy(gt.vertices.double().numpy(), gt.faces.numpy()).transformed(sim_from_scene)
    seen = depth_views_from_teacher(out).points(stride=2).double().numpy()
    seen = seen[np.random.default_rng(0).choice(len(seen), min(len(seen), 20_000), replace=False)]
    seen_sim = seen @ sim_from_scene[:3, :3].T + sim_from_scene[:3, 3]
    col = proxy.transformed(sim_from_scene)
    ours, _ = mesh_ops.sample_surface(col.vertices, col.faces, 20_000)
    accuracy = mesh_ops.point_mesh_distance(ours, gt_sim.vertices, gt_sim.faces)
    completeness = mesh_ops.point_mesh_distance(seen_sim, col.vertices, col.faces)
    p, r = (accuracy < 0.05).mean(), (completeness < 0.05).mean()
    return {"depth": depth_source, "chamfer_m": 0.5 * (accuracy.mean() + completeness.mean()),
            "accuracy_median_m": float(np.median(accuracy)), "completeness_median_m": float(np.median(completeness)),
            "precision_5cm": float(p), "recall_5cm": float(r), "fscore_5cm": float(2 * p * r / max(p + r, 1e-12)),
            "tilt_error_deg": tilt_error, "scale_error": scale_error, "triangles": col.num_triangles, "seconds": seconds}


def bench_quality(prompts: list[str], frames: int, rendered: bool, on_row=None) -> list[dict]:
    """Collider quality per prompt and depth source; ``on_row(rows)`` after each row."""
    from export_scenes import pixel_gaussians

    rows = []
    for prompt in prompts:
        out = teacher(prompt, frames)
        variants = [("teacher", depth_views_from_teacher(out))]
        if rendered:
            # Lyra-like Gaussians from every 6th frame (the decoder sees a few frames per trajectory),
            # rendered at 24 of the views.
            sparse = copy.copy(out)
            sparse.trajectories = [copy.copy(t) for t in out.trajectories]
            for t in sparse.trajectories:
                t.frames, t.depth, t.mask, t.cameras = t.frames[::6], t.depth[::6], t.mask[::6], t.cameras[::6]
            cams = depth_views_from_teacher(out).subsample(24).cameras
            variants.append(("rendered", render_depth_views(pixel_gaussians(sparse, stride=2), cams,
                                                            scale_factor=ColliderCfg().render_scale_factor)))
        for name, views in variants:
            row = {"prompt": prompt, **quality(out, views, name)}
            rows.append(row)
            if on_row:
                on_row(rows)
            print(f"quality   {prompt:<22} {name:<8} Chamfer {row['chamfer_m'] * 100:5.2f} cm  F@5cm {row['fscore_5cm']:.3f}  "
                  f"tilt err {row['tilt_error_deg']:5.2f} deg  scale err {row['scale_error'] * 100:5.2f} %  "
                  f"({row['triangles']:,} tris, {row['seconds']:.1f} s)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=["usd", "collider", "converter", "quality"])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "export.json")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice; 1 gives stable numbers on a shared VM)")
    args = parser.parse_args()
    tune_cpu_allocator()
    if args.threads:
        torch.set_num_threads(args.threads)
    # Parts run with --only replace their entries in an existing results file; each part is saved
    # as soon as it finishes, so an interrupted run keeps what it measured.
    results: dict = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results["machine"] = machine()

    def save(part: str, value) -> None:
        results[part] = value
        write_json(args.out, results)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "usd" in args.only:
            save("usd", bench_usd(100_000 if args.quick else 2_000_000, tmp))
        if "converter" in args.only:
            save("converter", bench_converter(2_000 if args.quick else 20_000, tmp))
    if "collider" in args.only:
        save("collider", bench_collider(9 if args.quick else 121))
    if "quality" in args.only:
        prompts = ["a living room"] if args.quick else ["a living room", "a kitchen", "an office"]
        bench_quality(prompts, 5 if args.quick else 25, rendered=True, on_row=lambda rows: save("quality", rows))
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
