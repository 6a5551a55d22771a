"""``lyra-sim eval``: score a decoder on held-out teacher scenes; JSON + Markdown report.

Protocol (Lyra's self-consistency evaluation, lyra-facts.md §6, protocol A): for each scene the
decoder reads its input trajectories (every frame; stored latents when they fit, otherwise the
frames encoded with the decoder's codec), the Gaussians are rendered at every frame of those
trajectories on white, and compared with the teacher's frames:

* image: PSNR, SSIM (11-tap Gaussian window, skimage's definition), LPIPS-VGG when the
  ``lpips`` package and local VGG16 weights are there;
* depth: AbsRel and delta1 of the rendered expected depth after per-frame scale-and-shift
  alignment to the teacher's depth, over pixels with rendered alpha > 0.5;
* the decoder's own geometry, metric (no alignment): AbsRel and median error (m) of every
  Gaussian's decoded depth along its pixel ray against the teacher's depth there, the fraction
  of sky rays decoded nearer than half the far plane, and the splats' median size and share at the scale cap;
* geometry (scenes with a ground-truth mesh, i.e. the procedural teacher): Chamfer distance
  and F-score@``fscore_threshold`` (5 cm) of (a) the Gaussian centres with opacity >=
  ``gaussian_min_opacity`` and (b) the rendered-depth point cloud, against points sampled
  uniformly by area on the mesh. The samples are restricted to the region the cameras see
  (the bounding box of the teacher's depth, then a per-view occlusion test), since geometry no
  input frame shows cannot be recovered.

Poses are relative to the first input camera, as in training; the mesh is moved into the same
frame.

Dynamic scenes (a time-conditioned decoder; static decoders skip them): the decoder reads the
forward half of the trajectories (every frame, times i / (T - 1)) and decodes one scene at each of
``dynamic_times`` evenly spaced frames; each is rendered from every trajectory's camera at that
frame, the motion-reversed ("flipped") copies included, and scored against the teacher. The
report gives PSNR/SSIM per time, and the PSNR of the forward and the flipped views apart: the
flipped views show each instant from cameras no input frame of that instant had, which is what
Lyra's flipped supervision trains for.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import torch

from lyra_sim.cameras import Cameras, depth_to_points
from lyra_sim.data import LyraScene, intrinsics_to_matrix
from lyra_sim.data.scene_list import list_scenes, split_holdout
from lyra_sim.errors import DatasetError, InvalidInputError, MissingWeightsError
from lyra_sim.eval.depth import decoded_depth_metrics, depth_metrics
from lyra_sim.eval.geometry import (
    chamfer_fscore,
    sample_triangle_points,
    subsample,
    triangles_in_box,
    visible_points,
)
from lyra_sim.eval.image import load_lpips, lpips_available, lpips_distance, psnr, ssim
from lyra_sim.io import atomic_output, check_writable

METRICS_JSON = "metrics.json"
METRICS_MD = "metrics.md"


@dataclass
class EvalCfg:
    """What ``lyra-sim eval`` scores and how."""

    decoder: str
    """A decoder folder (config.yaml + model.safetensors), a training checkpoint folder, a
    training run folder (its final ``decoder/``, else its newest checkpoint), or "embedded" (the
    decoder shipped in the package)."""
    data: list[str]
    """Dataset roots (``lyra-sim sdg`` output or Lyra's SDG layout)."""
    holdout: int | None = None
    """Score only the last k scenes in sorted order: the ones ``data.holdout_scenes: k`` kept out
    of training. None scores every scene. Defaults to None."""
    max_scenes: int | None = None
    """Score at most this many scenes (after ``holdout``). Defaults to None."""
    image_size: tuple[int, int] | None = None
    """Evaluate at (H, W) (centre crop + resize); None keeps the stored size. Defaults to None."""
    num_input_trajectories: int | None = None
    """Feed the first k trajectories of each scene to the decoder (and render those); None uses
    all of them (Lyra). Defaults to None."""
    inputs: Literal["auto", "latents", "frames"] = "auto"
    """"latents": stored teacher latents; "frames": encode the frames with the decoder's codec;
    "auto": latents when every trajectory has them at this size, else frames. Defaults to "auto"."""
    lpips: Literal["auto", "on", "off"] = "auto"
    """LPIPS-VGG: "auto" when available locally, "on" requires it, "off". Defaults to "auto"."""
    geometry: bool = True
    """Chamfer / F-score against the ground-truth mesh where a scene has one. Defaults to True."""
    mesh_samples: int = 1_000_000
    """Ground-truth points sampled on the seen part of the mesh (before the occlusion test). Their
    spacing must stay well below ``fscore_threshold`` or precision is underestimated: 1M points
    over 100 m^2 of seen surface are 1 cm apart. Defaults to 1000000."""
    max_points: int = 200_000
    """Predicted point sets are randomly subsampled to this many points. Defaults to 200000."""
    fscore_threshold: float = 0.05
    """F-score distance threshold in scene units (metres for the procedural teacher). Defaults to 0.05."""
    gaussian_min_opacity: float = 0.1
    """Gaussian centres with lower opacity are left out of the geometry score. Defaults to 0.1."""
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Render background (Lyra: white). Defaults to (1, 1, 1)."""
    near: float = 0.1
    """Near clip plane. Defaults to 0.1."""
    far: float = 500.0
    """Far clip plane. Defaults to 500."""
    chunk: int = 8
    """Views rendered per call. Defaults to 8."""
    psnr_cap: float = 100.0
    """PSNR of identical images (infinite) is reported as this. Defaults to 100."""
    device: str = "auto"
    """"auto" (cuda if available), "cpu" or "cuda". Defaults to "auto"."""
    seed: int = 0
    """Seed of point sampling and subsampling. Defaults to 0."""
    dynamic_times: int = 5
    """Dynamic scenes: decode and score at this many evenly spaced frames (times). Defaults to 5."""


IMAGE_KEYS = ("psnr", "ssim", "lpips")
DEPTH_KEYS = ("abs_rel", "delta1")
GEOMETRY_KEYS = ("chamfer", "fscore", "precision", "recall")
DYNAMIC_KEYS = ("psnr_forward", "psnr_flipped")


def resolve_decoder_dir(path: str | Path) -> Path:
    """The decoder folder behind a decoder / checkpoint / run folder, or ``"embedded"`` for the one
    shipped in the package (see :attr:`EvalCfg.decoder`)."""
    from lyra_sim.models.embedded import embedded_decoder_dir, is_embedded_name

    if is_embedded_name(path):
        return embedded_decoder_dir()
    p = Path(path)
    candidates = [p, p / "decoder"]
    latest = p / "checkpoints" / "latest"
    if latest.is_file():
        candidates.append(p / "checkpoints" / latest.read_text().strip() / "decoder")
    candidates += sorted(p.glob("checkpoints/step_*/decoder"), reverse=True)
    for c in candidates:
        if (c / "config.yaml").is_file() and (c / "model.safetensors").is_file():
            return c
    raise MissingWeightsError(f"{p}: no decoder here (expected config.yaml + model.safetensors, a checkpoint, or a run folder "
                              "written by `lyra-sim train`)")


def select_scenes(roots: list[str], holdout: int | None = None, max_scenes: int | None = None) -> list[LyraScene]:
    """Scenes of ``roots`` in the trainer's order (:func:`~lyra_sim.data.scene_list.list_scenes`); with ``holdout``,
    only the last ``holdout`` (the ones :func:`~lyra_sim.data.scene_list.split_holdout` kept out of training)."""
    scenes = list_scenes(roots)
    if holdout is not None:
        if holdout < 1:
            raise InvalidInputError(f"--holdout {holdout}: score at least one held-out scene (or leave --holdout out to score all)")
        _, scenes = split_holdout(scenes, holdout)
    return scenes[:max_scenes] if max_scenes is not None else scenes


def evaluate(cfg: EvalCfg, model=None, on_scene: Callable[[int, str], None] | None = None) -> dict:
    """Score the decoder on the scenes; returns the report (``scenes``, ``mean``, settings).

    Args:
        model: an already loaded decoder (else loaded from ``cfg.decoder``).
        on_scene: called with (index, scene root) after each scene.
    """
    from lyra_sim.models import load_decoder

    device = torch.device("cuda" if cfg.device == "auto" and torch.cuda.is_available() else ("cpu" if cfg.device == "auto" else cfg.device))
    if device.type == "cpu":
        from lyra_sim.runtime import tune_cpu_allocator

        tune_cpu_allocator()
    decoder_dir = None
    if model is None:
        decoder_dir = resolve_decoder_dir(cfg.decoder)
        model = load_decoder(decoder_dir, device=device)
    model = model.to(device).eval()
    lpips_model = None
    if cfg.lpips == "on" or (cfg.lpips == "auto" and lpips_available()):
        lpips_model = load_lpips(device)
    scenes = select_scenes(cfg.data, cfg.holdout, cfg.max_scenes)
    rows = []
    for i, scene in enumerate(scenes):
        t0 = time.perf_counter()
        if scene.is_dynamic and not model.cfg.time_embedding:
            rows.append({"scene": str(scene.root), "key": scene.key, "skipped": "dynamic scene (a static decoder)"})
        elif not scene.is_dynamic and model.cfg.time_embedding:
            rows.append({"scene": str(scene.root), "key": scene.key, "skipped": "static scene (a dynamic decoder)"})
        else:
            with torch.no_grad():
                score = _evaluate_dynamic_scene if scene.is_dynamic else _evaluate_scene
                row = score(cfg, model, scene, device, lpips_model)
            row["seconds"] = round(time.perf_counter() - t0, 3)
            rows.append(row)
        if on_scene:
            on_scene(i, str(scene.root))
    keys = [k for k in (*IMAGE_KEYS, *DEPTH_KEYS, *DYNAMIC_KEYS) if any(k in r for r in rows)]
    mean = {k: _mean([r.get(k) for r in rows]) for k in keys}
    per_time = [r["per_time"] for r in rows if "per_time" in r]
    if per_time:
        mean["per_time"] = [{k: (p[0][k] if k == "time" else _mean([pt[i][k] for pt in per_time])) for k in p[0]}
                            for i, p in enumerate(zip(*per_time))]
    for group in ("decoded_depth", "splat_scale"):
        if any(group in r for r in rows):
            mean[group] = {k: _mean([r[group].get(k) for r in rows if group in r]) for k in next(r[group] for r in rows if group in r)}
    for group in ("gaussians_geometry", "depth_geometry"):
        if any(group in r for r in rows):
            mean[group] = {k: _mean([r[group].get(k) for r in rows if group in r]) for k in GEOMETRY_KEYS + ("accuracy", "completeness")}
    return {
        "decoder": str(decoder_dir or cfg.decoder),
        "num_scenes": sum(1 for r in rows if "skipped" not in r),
        "lpips": lpips_model is not None,
        "mean": mean,
        "scenes": rows,
        "config": _jsonable(asdict(cfg)),
    }


def _evaluate_scene(cfg: EvalCfg, model, scene: LyraScene, device: torch.device, lpips_model) -> dict:
    trajs = scene.trajectory_ids[: cfg.num_input_trajectories] if cfg.num_input_trajectories else list(scene.trajectory_ids)
    T, idx, (H, W), size, reference, c2w, K, frames, latents, source = _decoder_inputs(cfg, model, scene, trajs)
    out = model(latents[None].to(device), c2w[None].to(device), K[None].to(device))
    gaussians = out.scene(0)
    cams = Cameras(c2w.reshape(-1, 4, 4), K.reshape(-1, 3, 3), W, H).to(device)
    rgb, alpha, depth = _render(gaussians, cams, cfg)
    target = frames.flatten(0, 1).to(device)
    pred = rgb.permute(0, 3, 1, 2).clamp(0, 1)
    row: dict = {"scene": str(scene.root), "key": scene.key, "trajectories": trajs, "frames": T, "views": len(cams),
                 "inputs": source, "gaussians": len(out)}
    row["psnr"] = float(psnr(pred, target, max_db=cfg.psnr_cap).mean())
    row["ssim"] = float(ssim(pred, target).mean())
    if lpips_model is not None:
        row["lpips"] = float(lpips_distance(lpips_model, pred, target).mean())
    gt_depth = None
    if all(scene.has("depth", t) for t in trajs):
        gt_depth = torch.stack([scene.load_depth(t, idx, size) for t in trajs]).flatten(0, 1)
        d = depth_metrics(depth[..., 0].cpu(), gt_depth, alpha[..., 0].cpu() > 0.5)
        row["abs_rel"], row["delta1"] = _mean(d["abs_rel"].tolist()), _mean(d["delta1"].tolist())
        row["decoded_depth"] = decoded_depth_metrics(out.depth[0].flatten(0, 1).cpu().float(), gt_depth, model.cfg.far / 2)
    scales = gaussians.scales.detach().max(-1).values.cpu().float()
    row["splat_scale"] = {"median_m": float(scales.median()),
                          "at_cap_fraction": float((scales >= 0.99 * model.cfg.scale_cap).float().mean())}
    if cfg.geometry and gt_depth is not None:
        meshes, _ = scene.load_meshes()
        if meshes:
            g = torch.Generator().manual_seed(cfg.seed)
            cams_cpu = cams.to("cpu")
            gt = _visible_mesh_points(meshes[0], reference, cams_cpu, gt_depth, cfg.mesh_samples, g)
            keep = gaussians.opacities >= cfg.gaussian_min_opacity
            centres = subsample(gaussians.means[keep].cpu().float(), cfg.max_points, g)
            cloud = subsample(depth_to_points(depth[..., 0].cpu().float(), cams_cpu, alpha[..., 0].cpu() > 0.5), cfg.max_points, g)
            row["gt_points"] = int(gt.shape[0])
            row["gaussians_geometry"] = chamfer_fscore(centres, gt, cfg.fscore_threshold)
            row["depth_geometry"] = chamfer_fscore(cloud, gt, cfg.fscore_threshold)
            row["metric_scale"] = bool(scene.info.get("depth_is_metric", False))
    return row


def _evaluate_dynamic_scene(cfg: EvalCfg, model, scene: LyraScene, device: torch.device, lpips_model) -> dict:
    """Per-time scores of a dynamic scene (see the module docstring)."""
    every = list(scene.trajectory_ids)
    forward = every[: len(every) // 2]
    trajs = forward[: cfg.num_input_trajectories] if cfg.num_input_trajectories else forward
    T, idx, (H, W), size, reference, c2w, K, frames, latents, source = _decoder_inputs(cfg, model, scene, trajs)
    times = torch.arange(T, dtype=torch.float32) / max(T - 1, 1)
    picks = np.unique(np.round(np.linspace(0, T - 1, max(cfg.dynamic_times, 1))).astype(int))
    outs = model(latents[None].to(device), c2w[None].to(device), K[None].to(device), input_times=times[None].to(device),
                 target_times=times[picks][None].to(device))
    flipped = np.array([t not in forward for t in every])
    row: dict = {"scene": str(scene.root), "key": scene.key, "trajectories": trajs, "frames": T, "views": len(every),
                 "inputs": source, "per_time": []}
    for out, i in zip(outs, picks):
        at = np.array([i])
        cams = Cameras(torch.cat([scene.load_c2w(t, at, reference) for t in every]).float(),
                       torch.cat([intrinsics_to_matrix(scene.load_intrinsics(t, at, size)) for t in every]).float(), W, H).to(device)
        target = torch.cat([scene.load_frames(t, at, size) for t in every]).to(device)
        rgb, alpha, depth = _render(out.scene(0), cams, cfg)
        pred = rgb.permute(0, 3, 1, 2).clamp(0, 1)
        p = psnr(pred, target, max_db=cfg.psnr_cap).cpu()
        entry = {"time": round(float(times[i]), 4), "psnr": float(p.mean()), "ssim": float(ssim(pred, target).mean()),
                 "psnr_forward": float(p[~flipped].mean()), "psnr_flipped": float(p[flipped].mean()) if flipped.any() else None}
        if all(scene.has("depth", t) for t in every):
            gt_depth = torch.cat([scene.load_depth(t, at, size) for t in every])
            entry["abs_rel"] = _mean(depth_metrics(depth[..., 0].cpu(), gt_depth, alpha[..., 0].cpu() > 0.5)["abs_rel"].tolist())
        row["per_time"].append(entry)
    for k in ("psnr", "ssim", "abs_rel", *DYNAMIC_KEYS):
        vals = [e.get(k) for e in row["per_time"]]
        if any(v is not None for v in vals):
            row[k] = _mean(vals)
    return row


def _decoder_inputs(cfg: EvalCfg, model, scene: LyraScene, trajs: list[str]):
    """What the decoder reads for ``trajs`` of ``scene``: every frame of the longest clip it accepts.

    Returns:
        T, frame indices [T], (H, W), size, the reference c2w [4, 4] (first input camera),
        c2w [V, T, 4, 4] and K [V, T, 3, 3] relative to it, frames [V, T, 3, H, W], latents and
        their source ("latents" or "frames").
    """
    mcfg = model.cfg
    tc = mcfg.temporal_compression
    T = 1 + (scene.num_frames - 1) // tc * tc
    idx = np.arange(T)
    size = tuple(cfg.image_size) if cfg.image_size else scene.image_size
    H, W = size
    unit = mcfg.spatial_compression * mcfg.patch_size
    if H % unit or W % unit:
        raise InvalidInputError(f"{scene.root}: image size {H}x{W} is not a multiple of {unit}; pass image_size (e.g. --image-size)")
    reference = scene.load_c2w(trajs[0], idx[:1])[0]
    c2w = torch.stack([scene.load_c2w(t, idx, reference) for t in trajs]).float()
    K = torch.stack([intrinsics_to_matrix(scene.load_intrinsics(t, idx, size)) for t in trajs]).float()
    frames = torch.stack([scene.load_frames(t, idx, size) for t in trajs])
    latents, source = _latents(cfg, model, scene, trajs, frames, T, size)
    return T, idx, (H, W), size, reference, c2w, K, frames, latents, source


def _latents(cfg: EvalCfg, model, scene: LyraScene, trajs, frames, T, size) -> tuple[torch.Tensor, str]:
    codec = model.codec
    expected = codec.latent_shape(T, *size)
    usable = T == scene.num_frames and all(scene.has("latent", t) for t in trajs)
    if usable and cfg.inputs != "frames":
        try:
            lat = torch.stack([scene.load_latents(t) for t in trajs]).float()
            usable = tuple(lat.shape[1:]) == tuple(expected)
        except DatasetError:
            usable = False
        if usable:
            return lat, "latents"
    if cfg.inputs == "latents":
        raise InvalidInputError(f"{scene.root}: stored latents do not fit ({T} frames at {size[0]}x{size[1]} needs {list(expected)}); "
                                "use inputs=frames or auto")
    device = next(model.parameters()).device
    video = frames.permute(0, 2, 1, 3, 4).to(device) * 2 - 1
    return codec.encode(video.contiguous()).float(), "frames"


def _render(gaussians, cams: Cameras, cfg: EvalCfg):
    from lyra_sim.render import render

    outs = [render(gaussians, cams[i : i + cfg.chunk], "RGB+ED", cfg.background, cfg.near, cfg.far) for i in range(0, len(cams), cfg.chunk)]
    return tuple(torch.cat([getattr(o, k) for o in outs]) for k in ("rgb", "alpha", "depth"))


def _visible_mesh_points(mesh, reference: torch.Tensor, cams: Cameras, gt_depth: torch.Tensor, count: int, g: torch.Generator) -> torch.Tensor:
    """Area-uniform mesh samples (in the reference camera's frame) that some camera sees."""
    rot, trans = reference[:3, :3].double(), reference[:3, 3].double()
    verts = (mesh.vertices.double() - trans) @ rot  # R^T (p - t), row vectors
    seen = depth_to_points(gt_depth.double(), cams.to(dtype=torch.float64))
    if seen.shape[0] == 0:
        return verts.new_zeros(0, 3).float()
    margin = 0.1 + 0.02 * (seen.max(0).values - seen.min(0).values).norm()
    lo, hi = seen.min(0).values - margin, seen.max(0).values + margin
    tris = triangles_in_box(verts, mesh.faces, lo, hi)  # the mesh may be far larger than what is seen
    if tris.shape[0] == 0:
        return verts.new_zeros(0, 3).float()
    kept, total = [], 0
    for _ in range(16):  # rejection sampling of the soup's parts that stick out of the box
        pts = sample_triangle_points(tris, count, g)
        pts = pts[((pts >= lo) & (pts <= hi)).all(1)]
        kept.append(pts)
        total += pts.shape[0]
        if total >= count:
            break
    pts = torch.cat(kept)[:count]
    return pts[visible_points(pts, cams.to(dtype=torch.float64), gt_depth)].float()


# ---------------------------------------------------------------------------------- report
def write_report(report: dict, out_dir: str | Path, overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``metrics.md`` into ``out_dir`` (atomically)."""
    out = Path(out_dir)
    for name in (METRICS_JSON, METRICS_MD):
        check_writable(out / name, overwrite)
    with atomic_output(out / METRICS_JSON, overwrite) as tmp:
        tmp.write_text(json.dumps(_jsonable(report), indent=2, allow_nan=False) + "\n")
    with atomic_output(out / METRICS_MD, overwrite) as tmp:
        tmp.write_text(markdown_table(report))
    return out / METRICS_JSON, out / METRICS_MD


def markdown_table(report: dict) -> str:
    """One row per scene and a mean row: image, depth and geometry metrics."""
    has_lpips = report.get("lpips", False)
    cols = [("PSNR", "psnr", 2), ("SSIM", "ssim", 4)] + ([("LPIPS", "lpips", 4)] if has_lpips else [])
    cols += [("AbsRel", "abs_rel", 4), ("δ1", "delta1", 3), ("metric AbsRel", ("decoded_depth", "abs_rel"), 3),
             ("median err m", ("decoded_depth", "median_error_m"), 2), ("sky near", ("decoded_depth", "sky_rays_near"), 2),
             ("at cap", ("splat_scale", "at_cap_fraction"), 2)]
    thr = report.get("config", {}).get("fscore_threshold", 0.05)
    geo = [("CD Gauss", ("gaussians_geometry", "chamfer"), 4), (f"F@{thr * 100:g}cm Gauss", ("gaussians_geometry", "fscore"), 3),
           ("CD depth", ("depth_geometry", "chamfer"), 4), (f"F@{thr * 100:g}cm depth", ("depth_geometry", "fscore"), 3)]
    lines = [f"# Evaluation of `{report.get('decoder')}`", "",
             f"{report.get('num_scenes', 0)} scene(s); renders vs teacher frames (self-consistency); depth after "
             "scale-and-shift alignment; metric AbsRel, median error and sky rays nearer than half the far plane of the Gaussians' "
             "own decoded depth (no alignment); share of splats at the scale cap; Chamfer (CD, scene units) and F-score against the ground-truth mesh.", ""]
    header = ["scene"] + [c[0] for c in cols] + [g[0] for g in geo]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def cell(row: dict, key, digits: int) -> str:
        v = row.get(key[0], {}).get(key[1]) if isinstance(key, tuple) else row.get(key)
        return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"

    for r in report.get("scenes", []):
        name = Path(r["scene"]).name + ("" if r.get("key") in (None, Path(r["scene"]).name) else f"/{r['key']}")
        if "skipped" in r:
            lines.append(f"| {name} | " + " | ".join(["skipped"] * (len(header) - 1)) + " |")
            continue
        lines.append(f"| {name} | " + " | ".join([cell(r, k, d) for _, k, d in cols] + [cell(r, k, d) for _, k, d in geo]) + " |")
    m = report.get("mean", {})
    lines.append("| **mean** | " + " | ".join([cell(m, k, d) for _, k, d in cols] + [cell(m, k, d) for _, k, d in geo]) + " |")
    if m.get("per_time"):
        lines += ["", "Dynamic scenes, mean per time: every trajectory's camera at that frame; \"flipped\" are the "
                  "motion-reversed copies (cameras no input frame of that instant had).", "",
                  "| time | PSNR | SSIM | PSNR forward | PSNR flipped | AbsRel |", "|---|---|---|---|---|---|"]
        for e in m["per_time"]:
            lines.append(f"| {e['time']:.3f} | " + " | ".join(cell(e, k, d) for k, d in
                         (("psnr", 2), ("ssim", 4), ("psnr_forward", 2), ("psnr_flipped", 2), ("abs_rel", 4))) + " |")
    return "\n".join(lines) + "\n"


def _mean(values) -> float | None:
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(vals) / len(vals) if vals else None


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj
