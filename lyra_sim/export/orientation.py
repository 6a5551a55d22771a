"""Which way is up, from the evidence a splat file comes with, and how sure that is.

Evidence, strongest first (each named as in ``report.json``'s ``frame.confidence``):

- ``"cameras"``: capture poses (``--cameras``, or a teacher's trajectories). Up is the plane the
  camera centres lie in (handheld walks and orbits keep a height), its sign from the cameras'
  mean up vector (OpenCV: image up is -y); the mean up alone when the centres lie on a line.
- ``"floor_fit"``: the dominant support plane: the largest low, upward-facing plane
  (:func:`lyra_sim.export.alignment.fit_floor`), trusted by how much of the surface it holds.
- ``"convention_prior"``: the convention of the tool that wrote the file
  (:func:`convention_prior`). INRIA's trainer, gsplat and nerfstudio train in COLMAP's frame,
  OpenCV camera axes, where up is -Y for a camera held level, so every PLY of the INRIA layout,
  SuperSplat compressed PLY and antimatter15 ``.splat`` (converted from those) gets a -Y prior;
  ``.spz`` is stored right-up-back and read into the same right-down-front frame, so -Y too.
- ``"record"`` (the PLY ``generate`` wrote records its frame), ``"teacher"`` (a metric
  teacher's frame) and ``"user"`` (``--up``, ``--camera-height``, ``--scale``).

Without cameras, :func:`search_up` scores every dominant surface orientation, coordinate axis
and principal axis of the surface as a floor normal (support within a thin band minus what lies
below it), the prior breaking near-ties. A capture with no plane holding ``object_floor_fraction`` (1 %) of the
surface is an object (a person, a car, a statue): it stands on a ground plane under its
lowest points, its up the principal axis nearest the prior (:func:`object_up`), so a standing
person stays standing whatever her thinnest axis is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

COS_AGREE = math.cos(math.radians(20.0))
"""A surface sample supports a plane when its normal is within 20 degrees of the plane's."""


@dataclass(frozen=True)
class UpPrior:
    """What the file's format or writer says about up, before looking at the data.

    Attributes:
        up: [3] unit up direction in the file's frame.
        confidence: 0..1 how much the convention alone is worth.
        reason: one sentence naming the convention.
    """

    up: np.ndarray
    confidence: float
    reason: str

    def to_dict(self) -> dict:
        return {"up": self.up.tolist(), "confidence": self.confidence, "reason": self.reason}


@dataclass
class Confidence:
    """One confidence of ``report.json``'s ``frame.confidence``: ``value`` in 0..1 and the
    evidence it rests on (names from the module docstring), with a short ``detail``."""

    value: float
    evidence: list[str] = field(default_factory=list)
    detail: str = ""

    def to_dict(self) -> dict:
        return {"value": round(float(min(1.0, max(0.0, self.value))), 4), "evidence": list(self.evidence),
                "detail": self.detail}


GEOMETRY_PRIOR_CONFIDENCE = 0.3
"""The prior's confidence when no convention is known and the geometry's thinnest axis stands in
(scenes are wider than tall; an object's thinnest axis is not its up: see :func:`object_up`)."""
_AXIS_WORD = re.compile(r"\bup[_ -]?axis\s*[:=]?\s*([+-]?)([xyz])\b", re.IGNORECASE)
_COLMAP_WRITERS = ("gsplat", "nerfstudio", "splatfacto", "inria", "3dgs", "gaussian-splatting", "colmap", "postshot",
                   "lyra_sim", "3dgrut")


def convention_prior(path: str | Path) -> UpPrior | None:
    """The up prior of the splat file ``path`` (see the module docstring); None when nothing can
    be told (the alignment then takes the geometry's thinnest axis as its prior, with
    :data:`GEOMETRY_PRIOR_CONFIDENCE`; an unreadable header is not an error here: the reader
    reports it)."""
    from lyra_sim.errors import LyraSimError
    from lyra_sim.gaussians.formats import detect_format

    try:
        fmt = detect_format(path).name
    except (LyraSimError, OSError):
        return None
    if fmt == "spz":
        return UpPrior(np.array([0.0, -1.0, 0.0]), 0.5, "SPZ is stored right-up-back and read right-down-front: -Y up")
    if fmt == "splat":
        return UpPrior(np.array([0.0, -1.0, 0.0]), 0.45, "antimatter15 .splat keeps the INRIA PLY's COLMAP frame: -Y up")
    if fmt not in ("ply", "compressed-ply"):
        return None
    from lyra_sim.gaussians.ply_header import read_ply_header

    try:
        header = read_ply_header(path)
    except (LyraSimError, OSError):
        return None
    for text in header.comments:
        m = _AXIS_WORD.search(text)
        if m:
            up = np.zeros(3)
            up["xyz".index(m.group(2).lower())] = -1.0 if m.group(1) == "-" else 1.0
            return UpPrior(up, 0.8, f"the header says so (comment {text[:60]!r})")
    writer = next((w for t in header.comments for w in _COLMAP_WRITERS if w in t.lower()), None)
    if writer is not None:
        return UpPrior(np.array([0.0, -1.0, 0.0]), 0.6, f"written by {writer} (comment): COLMAP frame, -Y up")
    if fmt == "compressed-ply":
        return UpPrior(np.array([0.0, -1.0, 0.0]), 0.45, "SuperSplat compressed PLY keeps its source's COLMAP frame: -Y up")
    names = set(header.element("vertex").property_names) if header.element("vertex") is not None else set()
    if {"f_dc_0", "opacity", "scale_0", "rot_0"} <= names:
        return UpPrior(np.array([0.0, -1.0, 0.0]), 0.5, "INRIA-layout PLY (INRIA/gsplat/nerfstudio train in COLMAP's frame): -Y up")
    return None


def capture_up(c2w: np.ndarray) -> tuple[np.ndarray, float, str]:
    """Up from camera poses: (unit up [3], confidence, detail).

    Args:
        c2w: [N, 4, 4] OpenCV camera-to-world poses (scene frame).
    """
    ups = -np.asarray(c2w, np.float64)[:, :3, 1]
    ups /= np.maximum(np.linalg.norm(ups, axis=1, keepdims=True), 1e-30)
    mean = ups.mean(0)
    agree = float(np.linalg.norm(mean))  # 1 when every camera is held the same way up
    mean = mean / max(agree, 1e-30)
    centres = np.asarray(c2w, np.float64)[:, :3, 3]
    if len(centres) >= 4:
        _, sv, vt = np.linalg.svd(centres - centres.mean(0), full_matrices=False)
        normal = vt[2] * (1.0 if vt[2] @ mean >= 0 else -1.0)
        # Spread in two directions and flat in the third (centres on a line fix no plane).
        planar = sv[1] > max(1e-9, 0.2 * sv[0]) and sv[2] < 0.25 * sv[1]
        angle = math.degrees(math.acos(min(1.0, float(normal @ mean))))
        if planar and angle < 30.0:
            return normal, min(0.95, 0.7 + 0.25 * agree), (f"{len(c2w)} camera centres lie in a plane {angle:.0f} deg from "
                                                          "their mean up vector")
    return mean, 0.75 * agree, f"mean up vector of {len(c2w)} cameras (agreement {agree:.2f})"


@dataclass
class UpCandidate:
    """One direction scored as a floor normal by :func:`search_up`."""

    up: np.ndarray
    support: float
    below: float
    score: float


def normal_modes(normals: np.ndarray, picks: int = 256, keep: int = 12, seed: int = 0) -> list[np.ndarray]:
    """The dominant surface orientations of unit ``normals`` [N, 3]: the normals of ``picks``
    random samples, each replaced by the mean of the normals within 15 degrees of it; the
    ``keep`` most common that are 10 degrees apart, most common first (a tilted floor is found
    whatever the frame's axes)."""
    if len(normals) == 0:
        return []
    rng = np.random.default_rng(seed)
    seeds = normals[rng.choice(len(normals), size=min(picks, len(normals)), replace=False)]
    near = (seeds @ normals.T) > math.cos(math.radians(15.0))  # [P, N]
    counts = near.sum(1)
    modes = near.astype(np.float64) @ normals  # sum of the agreeing normals
    modes /= np.maximum(np.linalg.norm(modes, axis=1, keepdims=True), 1e-30)
    out: list[np.ndarray] = []
    for i in np.argsort(-counts):
        if len(out) == keep:
            break
        if all(modes[i] @ o < math.cos(math.radians(10.0)) for o in out):
            out.append(modes[i])
    return out


def axis_candidates(points: np.ndarray, normals: np.ndarray | None = None) -> list[np.ndarray]:
    """Floor-normal candidates: the dominant surface orientations (:func:`normal_modes`), the 6
    signed coordinate axes and the 6 signed principal axes of ``points`` [N, 3], without
    near-duplicates (within 10 degrees)."""
    dirs = [] if normals is None else normal_modes(normals)
    dirs += [np.eye(3)[i] * s for i in range(3) for s in (1.0, -1.0)]
    if len(points) >= 3:
        _, _, vt = np.linalg.svd(points - points.mean(0), full_matrices=False)
        dirs += [v * s for v in vt for s in (1.0, -1.0)]
    out: list[np.ndarray] = []
    for d in dirs:
        if all(d @ o < math.cos(math.radians(10.0)) for o in out):
            out.append(d / np.linalg.norm(d))
    return out


def plane_support(points: np.ndarray, normals: np.ndarray, up: np.ndarray, band: float) -> tuple[float, float, float]:
    """(support, below, height) of the best floor plane with normal ``up``: over every height
    (bins of ``band``), the fraction of samples within ``band`` whose normals agree minus twice
    the fraction more than 2 bands below it (not facing down), the best such plane's support,
    below and height."""
    agree = normals @ up > COS_AGREE
    if agree.sum() < 10:
        return 0.0, 0.0, 0.0
    h = points[agree] @ up
    lo, hi = float(h.min()), float(h.max())
    bins = int(min(4096, max(2, math.ceil((hi - lo) / band))))
    counts, edges = np.histogram(h, bins=bins, range=(lo, hi + 1e-12))
    window = np.convolve(counts, np.ones(2, int), mode="valid")  # support of the plane at edges[1:-1]
    heights = edges[1:-1]
    # What lies below counts unless it faces away (down): the underside of a fused floor slab
    # is no content under the floor, the floor under a table top is.
    content = np.sort(points[normals @ up > -0.5] @ up)
    below = np.searchsorted(content, heights - 2 * band) / len(points)
    support = window / len(points)
    k = int(np.argmax(support - 2 * below))
    return float(support[k]), float(below[k]), float(heights[k])


def search_up(points: np.ndarray, normals: np.ndarray, band: float, prior: UpPrior) -> list[UpCandidate]:
    """Every candidate direction scored as a floor normal, best first.

    Score: the best plane's support minus twice what lies below it (a table top has the floor
    under it), times ``largest extent / extent`` along the direction, at most 4 (scenes are wider
    than tall: a room's largest wall can hold more surface than its cluttered floor; a Z-up room
    whose wall held 16 % of the surface against its floor's 9 % came out lying on its side with
    the milder ``2 - extent / largest``), times
    ``1 + prior.confidence`` within 30 degrees of the prior, so the prior breaks near-ties and
    never outweighs a plane that holds clearly more of the surface.
    """
    cands = []
    cos30 = math.cos(math.radians(30.0))
    dirs = axis_candidates(points, normals)
    extents = [float(np.subtract(*np.percentile(points @ d, [98, 2]))) for d in dirs]
    widest = max(max(extents), 1e-30)
    for d, extent in zip(dirs, extents):
        support, below, _ = plane_support(points, normals, d, band)
        base = max(0.0, support - 2 * below) * min(4.0, widest / max(extent, 1e-30))
        bonus = 1.0 + prior.confidence if d @ prior.up > cos30 else 1.0
        cands.append(UpCandidate(d, support, below, base * bonus))
    return sorted(cands, key=lambda c: -c.score)


def runner_up(cands: list[UpCandidate], up: np.ndarray) -> float:
    """Support of the best candidate more than 30 degrees from ``up`` (a rival floor)."""
    cos30 = math.cos(math.radians(30.0))
    return max((c.support for c in cands if c.up @ up < cos30 and c.support > 2 * c.below), default=0.0)


def object_up(points: np.ndarray, prior: UpPrior) -> tuple[np.ndarray, float, str]:
    """Up of an object capture: the principal axis of ``points`` [N, 3] nearest the prior
    (signed like it) when within 30 degrees, else the prior itself; (up, confidence, detail).
    A long axis that is also the prior's is worth more than the prior alone."""
    centred = points - points.mean(0)
    evals, evecs = np.linalg.eigh(centred.T @ centred / max(len(points), 1))
    cosines = np.abs(evecs.T @ prior.up)
    k = int(np.argmax(cosines))
    angle = math.degrees(math.acos(min(1.0, float(cosines[k]))))
    if angle > 30.0:
        return prior.up, prior.confidence, f"no principal axis within 30 deg of the prior ({prior.reason})"
    axis = evecs[:, k] * (1.0 if evecs[:, k] @ prior.up >= 0 else -1.0)
    others = np.delete(evals, k)
    elongation = math.sqrt(max(evals[k], 0.0) / max(float(others.max()), 1e-30))
    conf = prior.confidence
    if elongation > 1.3:  # a standing person or statue: its long axis agrees with the convention
        conf = 1 - (1 - prior.confidence) * 0.6
    return axis, conf, (f"principal axis {angle:.0f} deg from the prior ({prior.reason}), "
                        f"{elongation:.2f}x the next longest")


def lowest_points_height(points: np.ndarray, up: np.ndarray, quantile: float = 0.002) -> float:
    """Height along ``up`` of the ground under an object: the ``quantile`` of its points (a few
    stray splats below it do not lower the ground)."""
    return float(np.quantile(points @ up, quantile))


def strength(fraction: float, threshold: float) -> float:
    """0..1 trust in a plane holding ``fraction`` of the surface: 0.5 at ``threshold``, 0.8 at
    twice it, 0.04 at a fifth of it (a fraction of a percent of the surface is no floor)."""
    return fraction**2 / (fraction**2 + threshold**2) if fraction > 0 else 0.0


def noisy_or(*values: float) -> float:
    """Combined confidence of independent agreeing evidence."""
    p = 1.0
    for v in values:
        p *= 1.0 - min(1.0, max(0.0, v))
    return 1.0 - p
