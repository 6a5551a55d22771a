"""``export_scene``: one GaussianScene in, one simulation-ready USD scene out (many exported
scenes and robots are composed into a world by :func:`lyra_sim.sim.compose_world`).

Flow: check the scene -> depth (given, or rendered at automatic cameras) -> collision proxy
(scene frame) -> floor, gravity and scale -> collider and spawn points in the sim frame ->
USD stage (Gaussians under an Xform that carries ``sim_from_scene``, physics scene, collider,
spawn points, metadata) -> collider OBJ/GLB -> report JSON/PNG. Every output path is checked
before any work starts, every file is written atomically, and if anything fails the files this
call already wrote are removed, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from lyra_sim.errors import ExportError
from lyra_sim.export.alignment import (
    Alignment,
    angle_degrees,
    estimate_alignment,
    ground_quad,
    refit_floor,
    splat_up,
    splat_surfaces,
)
from lyra_sim.export.collider import (
    CollisionProxy,
    build_collision_proxy,
    depth_to_collider,
    flatten_floor,
)
from lyra_sim.export.config import ExportCfg
from lyra_sim.export.depth import (
    DepthViews,
    SourceFrame,
    auto_cameras,
    in_front_of_origin,
    render_depth_views,
)
from lyra_sim.export.mesh_io import write_glb, write_obj
from lyra_sim.export.moving import MovingCollider, TimedDepth, moving_colliders, remove_moving
from lyra_sim.export.report import build_report, write_collider_preview, write_report_json
from lyra_sim.export.spawn import SpawnPoint, find_spawn_points
from lyra_sim.export.usd_gaussians import (
    check_exportable,
    new_stage,
    package_usdz,
    partition_ranges,
    reference_gaussian_layers,
    set_transform,
    write_gaussian_layers,
)
from lyra_sim.export.usd_physics import (
    author_collider,
    author_metadata,
    author_physics_scene,
    author_spawn_points,
)
from lyra_sim.gaussians import GaussianScene
from lyra_sim.io.atomic import atomic_output, check_writable
from lyra_sim.progress import ProgressFn, step, using
from lyra_sim.progress import report as report_progress

log = logging.getLogger(__name__)


@dataclass
class ExportResult:
    """What :func:`export_scene` produced.

    Attributes:
        files: role -> path ("usd", "gaussian_layers", "collider_obj", "collider_glb", "report_json",
            "report_png", "nurec"); "gaussian_layers" is a list.
        report: the sim-readiness report (also in ``report.json``).
        alignment: the transform from the scene frame to the sim frame.
        collider: the collision proxy in the sim frame (None when disabled).
        spawn_points: sim-frame spawn points.
        moving_colliders: a 4D world's kinematic colliders, one per time, sim frame.
    """

    files: dict
    report: dict
    alignment: Alignment
    collider: CollisionProxy | None
    spawn_points: list[SpawnPoint] = field(default_factory=list)
    moving_colliders: list[MovingCollider] = field(default_factory=list)


class _Outputs:
    """Files of one export: checked up front, removed again if the export fails."""

    def __init__(self, out_dir: Path, overwrite: bool):
        self.out_dir, self.overwrite, self.written = out_dir, overwrite, []

    def check(self, names: list[str]) -> None:
        for name in names:
            check_writable(self.out_dir / name, self.overwrite)

    @contextmanager
    def file(self, name: str) -> Iterator[Path]:
        with atomic_output(self.out_dir / name, self.overwrite) as tmp:
            yield tmp
        self.written.append(self.out_dir / name)

    def rollback(self) -> None:
        for path in self.written:
            path.unlink(missing_ok=True)


def prepare_out_dir(out_dir: str | Path) -> Path:
    """Create ``out_dir`` and prove it writable; ExportError with the reason otherwise."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".lyra-write-test-", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ExportError(f"cannot write to {out_dir}: {err.strerror or err}; choose another --out directory") from None
    return out_dir


def export_scene(
    scene: GaussianScene,
    out_dir: str | Path,
    cfg: ExportCfg | None = None,
    depth_views: DepthViews | None = None,
    source: SourceFrame | None = None,
    timed_depth: TimedDepth | None = None,
    progress: ProgressFn | None = None,
) -> ExportResult:
    """Turn ``scene`` into a simulation-ready USD scene in ``out_dir``.

    Args:
        scene: the Gaussians, in the scene frame (generated scenes: the first input camera's
            OpenCV frame, arbitrary units).
        cfg: what to do; :class:`ExportCfg` defaults when None.
        depth_views: depth maps + cameras in the scene frame (the decoder's decoded depth, or a
            teacher's); None renders the Gaussians' expected depth instead.
        source: what else is known about the frame (metric teacher, input camera, trajectories).
        timed_depth: a moving (4D) world's depth of the same cameras at several instants
            (:mod:`lyra_sim.export.moving`): the static collider then leaves out what moves,
            no spawn point lies in the path of moving geometry, and ``cfg.moving`` makes a
            kinematic collider for each of ``cfg.moving.times`` (``ExportResult.moving_colliders``).
        progress: ``fn(stage, done, total)`` for the long steps (:mod:`lyra_sim.progress`:
            ``"depth views"``, ``"TSDF fusion views"``, ``"spawn search"``, ...). None: the
            caller's, else log stage starts and ends on the ``lyra_sim.export`` logger (INFO).

    Returns:
        :class:`ExportResult`; the files are ``scene.usd[a|c|z]``, ``gaussians*.usdc`` (not for
        usdz), ``collider.obj``, ``collider.glb``, ``report.json``, ``report.png`` and, with
        ``cfg.nurec``, ``scene.nurec.usdz``.

    Raises:
        ExportError: empty/transparent/invalid scene, unwritable output, no surface, ...
        OutputExistsError: an output exists and ``cfg.overwrite`` is False.
    """
    with using(progress, log):
        return _export_scene(scene, out_dir, cfg or ExportCfg(), depth_views, source, timed_depth)


def _export_scene(scene: GaussianScene, out_dir: str | Path, cfg: ExportCfg, depth_views: DepthViews | None,
                  source: SourceFrame | None, timed_depth: TimedDepth | None) -> ExportResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    check_exportable(scene)
    out_dir = prepare_out_dir(out_dir)
    outputs = _Outputs(out_dir, cfg.overwrite)
    root_name = f"scene.{cfg.usd_format}"
    ranges = partition_ranges(len(scene), scene.sh.shape[1], cfg.gaussians)
    layer_names = ["gaussians.usdc"] if len(ranges) == 1 else [f"gaussians_{i:03d}.usdc" for i in range(len(ranges))]
    planned = [root_name] + ([] if cfg.usd_format == "usdz" else layer_names) + ["report.json"]
    sim = cfg.alignment.frame == "sim"
    if cfg.collider.enabled and cfg.collider.write_obj:
        planned.append("collider.obj")
    if cfg.collider.enabled and cfg.collider.write_glb:
        planned.append("collider.glb")
    if cfg.previews:
        planned.append("report.png")
    if cfg.nurec:
        planned.append("scene.nurec.usdz")
    outputs.check(planned)

    source = _resolve_source(scene, source, cfg)
    try:
        # ---------------------------------------------------------------- depth and collider
        proxy_scene, stats, views, floor_surface = None, None, None, None
        if cfg.collider.enabled or (sim and depth_views is not None):
            views = depth_views if depth_views is not None else _render_views(scene, cfg, source)
            timings["depth"] = time.perf_counter() - t0
            proxy_scene, stats = build_collision_proxy(views, cfg.collider)
            log.info("collider: %d triangles", stats.triangles)
            timings["collider"] = time.perf_counter() - t0 - timings["depth"]
        elif sim:  # no collider asked for: the floor is fitted to the splats themselves, nothing rendered
            floor_surface = splat_surfaces(scene)
        moving, keep_out, moving_removed = [], None, 0
        if timed_depth is not None and proxy_scene is not None and cfg.moving.enabled:
            t_moving = time.perf_counter()
            margin = cfg.moving.margin_voxels * stats.voxel_size
            proxy_scene, moving_removed = remove_moving(proxy_scene, timed_depth, margin)
            moving, keep_out = moving_colliders(timed_depth, list(cfg.moving.times or timed_depth.times), stats.voxel_size,
                                                cfg.collider, cfg.moving)
            timings["moving_colliders"] = time.perf_counter() - t_moving
        # ---------------------------------------------------------------- alignment
        t1 = time.perf_counter()
        with step("alignment"):
            alignment = estimate_alignment(proxy_scene if proxy_scene is not None else floor_surface, cfg.alignment,
                                           source, object_points=_opaque_means(scene))
        proxy = proxy_scene.transformed(alignment.sim_from_scene) if proxy_scene is not None else None
        if proxy is not None and alignment.capture == "object":
            # An object (a statue, a person) has no floor of its own: it gets a ground square to stand on.
            proxy = ground_quad(proxy)
            proxy_scene = proxy.transformed(torch.linalg.inv(alignment.sim_from_scene))
        tilt_after = None
        if sim and proxy is not None:
            band = None if cfg.alignment.floor_inlier_distance is None else cfg.alignment.floor_inlier_distance * alignment.scale
            tilt_after = angle_degrees(refit_floor(proxy, [0.0, 0.0, 1.0], 0.0, band).normal, [0, 0, 1])
            # Measured before flattening: the tilt says how well the alignment fits the raw collider.
            proxy = flatten_floor(proxy, cfg.collider, stats.voxel_size * alignment.scale, stats)
            proxy_scene = proxy.transformed(torch.linalg.inv(alignment.sim_from_scene))
        if keep_out is not None:
            m = alignment.sim_from_scene.double().numpy()
            keep_out = keep_out @ m[:3, :3].T + m[:3, 3]
        moving = [c.transformed(alignment.sim_from_scene) for c in moving]
        spawn = []
        if sim and proxy is not None and cfg.spawn.enabled:
            with step("spawn search"):
                spawn = find_spawn_points(proxy, cfg.spawn, keep_out)
        timings["alignment_and_spawn"] = time.perf_counter() - t1

        # ---------------------------------------------------------------- USD
        t2 = time.perf_counter()
        files: dict = {}
        report_progress("USD", 0, 1)
        stage = new_stage(None, up_axis="Z" if sim else "Y")
        xf = _gaussians_root(stage, alignment)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".lyra-export-") as tmp:
            layer_dir = Path(tmp) if cfg.usd_format == "usdz" else out_dir
            if cfg.usd_format == "usdz":
                names = write_gaussian_layers(scene, layer_dir, "gaussians", cfg.gaussians, overwrite=True)
            else:
                names = _write_layers(scene, outputs, layer_names, ranges, cfg)
                files["gaussian_layers"] = [out_dir / n for n in names]
            reference_gaussian_layers(stage, str(xf.GetPath()), names)
            if sim:
                author_physics_scene(stage, cfg.gravity)
            if proxy is not None and cfg.collider.enabled:
                author_collider(stage, proxy, cfg.collider)
            if spawn:
                author_spawn_points(stage, spawn)
            report = build_report(scene, cfg, alignment, proxy, stats, views, spawn, tilt_after, len(names), source)
            if proxy is not None and views is not None:
                # Rendered views are the Gaussians' own surface: does the robot collide where it sees?
                key = "gaussians_vs_collider" if views.source == "rendered" else f"{views.source}_depth_vs_collider"
                report[key] = depth_to_collider(views, proxy, alignment.sim_from_scene)
            if timed_depth is not None:
                report["moving_colliders"] = {"instants_compared": [round(t, 4) for t in timed_depth.times],
                                              "depth_source": timed_depth.source,
                                              "static_faces_removed": moving_removed,
                                              "per_time": [c.summary() for c in moving]}
            author_metadata(stage, {"sim_from_scene": alignment.sim_from_scene.tolist(), "frame": cfg.alignment.frame,
                                    "scale_source": alignment.scale_source, "scale": alignment.scale,
                                    "spawn_points": [p.to_dict() for p in spawn], "source": source.name})
            if cfg.usd_format == "usdz":
                root = Path(tmp) / "scene.usda"
                stage.GetRootLayer().Export(str(root))
                package_usdz(root, out_dir / root_name, cfg.overwrite)
                outputs.written.append(out_dir / root_name)
            else:
                with outputs.file(root_name) as tmp_root:
                    stage.GetRootLayer().Export(str(tmp_root))
        files["usd"] = out_dir / root_name
        report_progress("USD", 1, 1)
        timings["usd"] = time.perf_counter() - t2

        # ---------------------------------------------------------------- side files
        if proxy is not None and cfg.collider.enabled and cfg.collider.write_obj:
            with outputs.file("collider.obj") as tmp:
                write_obj(proxy.vertices, proxy.faces, tmp, overwrite=True)
            files["collider_obj"] = out_dir / "collider.obj"
        if proxy is not None and cfg.collider.enabled and cfg.collider.write_glb:
            with outputs.file("collider.glb") as tmp:
                write_glb(proxy.vertices, proxy.faces, tmp, overwrite=True)
            files["collider_glb"] = out_dir / "collider.glb"
        if cfg.nurec:
            from lyra_sim.export.nurec import write_nurec_usdz

            with outputs.file("scene.nurec.usdz") as tmp:
                write_nurec_usdz(scene, tmp, alignment.sim_from_scene, overwrite=True, final_name="scene.nurec.usdz")
            files["nurec"] = out_dir / "scene.nurec.usdz"
        if cfg.previews and proxy_scene is not None and views is not None:
            with outputs.file("report.png") as tmp, step("collider preview"):
                write_collider_preview(scene, proxy_scene, views.cameras, tmp)
            files["report_png"] = out_dir / "report.png"
        timings["total"] = time.perf_counter() - t0
        report["timings_seconds"] = {k: round(v, 3) for k, v in timings.items()}
        report["files"] = {k: ([str(p.name) for p in v] if isinstance(v, list) else v.name) for k, v in files.items()}
        report["files"]["report_json"] = "report.json"
        with outputs.file("report.json") as tmp:
            write_report_json(report, tmp)
        files["report_json"] = out_dir / "report.json"
    except BaseException:
        outputs.rollback()
        raise
    return ExportResult(files, report, alignment, proxy, spawn, moving)


def _resolve_source(scene: GaussianScene, source: SourceFrame | None, cfg: ExportCfg) -> SourceFrame:
    """Read the capture's cameras (``alignment.cameras``); else fill in the input camera by
    Lyra's convention when the scene lies in front of the origin."""
    source = source or SourceFrame()
    if cfg.alignment.cameras is not None and source.cameras_evidence is None and cfg.alignment.frame == "sim":
        source = source.with_capture_cameras(cfg.alignment.cameras)
    if source.input_camera is None and source.cameras is None and in_front_of_origin(scene.detach().to("cpu")) >= 0.5:
        source = replace(source, input_camera=torch.eye(4))
    return source


def _opaque_means(scene: GaussianScene, min_opacity: float = 0.5, limit: int = 200_000):
    """[M, 3] float64 centres of the opaque Gaussians (at most ``limit``, evenly strided),
    scene frame: where an object capture's lowest points are."""
    keep = torch.nonzero(scene.opacities.detach().cpu() >= min_opacity).squeeze(1)
    if len(keep) > limit:
        keep = keep[:: -(-len(keep) // limit)]
    return scene.means.detach().cpu()[keep].double().numpy()


def _render_views(scene: GaussianScene, cfg: ExportCfg, source: SourceFrame) -> DepthViews:
    up = None
    if source.cameras is None and source.input_camera is None and cfg.alignment.frame == "sim":
        # No camera to place the orbit by: the up the splats themselves suggest, so the orbit
        # looks down on the floor rather than up at it (the thinnest axis, signed -Y, put an
        # OpenGL-frame room's orbit under its floor).
        up = splat_up(scene, source.prior, cfg.alignment)
    cams, _ = auto_cameras(scene, cfg.collider, source, up=up)
    s = scene if cfg.device is None else scene.to(cfg.device)
    return render_depth_views(s, cams, cfg.collider.min_alpha, scale_factor=cfg.collider.render_scale_factor)


def _gaussians_root(stage, alignment: Alignment):
    from pxr import UsdGeom

    xf = UsdGeom.Xform.Define(stage, "/World/Gaussians")
    set_transform(xf, alignment.sim_from_scene)
    return xf


def _write_layers(scene, outputs: _Outputs, names, ranges, cfg: ExportCfg) -> list[str]:
    """The data layers straight into the output directory (tracked for rollback)."""
    written = []
    for name, (a, b) in zip(names, ranges):
        with tempfile.TemporaryDirectory(dir=outputs.out_dir, prefix=".lyra-layer-") as tmp:
            (src,) = write_gaussian_layers(scene[a:b], tmp, "layer", cfg.gaussians, overwrite=True)
            with outputs.file(name) as dst:
                os.replace(Path(tmp) / src, dst)
        written.append(name)
    return written
