"""The sim-readiness report: JSON for machines, a table for people, a PNG to look at.

The depth residual compares the collider with the Gaussians where both are seen: the collider's
rasterised depth against the Gaussians' expected depth at up to four of the fusion views
(the rendered depth itself when the collider came from renders), in metres.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from lyra_sim.cameras import Cameras
from lyra_sim.export.collider import ColliderStats, CollisionProxy
from lyra_sim.export.depth import DepthViews, render_depth_views
from lyra_sim.gaussians import GaussianScene
from lyra_sim.io.atomic import atomic_output
from lyra_sim.render.mesh_zbuffer import rasterize_mesh

RESIDUAL_VIEWS = 4


def depth_residual(scene: GaussianScene, proxy_scene: CollisionProxy, views: DepthViews, min_alpha: float = 0.5) -> dict:
    """Collider-vs-Gaussian depth residual (scene units) over up to four views."""
    sub = views.subsample(RESIDUAL_VIEWS)
    if sub.source != "rendered":
        sub = render_depth_views(scene, sub.cameras, min_alpha)
    mesh_depth, _ = rasterize_mesh(proxy_scene.vertices, proxy_scene.faces, sub.cameras)
    both = (mesh_depth > 0) & sub.valid()
    if not both.any():
        return {"mean": None, "median": None, "p90": None, "coverage": 0.0, "views": len(sub)}
    r = (mesh_depth - sub.depth).abs()[both].double()[:1_000_000]
    return {"mean": float(r.mean()), "median": float(r.median()), "p90": float(torch.quantile(r, 0.9)),
            "coverage": float(both.sum() / sub.valid().sum().clamp(min=1)), "views": len(sub)}


def build_report(scene, cfg, alignment, proxy, stats: ColliderStats | None, views, spawn, tilt_after, layers, source) -> dict:
    """The report dictionary (see lyra_sim/export/README.md for the fields)."""
    import lyra_sim

    s = alignment.scale
    report = {
        "lyra_sim_version": getattr(lyra_sim, "__version__", "unknown"),
        "scene": source.name if source is not None else "scene",
        "gaussians": {"count": len(scene), "sh_degree": scene.sh_degree, "usd_layers": layers,
                      "half_precision": cfg.gaussians.half},
        "frame": {"mode": cfg.alignment.frame, "up_axis": "Z" if cfg.alignment.frame == "sim" else "Y",
                  "meters_per_unit": 1.0, "kilograms_per_unit": 1.0, **alignment.to_dict()},
        "scale": {"source": alignment.scale_source, "metres_per_unit": s,
                  "camera_height_m": None if alignment.camera_height_scene is None else alignment.camera_height_scene * s},
        "floor": {"tilt_before_degrees": alignment.tilt_before_degrees, "tilt_after_degrees": tilt_after,
                  "inlier_fraction": None if alignment.floor is None else alignment.floor.inlier_fraction},
        "collider": None,
        "depth_residual_m": None,
        "spawn_points": [p.to_dict() for p in spawn],
        "physics_check": {"status": "not run", "reason": "run `lyra-sim check` on the world"},
    }
    if proxy is not None and stats is not None:
        report["collider"] = {
            "triangles": proxy.num_triangles, "vertices": len(proxy.vertices), "watertight": proxy.is_watertight,
            "area_m2": proxy.area, "approximation": cfg.collider.approximation, "depth_source": views.source,
            "views": stats.views, "voxel_size_m": stats.voxel_size * s,
            "voxel_size_scene_units": stats.voxel_size, "grid": stats.grid,
            "far_pixels_not_fused": stats.far_pixels_not_fused,
            "marching_cubes_triangles": stats.marching_cubes_triangles,
            "floater_triangles_removed": stats.floater_triangles_removed,
            "small_component_triangles_removed": stats.small_component_triangles_removed,
            "holes_filled": stats.holes_filled,
            "floor_flattening": {"band_m": stats.floor_flatten_band, "vertices": stats.floor_flattened_vertices,
                                 "max_shift_m": stats.floor_flatten_max_shift},
            "seconds": {k: round(v, 3) for k, v in stats.seconds.items()},
        }
        res = depth_residual(scene, proxy.transformed(np.linalg.inv(alignment.sim_from_scene.numpy())), views, cfg.collider.min_alpha)
        report["depth_residual_m"] = {k: None if res[k] is None else res[k] * s for k in ("mean", "median", "p90")}
        report["depth_residual_m"].update(coverage=res["coverage"], views=res["views"])
    return report


def write_report_json(report: dict, path: str | Path, overwrite: bool = True) -> Path:
    with atomic_output(path, overwrite) as tmp:
        Path(tmp).write_text(json.dumps(_jsonable(report), indent=2) + "\n")
    return Path(path)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _fmt(v, unit: str = "", digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}g}{unit}"
    return f"{v}{unit}"


def _spawn_row(report: dict) -> str:
    count = len(report.get("spawn_points", []))
    if count:
        return str(count)
    if report["frame"]["mode"] != "sim":
        return "0 (the source frame has no gravity, so no floor to stand on)"
    if not report.get("collider"):
        return "0 (no collider to stand on)"
    return "0: no place found where the robot fits (a world without spawn points fails the physics check)"


def _confidence_row(conf: dict) -> str:
    """``up 0.85 (floor_fit, convention_prior), floor 0.88 (floor_fit), scale 0.1 (-)``."""
    if not conf:
        return "-"
    return ", ".join(f"{k} {v['value']:.2g} ({', '.join(v['evidence']) or '-'})" for k, v in conf.items())


def format_report(report: dict) -> str:
    """The report as an aligned two-column table."""
    col = report.get("collider") or {}
    res = report.get("depth_residual_m") or {}
    floor, scale = report.get("floor", {}), report.get("scale", {})
    check = report.get("physics_check") or {}
    g = report["gaussians"]
    rows = [
        ("Gaussians", f"{g['count']:,} (SH degree {g['sh_degree']}, {g['usd_layers']} layer(s))"),
        ("frame", f"{report['frame']['mode']} (up {report['frame']['up_axis']}, metres), from "
                  f"{report['frame'].get('source', '-')}" + (" (UNCERTAIN)" if report["frame"].get("status") == "uncertain" else "")),
        ("frame confidence", _confidence_row(report["frame"].get("confidence") or {})),
        ("collider triangles", f"{col['triangles']:,}" if col else "-"),
        ("watertight", _fmt(col.get("watertight")) if col else "-"),
        ("collider depth source", col.get("depth_source", "-")),
        ("depth residual mean / p90", f"{_fmt(res.get('mean'), ' m')} / {_fmt(res.get('p90'), ' m')}"),
        ("floor tilt before / after", f"{_fmt(floor.get('tilt_before_degrees'), ' deg')} / {_fmt(floor.get('tilt_after_degrees'), ' deg')}"),
        ("scale source", f"{scale.get('source')} ({_fmt(scale.get('metres_per_unit'), ' m/unit', 4)})"),
        ("input camera height", _fmt(scale.get("camera_height_m"), " m")),
        ("spawn points", _spawn_row(report)),
        ("physics check", check.get("status", "-") + (f": {check.get('summary') or check.get('reason')}"
                                                      if check.get("summary") or check.get("reason") else "")),
    ]
    moving = report.get("moving_colliders")
    if moving:
        per = ", ".join(f"t={c['time']:g}: {c['triangles']}" for c in moving["per_time"])
        rows.append(("kinematic colliders", f"{per} triangles; {moving['static_faces_removed']} moving faces left the static collider"))
        drops = check.get("moving_colliders")
        if isinstance(drops, dict) and drops.get("reason"):
            rows.append(("kinematic drop test", f"{drops['status']}: {drops['reason']}"))
        elif isinstance(drops, dict):
            rows.append(("kinematic drop test", f"{drops['status']} ({sum(d['passed'] for d in drops['drops'])}/{len(drops['drops'])} "
                                                "boxes rest on the moving geometry at its time)"))
        elif drops:
            rows.append(("kinematic drop test", str(drops)))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    for i, p in enumerate(report.get("spawn_points", [])):
        x, y, z = p["position"]
        lines.append(f"{'':<{width}}  spawn_{i:03d} at ({x:.2f}, {y:.2f}, {z:.2f}) clearance {p['clearance']:.2f} m")
    return "\n".join(lines)


def collider_over_renders(proxy: CollisionProxy, cameras: Cameras, renders: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The collider drawn over renders: what a robot will stand on, where it is in the picture.

    The collider is coloured by inverse depth (near = warm) with one range for every view (its
    2nd to 98th depth percentile), so a colour means the same distance everywhere, and blended
    half and half with the render where it covers a pixel.

    Args:
        proxy: the collider in the cameras' frame.
        cameras: V cameras of H x W; renders: [V, H, W, 3] images in [0, 1] seen by them.

    Returns:
        (overlay [V, H, W, 3], collider colour [V, H, W, 3], hit [V, H, W] bool where the
        collider covers the pixel), on the CPU.
    """
    from lyra_sim.render.preview import colorize_depth

    renders = renders.detach().float().cpu()
    depth, face = rasterize_mesh(proxy.vertices, proxy.faces, cameras)
    hit = face >= 0
    if hit.any():
        near, far = (float(torch.quantile(depth[hit][:1_000_000], q)) for q in (0.02, 0.98))
    else:
        near, far = 1.0, 2.0
    colour = torch.stack([colorize_depth(depth[i], near=near, far=far) for i in range(len(cameras))]).float()
    overlay = torch.where(hit[..., None], 0.5 * renders + 0.5 * colour, renders)
    return overlay, colour, hit


def write_collider_preview(scene: GaussianScene, proxy_scene: CollisionProxy, cameras: Cameras, path: str | Path,
                           views: int = 3) -> Path:
    """PNG: Gaussian renders (top), the collider's depth (middle), the collider over the render
    (bottom; :func:`collider_over_renders`), at ``views`` of ``cameras`` (scene frame)."""
    from lyra_sim.render import render
    from lyra_sim.render.preview import contact_sheet, write_png

    idx = torch.linspace(0, len(cameras) - 1, min(views, len(cameras))).round().long()
    cams = Cameras(cameras.c2w[idx], cameras.K[idx], cameras.width, cameras.height)
    if cams.width < 160:
        cams = cams.resized(cams.width * 2, cams.height * 2)
    with torch.no_grad():
        rgb = render(scene, cams.to(scene.device, scene.dtype), background=(1.0, 1.0, 1.0)).rgb.float().cpu().clamp(0, 1)
    overlay, colour, hit = collider_over_renders(proxy_scene, cams, rgb)
    mesh_row = torch.where(hit[..., None], colour, torch.ones_like(colour))
    sheet = contact_sheet(list(rgb) + list(mesh_row) + list(overlay), columns=len(cams),
                          row_labels=["Gaussians", "collider", "both"])
    return write_png(sheet, path, overwrite=True)
