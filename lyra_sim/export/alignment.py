"""Gravity and metric scale: find the floor, make it z = 0 with +Z up, and fix the metres.

The floor is a robust plane fit on the fused geometry and its normals (mesh normals point into
free space): RANSAC over upward-facing surface samples, each candidate plane scored by its
support (samples within the band whose normals agree) minus the samples *below* it, so the
largest low horizontal support wins over a table top (which has the floor below it) and the
ceiling never competes (its normals face down). The winner is refined by least squares on
ever narrower bands.

Scale comes from, in order: a metric teacher (``world_from_scene`` or metric depth), an
explicit ``camera_height`` (the input camera's height above the floor), an explicit ``scale``,
and the default camera height (1.6 m). The sim frame puts the input camera's foot at the
origin and its viewing direction along +X, so "forward" in the robot's world is what the
input image showed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from lyra_sim.errors import ExportError
from lyra_sim.export import mesh_ops, orientation
from lyra_sim.export.collider import CollisionProxy
from lyra_sim.export.config import AlignmentCfg
from lyra_sim.export.depth import SourceFrame

ScaleSource = Literal["teacher", "camera_height", "scale", "assumed", "none"] | str
"""A recorded frame keeps the scale source its writer named."""
_AXES = {"+x": (1, 0, 0), "-x": (-1, 0, 0), "+y": (0, 1, 0), "-y": (0, -1, 0), "+z": (0, 0, 1), "-z": (0, 0, -1)}


@dataclass
class FloorPlane:
    """A floor plane ``normal . x = offset`` (normal = up, unit) and how well it is supported."""

    normal: np.ndarray
    offset: float
    inlier_fraction: float
    inlier_area: float

    def height(self, points: np.ndarray) -> np.ndarray:
        """Signed height of ``points`` [..., 3] above the plane."""
        return points @ self.normal - self.offset


@dataclass
class Alignment:
    """The transform from the scene frame to the sim frame, and how it was found.

    Attributes:
        sim_from_scene: [4, 4] float64 similarity ``x_sim = s R x_scene + t``.
        scale: metres per scene unit (``s``).
        scale_source: "teacher", "camera_height", "scale", "assumed" (nothing known: 1) or
            "none" (``frame="source"``: no alignment).
        floor: the floor in the scene frame (None when not fitted).
        up_hint: [3] the up direction assumed before the fit, scene frame.
        tilt_before_degrees: angle between the fitted floor normal and the up hint.
        camera_height_scene: the input camera's height above the floor, scene units (None: unknown).
        method: "floor_fit", "object" (no support plane: the ground under the lowest points),
            "teacher", "recorded" (the file's frame record) or "identity".
        status: "ok", or "uncertain" when the frame rests on weak evidence (``uncertain``).
        uncertain: one entry per doubt: ``{"what", "reason", "flags"}`` (the CLI flags that fix it).
        recorded: what became of the file's frame record: None (no record), else its
            :meth:`~lyra_sim.export.frame_record.FrameRecord.to_dict` with ``used`` and, when not
            used, ``ignored_because``.
        confidence: "up", "floor", "scale" -> ``{"value" 0..1, "evidence", "detail"}``
            (:class:`~lyra_sim.export.orientation.Confidence`); empty for ``frame="source"``.
        min_confidence: the threshold below which a confidence makes the frame uncertain.
        capture: "scene" (a support plane was found) or "object" (stood on its lowest points).
        up_prior: the file's convention prior (:class:`~lyra_sim.export.orientation.UpPrior`).
    """

    sim_from_scene: torch.Tensor
    scale: float
    scale_source: ScaleSource
    floor: FloorPlane | None
    up_hint: np.ndarray
    tilt_before_degrees: float | None
    camera_height_scene: float | None
    method: str
    status: str = "ok"
    uncertain: list[dict] = field(default_factory=list)
    recorded: dict | None = None
    confidence: dict = field(default_factory=dict)
    min_confidence: float | None = None
    capture: str = "scene"
    up_prior: dict | None = None

    @property
    def frame_source(self) -> str:
        """Where the frame came from, for ``report.json``'s ``frame.source``."""
        if self.method == "recorded" and self.recorded is not None:
            return self.recorded["origin"]
        return {"floor_fit": "floor fit", "identity": "input frame", "object": "object on its lowest points"}.get(
            self.method, self.method)

    def to_dict(self) -> dict:
        return {
            "source": self.frame_source,
            "status": self.status,
            "uncertain": self.uncertain,
            "recorded_frame": self.recorded,
            "sim_from_scene": self.sim_from_scene.tolist(),
            "scale_metres_per_unit": self.scale,
            "scale_source": self.scale_source,
            "method": self.method,
            "floor_normal_scene": None if self.floor is None else self.floor.normal.tolist(),
            "floor_offset_scene": None if self.floor is None else self.floor.offset,
            "floor_inlier_fraction": None if self.floor is None else self.floor.inlier_fraction,
            "up_hint_scene": self.up_hint.tolist(),
            "tilt_before_degrees": self.tilt_before_degrees,
            "camera_height_scene_units": self.camera_height_scene,
            "confidence": self.confidence,
            "min_confidence": self.min_confidence,
            "capture": self.capture,
            "up_prior": self.up_prior,
        }


def angle_degrees(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    c = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))
    return math.degrees(math.acos(min(1.0, max(-1.0, c))))


def up_hint(cfg: AlignmentCfg, source: SourceFrame | None, proxy: CollisionProxy | None = None) -> np.ndarray:
    """The rough up direction in the scene frame (see :attr:`AlignmentCfg.up_hint`).

    "auto": the cameras' mean up (-y in OpenCV) when cameras are known; else the geometry's
    thinnest axis (scenes are wider than tall), pointing -y for y (the COLMAP/OpenCV habit)
    and + otherwise; else -y.
    """
    if cfg.up_hint != "auto":
        return np.asarray(_AXES[cfg.up_hint], float)
    if source is not None and source.cameras is not None and len(source.cameras):
        up = -source.cameras.c2w[:, :3, 1].double().mean(0).numpy()  # OpenCV: image up is -y
        return up / np.linalg.norm(up)
    if source is not None and source.input_camera is not None:
        up = -np.asarray(torch.as_tensor(source.input_camera, dtype=torch.float64)[:3, 1])
        return up / np.linalg.norm(up)
    if proxy is not None and proxy.num_triangles:
        size = np.percentile(proxy.vertices, 98, axis=0) - np.percentile(proxy.vertices, 2, axis=0)
        up = np.zeros(3)
        thin = int(np.argmin(size))
        up[thin] = -1.0 if thin == 1 else 1.0
        return up
    return np.array([0.0, -1.0, 0.0])


def splat_surfaces(scene, max_splats: int = 200_000, min_opacity: float = 0.5) -> CollisionProxy:
    """A stand-in surface for the floor fit when no collider is made: one triangle per Gaussian,
    in the plane of its two longest axes (a trained splat lies flat on the surface it shows, its
    shortest axis along the normal), for the ``max_splats`` most opaque Gaussians with opacity
    >= ``min_opacity``. Costs a fraction of a second for millions of Gaussians, where rendering
    their surface depth at the collider's views costs minutes (2M splats: 140 s).

    Args:
        scene: GaussianScene in the scene frame.

    Returns:
        CollisionProxy of K <= ``max_splats`` triangles (scene frame); empty when no Gaussian
        is opaque enough.
    """
    from lyra_sim.gaussians.quaternions import quat_to_rotmat

    opacity = scene.opacities.detach().float().cpu()
    keep = torch.nonzero(opacity >= min_opacity).squeeze(1)
    if len(keep) > max_splats:
        keep = keep[torch.topk(opacity[keep], max_splats).indices]
    if not len(keep):
        return CollisionProxy(np.zeros((0, 3)), np.zeros((0, 3), np.int64))
    means = scene.means.detach().double().cpu()[keep]
    scales = scene.scales.detach().double().cpu()[keep]
    rot = quat_to_rotmat(scene.quats.detach().double().cpu()[keep])  # [K, 3, 3], columns: local axes
    order = torch.argsort(scales, dim=1, descending=True)  # longest first
    idx = torch.arange(len(keep))
    a = rot[idx, :, order[:, 0]] * scales[idx, order[:, 0], None]
    b = rot[idx, :, order[:, 1]] * scales[idx, order[:, 1], None]
    corners = torch.stack([means + a, means - 0.5 * a + 0.87 * b, means - 0.5 * a - 0.87 * b], 1)  # [K, 3, 3]
    faces = np.arange(3 * len(keep), dtype=np.int64).reshape(-1, 3)
    return CollisionProxy(corners.reshape(-1, 3).numpy(), faces)


def _samples_and_band(proxy: CollisionProxy, band: float | None, samples: int, seed: int):
    pts, nrm = mesh_ops.sample_surface(proxy.vertices, proxy.faces, samples, seed)
    if len(pts) == 0:
        raise ExportError("the collider has no area; cannot find a floor")
    if band is None:
        extent = float(np.linalg.norm(np.percentile(pts, 99, axis=0) - np.percentile(pts, 1, axis=0)))
        edges = np.linalg.norm(proxy.vertices[proxy.faces[:, 0]] - proxy.vertices[proxy.faces[:, 1]], axis=1)
        band = min(max(1.5 * float(np.median(edges)), 0.005 * extent), 0.02 * extent)
    return pts, nrm, band


def _refine(pts, nrm, normal, offset, band, shrinks) -> tuple[np.ndarray, float, np.ndarray]:
    """Least squares on the inliers of ever narrower bands (the local optimisation of LO-RANSAC).

    Returns (normal, offset, inlier mask of the last band).
    """
    inl = np.zeros(len(pts), bool)
    for shrink in shrinks:
        inl = (np.abs(pts @ normal - offset) < band * shrink) & (nrm @ normal > _COS_AGREE)
        if inl.sum() < 10:
            break
        centre = pts[inl].mean(0)
        _, _, vt = np.linalg.svd(pts[inl] - centre, full_matrices=False)
        n = vt[2] * (1 if vt[2] @ normal >= 0 else -1)
        normal, offset = n, float(n @ centre)
    return normal, offset, inl


_COS_AGREE = math.cos(math.radians(20.0))


def fit_floor(
    proxy: CollisionProxy, up: np.ndarray, max_tilt_degrees: float = 45.0, band: float | None = None,
    samples: int = 60_000, iterations: int = 512, seed: int = 0,
) -> FloorPlane:
    """Fit the floor plane of ``proxy`` (any frame) whose normal lies within ``max_tilt`` of ``up``.

    Args:
        band: inlier half-width in the proxy's units; None: 1.5 x its median edge length (the
            mesh resolution), within 0.5 % to 2 % of its extent.

    Raises:
        ExportError: no upward-facing surface within the tilt limit.
    """
    rng = np.random.default_rng(seed)
    pts, nrm, band = _samples_and_band(proxy, band, samples, seed)
    up = up / np.linalg.norm(up)
    cos_tilt = math.cos(math.radians(max_tilt_degrees))
    upward = nrm @ up > cos_tilt
    if upward.sum() < 30:
        raise ExportError(
            f"no upward-facing surface within {max_tilt_degrees:.0f} deg of the up direction {up.round(3).tolist()}; "
            "is the up hint right? (CLI: --up, e.g. --up +z for Z-up PLYs)"
        )
    cand = pts[upward]

    # RANSAC: all candidate planes at once, each from three upward-facing samples.
    tri = cand[rng.integers(0, len(cand), size=(iterations, 3))]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-30)
    normals *= np.sign(normals @ up)[:, None] + (normals @ up == 0)[:, None]
    ok = normals @ up > cos_tilt
    if not ok.any():
        normals, tri, ok = up[None], cand[:1, None].repeat(3, 1), np.array([True])
    normals, tri = normals[ok], tri[ok]
    offsets = (normals * tri[:, 0]).sum(1)
    eval_idx = rng.choice(len(pts), size=min(len(pts), 20_000), replace=False)
    ep, en = pts[eval_idx], nrm[eval_idx]

    def score(normals: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Support (samples in the band whose normals agree) minus samples well below the plane."""
        heights = ep @ normals.T - offsets  # [P, C]
        support = ((np.abs(heights) < band) & ((en @ normals.T) > _COS_AGREE)).sum(0)
        return support - 2 * (heights < -2 * band).sum(0)

    # A tilted plane that grazes the floor scores well before refinement and converges onto the
    # floor after it, so the best few candidates are refined before the final choice.
    top = np.argsort(-score(normals, offsets))[:12]
    refined = [_refine(pts, nrm, normals[i], offsets[i], band, (1.0, 1.0, 0.5))[:2] for i in top]
    r_normals = np.stack([n for n, _ in refined])
    r_offsets = np.array([o for _, o in refined])
    r_scores = np.where(r_normals @ up > cos_tilt, score(r_normals, r_offsets), -np.inf)
    best = int(np.argmax(r_scores))
    normal, offset, inl = _refine(pts, nrm, r_normals[best], r_offsets[best], band, (0.5, 0.25))
    return FloorPlane(normal, float(offset), float(inl.mean()), float(proxy.area * inl.mean()))


def refit_floor(proxy: CollisionProxy, normal, offset: float = 0.0, band: float | None = None) -> FloorPlane:
    """Re-fit a floor near a known plane (no search): e.g. z = 0 of an exported world, to measure
    how level its floor really is."""
    pts, nrm, band = _samples_and_band(proxy, band, 60_000, 0)
    normal = np.asarray(normal, float) / np.linalg.norm(normal)
    normal, offset, inl = _refine(pts, nrm, normal, float(offset), band, (1.0, 0.5, 0.25))
    return FloorPlane(normal, float(offset), float(inl.mean()), float(proxy.area * inl.mean()))


def rotation_to_z(normal: np.ndarray, forward: np.ndarray | None = None) -> np.ndarray:
    """[3, 3] rotation taking ``normal`` to +Z and, if given, ``forward`` (projected) to +X."""
    z = normal / np.linalg.norm(normal)
    if forward is not None:
        f = forward - (forward @ z) * z
        if np.linalg.norm(f) > 1e-6:
            x = f / np.linalg.norm(f)
            return np.stack([x, np.cross(z, x), z])  # rows: the sim axes in scene coordinates
    # No forward direction: the smallest rotation (Rodrigues) from normal to +Z.
    target = np.array([0.0, 0.0, 1.0])
    v, c = np.cross(z, target), float(z @ target)
    if np.linalg.norm(v) < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


def estimate_alignment(proxy: CollisionProxy | None, cfg: AlignmentCfg, source: SourceFrame | None = None,
                       object_points: np.ndarray | None = None) -> Alignment:
    """Find ``sim_from_scene`` for a collider in the scene frame (see the module docstring).

    In order: ``frame="source"`` (identity); the file's frame record
    (:mod:`lyra_sim.export.frame_record`) unless the user asked for another frame; a metric
    teacher's ``world_from_scene``; the floor fit, its up direction from the user (``--up``),
    the capture's cameras, or the best-supported axis with the file's convention as a prior
    (:mod:`lyra_sim.export.orientation`). A capture with no plane holding
    ``cfg.object_floor_fraction`` of the surface is an object, stood on the ground under its
    lowest points; a floor under ``cfg.min_floor_inlier_fraction`` is kept but doubted. Each of
    up, floor and scale gets a confidence; one below ``cfg.min_confidence`` gives
    ``status="uncertain"`` with the flags that fix it.

    Args:
        object_points: [M, 3] the opaque Gaussians' centres (scene frame), if known: an object's
            ground and principal axes are taken from them rather than from the collider, whose
            fusion can bulge below a narrow base.
    """
    recorded = None if source is None else source.recorded
    record_info, use_record = None, False
    if recorded is not None:
        ignored = _record_overridden(cfg)
        use_record = not ignored
        record_info = {**recorded.to_dict(), "used": use_record}
        if ignored:
            record_info["ignored_because"] = ignored
    prior = source.prior if source is not None and source.prior is not None else None
    capture = source is not None and source.cameras_evidence is not None and source.cameras is not None
    hint = up_hint(cfg, source, proxy)
    if prior is None:  # no file, or one that tells nothing: the old rule, the geometry's thinnest axis
        prior = orientation.UpPrior(hint, orientation.GEOMETRY_PRIOR_CONFIDENCE,
                                    "no convention known: the geometry's thinnest axis (scenes are wider than tall)")
    if use_record and cfg.up_hint == "auto":
        hint = np.asarray(recorded.sim_from_scene[2, :3], float)  # the recorded up, in the scene frame
        hint = hint / np.linalg.norm(hint)
    if cfg.frame == "source":
        return Alignment(torch.eye(4, dtype=torch.float64), 1.0, "none", None, hint, None, None, "identity", recorded=record_info)
    known = use_record or (cfg.use_teacher_frame and source is not None and source.world_from_scene is not None)
    threshold = cfg.min_floor_inlier_fraction

    # ---------------------------------------------------------------- up hint and its evidence
    samples = None  # surface samples for the direction search and an object's ground; a known frame needs none
    if not known and proxy is not None and proxy.num_triangles and proxy.area > 0:
        samples = _samples_and_band(proxy, cfg.floor_inlier_distance, 20_000, 1)
    cands: list[orientation.UpCandidate] = []
    if cfg.up_hint != "auto":
        up_conf = orientation.Confidence(0.9, ["user"], f"--up {cfg.up_hint}")
    elif capture:
        hint, c, detail = orientation.capture_up(source.cameras.c2w.double().numpy())
        up_conf = orientation.Confidence(c, ["cameras"], f"{source.cameras_evidence}: {detail}")
    elif source is not None and source.cameras is not None and len(source.cameras):
        up_conf = orientation.Confidence(0.8, ["cameras"], "the scene's own trajectories' mean up vector")
    else:
        if source is not None and source.input_camera is not None:
            prior = orientation.UpPrior(hint, 0.5, "the scene lies in front of the origin camera (Lyra's convention): "
                                        "its image up (-Y) is up")
        up_conf = orientation.Confidence(prior.confidence, ["convention_prior"], prior.reason)
        if samples is not None:
            cands = orientation.search_up(samples[0], samples[1], samples[2], prior)
            if cands and cands[0].score > 0:
                hint = cands[0].up

    floor = None
    if proxy is not None and proxy.num_triangles:
        try:
            floor = fit_floor(proxy, hint, cfg.max_tilt_degrees, cfg.floor_inlier_distance)
        except ExportError:
            if not known and samples is None:  # the fit decides the frame: its failure is the export's
                raise
    tilt = angle_degrees(floor.normal, hint) if floor is not None else None
    cam = None if source is None or source.input_camera is None else torch.as_tensor(source.input_camera, dtype=torch.float64).numpy()
    cam_h = float(floor.height(cam[:3, 3])) if (floor is not None and cam is not None) else None

    if use_record:
        m = torch.from_numpy(np.array(recorded.sim_from_scene, dtype=np.float64))
        cam_h = _height_in(m, cam, recorded.metres_per_unit, cam_h)
        conf = {k: orientation.Confidence(0.95, ["record"], "the frame generate recorded in the file") for k in _WHAT}
        return Alignment(m, recorded.metres_per_unit, recorded.scale_source, floor, hint, tilt, cam_h, "recorded",
                         recorded=record_info, confidence=_dicts(conf), min_confidence=cfg.min_confidence)
    if cfg.use_teacher_frame and source is not None and source.world_from_scene is not None:
        m = torch.as_tensor(source.world_from_scene, dtype=torch.float64).cpu().clone()
        s = float(torch.linalg.det(m[:3, :3]) ** (1 / 3))
        cam_h = _height_in(m, cam, s, cam_h)
        conf = {k: orientation.Confidence(0.95, ["teacher"], "the metric teacher's world frame") for k in _WHAT}
        return Alignment(m, s, "teacher", floor, hint, tilt, cam_h, "teacher", recorded=record_info,
                         confidence=_dicts(conf), min_confidence=cfg.min_confidence)
    if floor is None and samples is None:
        raise ExportError("no collider to find the floor on; enable the collider or use --frame source")

    # ---------------------------------------------------------------- floor: a support plane, or an object's ground
    method, capture_kind = "floor_fit", "scene"
    if floor is not None and floor.inlier_fraction >= cfg.object_floor_fraction:
        floor_conf = orientation.Confidence(
            orientation.strength(floor.inlier_fraction, threshold), ["floor_fit"],
            f"the floor holds {100 * floor.inlier_fraction:.3g} % of the surface samples (0.5 at {100 * threshold:g} %)")
        up_conf = _up_confidence(up_conf, floor, hint, cands, prior, threshold)
    else:
        pts = samples[0] if object_points is None or len(object_points) < 10 else np.asarray(object_points, np.float64)
        if up_conf.evidence == ["convention_prior"]:
            hint = prior.up  # the tilt reported is then how far the object's axis moved the prior
            up, c, detail = orientation.object_up(pts, prior)
            up_conf = orientation.Confidence(c, ["convention_prior"], detail)
        else:
            up = hint / np.linalg.norm(hint)
        band = samples[2]
        offset = orientation.lowest_points_height(pts, up)
        on = float((np.abs(samples[0] @ up - offset) < band).mean())
        fitted = floor
        floor = FloorPlane(up, offset, on, float(proxy.area * on))
        method, capture_kind = "object", "object"
        floor_conf = orientation.Confidence(
            0.3, ["lowest_points"],
            (f"no plane holds {100 * cfg.object_floor_fraction:g} % of the surface (the best fit: "
             f"{100 * (fitted.inlier_fraction if fitted is not None else 0.0):.2g} %), so this is taken for an object "
             "standing on the ground under its lowest points"))
        tilt = angle_degrees(floor.normal, hint)
        cam_h = float(floor.height(cam[:3, 3])) if cam is not None else None
    if capture:
        heights = floor.height(source.cameras.c2w.double().numpy()[:, :3, 3])
        cam_h = float(np.median(heights))

    # ---------------------------------------------------------------- scale
    root = math.sqrt(max(floor_conf.value, 0.0))
    if source is not None and source.depth_is_metric:
        scale, scale_source = 1.0, "teacher"
        scale_conf = orientation.Confidence(0.95, ["teacher"], "metric depth")
    elif cfg.camera_height is not None and cam_h is not None:
        scale, scale_source = cfg.camera_height / cam_h, "camera_height"
        what = "the median camera" if capture else "the input camera"
        scale_conf = orientation.Confidence((0.95 if capture else 0.8) * root, ["user", "cameras" if capture else "convention_prior"],
                                            f"--camera-height {cfg.camera_height:g} m for {what}, above the floor")
    elif cfg.scale is not None:
        scale, scale_source = float(cfg.scale), "scale"
        scale_conf = orientation.Confidence(1.0, ["user"], f"--scale {cfg.scale:g}")
    elif cam_h is not None:
        scale, scale_source = cfg.default_camera_height / cam_h, "camera_height"
        scale_conf = orientation.Confidence(0.35 if capture else 0.25, ["cameras" if capture else "convention_prior"],
                                            f"a camera height of {cfg.default_camera_height:g} m is assumed, not known")
    else:
        scale, scale_source = 1.0, "assumed"
        scale_conf = orientation.Confidence(0.1, [], "nothing tells the size: 1 metre per unit is assumed")
    if scale_source == "camera_height" and not cam_h > 1e-9:
        raise ExportError(
            f"the {'cameras are' if capture else 'input camera is'} {cam_h:.3g} units from the fitted floor (below or on it), "
            "so the camera height cannot give the scale; pass --scale, or check the up direction (--up)"
        )
    if not (np.isfinite(scale) and scale > 0):
        raise ExportError(f"metric scale must be a positive number, got {scale}")

    forward = cam[:3, 2] if cam is not None else None
    rot = rotation_to_z(floor.normal, forward)
    if cam is not None:
        foot = cam[:3, 3] - float(floor.height(cam[:3, 3])) * floor.normal
    elif method == "object":
        centre = pts.mean(0)
        foot = centre - float(floor.height(centre)) * floor.normal
    else:
        foot = floor.offset * floor.normal
    m = np.eye(4)
    m[:3, :3] = scale * rot
    m[:3, 3] = -scale * rot @ foot
    conf = {"up": up_conf, "floor": floor_conf, "scale": scale_conf}
    uncertain = _doubts(conf, cfg, floor, threshold, method, capture)
    return Alignment(torch.from_numpy(m), float(scale), scale_source, floor, hint, tilt, cam_h, method,
                     "uncertain" if uncertain else "ok", uncertain, record_info, _dicts(conf), cfg.min_confidence,
                     capture_kind, prior.to_dict())


_WHAT = ("up", "floor", "scale")


def _height_in(m: torch.Tensor, cam, scale: float, fallback: float | None) -> float | None:
    """The input camera's height above the floor (z = 0) of a known sim frame ``m``, in scene
    units: the frame's own floor, not the report-only floor fit beside it."""
    if cam is None:
        return fallback
    return float((m[2, :3].numpy() @ cam[:3, 3] + float(m[2, 3])) / scale)


def _dicts(conf: dict) -> dict:
    return {k: v.to_dict() for k, v in conf.items()}


def _up_confidence(up_conf, floor: FloorPlane, hint, cands, prior, threshold: float):
    """The up confidence once a support plane is found: the plane's strength and how clearly it
    beats a rival plane in another direction, combined with the evidence that chose the hint."""
    rival = orientation.runner_up(cands, floor.normal) if cands else 0.0
    # The floor's own support measured as the rival's was (the search's band, not the refit's).
    own = max([c.support for c in cands if angle_degrees(c.up, floor.normal) < 30.0] + [floor.inlier_fraction])
    # A room's largest wall often holds half the floor's surface: that is a clear enough win;
    # a floor and a ceiling of the same size are a tie (0).
    distinct = 1.0 - min(1.0, rival / max(own, 1e-12)) ** 2
    fit = orientation.strength(floor.inlier_fraction, threshold) * (0.5 + 0.5 * distinct)
    detail = (f"floor normal {angle_degrees(floor.normal, hint):.1f} deg from the hint; rival plane support "
              f"{100 * rival:.2g} % against {100 * own:.2g} %")
    if up_conf.evidence == ["convention_prior"]:
        if angle_degrees(floor.normal, prior.up) < 30.0:
            value = orientation.noisy_or(fit, prior.confidence)
            if distinct < 0.25:  # floor or ceiling, floor or wall: the geometry cannot tell, the convention decided
                value = min(value, 0.45)
                detail += "; a plane as large faces another way, so the convention alone chose"
            return orientation.Confidence(value, ["floor_fit", "convention_prior"], f"{detail}; agrees with the prior ({prior.reason})")
        return orientation.Confidence(fit * (1 - 0.3 * prior.confidence), ["floor_fit"],
                                      f"{detail}; {angle_degrees(floor.normal, prior.up):.0f} deg from the prior ({prior.reason})")
    if angle_degrees(floor.normal, hint) < 10.0:
        return orientation.Confidence(orientation.noisy_or(up_conf.value, fit), [*up_conf.evidence, "floor_fit"],
                                      f"{up_conf.detail}; {detail}")
    return orientation.Confidence(0.8 * up_conf.value, up_conf.evidence, f"{up_conf.detail}; {detail}")


def _doubts(conf: dict, cfg: AlignmentCfg, floor: FloorPlane, threshold: float, method: str, capture: bool) -> list[dict]:
    """One entry per confidence below ``cfg.min_confidence``, naming the flags that fix it."""
    cams = [] if capture else ["--cameras"]
    out = []
    for what in _WHAT:
        c = conf[what]
        if c.value >= cfg.min_confidence:
            continue
        if what == "up":
            flags = ["--up", *cams]
        elif what == "floor":
            flags = ["--up", *cams] + ([] if cfg.scale is not None else ["--camera-height", "--scale"])
        else:
            flags = ["--camera-height", "--scale", *cams]
        entry = {"what": what, "confidence": round(c.value, 4), "threshold": cfg.min_confidence,
                 "evidence": c.evidence, "reason": f"{what}: {c.detail}", "flags": flags}
        if what == "floor":
            entry["inlier_fraction"] = floor.inlier_fraction if method == "floor_fit" else None
            entry["capture"] = "object" if method == "object" else "scene"
        out.append(entry)
    return out


def _record_overridden(cfg: AlignmentCfg) -> str | None:
    """Why the file's frame record must give way to the user's settings (None: it need not)."""
    given = [flag for flag, on in (("--up", cfg.up_hint != "auto"), ("--camera-height", cfg.camera_height is not None),
                                   ("--scale", cfg.scale is not None), ("--cameras", cfg.cameras is not None)) if on]
    if given:
        return f"{', '.join(given)} given (alignment.{'/'.join(_FIELD[f] for f in given)})"
    if not cfg.use_recorded_frame:
        return "alignment.use_recorded_frame is false"
    return None


_FIELD = {"--up": "up_hint", "--camera-height": "camera_height", "--scale": "scale", "--cameras": "cameras"}


def ground_quad(proxy: CollisionProxy | None, margin: float = 3.0) -> CollisionProxy:
    """A flat square of ground at z = 0 (sim frame) under an object capture: the object's
    footprint (its collider's xy bounds, else the origin) plus ``margin`` metres on every side,
    two triangles facing +Z, merged with ``proxy``, so a robot has somewhere to stand beside a
    statue, and spawn points are found there."""
    if proxy is not None and proxy.num_triangles:
        lo, hi = proxy.vertices[:, :2].min(0) - margin, proxy.vertices[:, :2].max(0) + margin
    else:
        lo, hi = np.full(2, -margin), np.full(2, margin)
    quad = np.array([[lo[0], lo[1], 0.0], [hi[0], lo[1], 0.0], [hi[0], hi[1], 0.0], [lo[0], hi[1], 0.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]], np.int64)
    if proxy is None or not proxy.num_triangles:
        return CollisionProxy(quad, faces)
    return CollisionProxy(np.concatenate([proxy.vertices, quad]), np.concatenate([proxy.faces, faces + len(proxy.vertices)]))


def splat_up(scene, prior: orientation.UpPrior | None, cfg: AlignmentCfg):
    """[3] the up the Gaussians suggest before any collider exists (scene frame): the direction
    search (:func:`orientation.search_up`) on :func:`splat_surfaces`, or an object's axis; the
    user's ``--up`` when given; None when there is nothing opaque to judge by."""
    if cfg.up_hint != "auto":
        return np.asarray(_AXES[cfg.up_hint], float)
    surfaces = splat_surfaces(scene, max_splats=50_000)
    if not surfaces.num_triangles or surfaces.area <= 0:
        return None
    pts, nrm, band = _samples_and_band(surfaces, None, 20_000, 1)
    if prior is None:
        size = np.percentile(pts, 98, axis=0) - np.percentile(pts, 2, axis=0)
        thin = int(np.argmin(size))
        up = np.zeros(3)
        up[thin] = -1.0 if thin == 1 else 1.0
        prior = orientation.UpPrior(up, orientation.GEOMETRY_PRIOR_CONFIDENCE, "the geometry's thinnest axis")
    cands = orientation.search_up(pts, nrm, band, prior)
    if cands and cands[0].score > 0 and cands[0].support >= cfg.object_floor_fraction:
        return cands[0].up
    return orientation.object_up(pts, prior)[0]
