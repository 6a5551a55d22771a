"""The frame record: a PLY that carries the sim frame it was exported in, so a re-export matches.

``generate`` knows its world's frame (a metric teacher's ``world_from_scene``, or the floor fit
it made with the teacher's input camera), but a bare ``scene.ply`` does not: re-exporting it
used to re-fit the floor from the Gaussians alone and could land on another up axis and scale.
So the PLY ``generate`` writes carries the transform in its header, as ``comment`` lines that
every other PLY reader skips::

    comment lyra_sim frame_record 1
    comment lyra_sim sim_from_scene <16 numbers, row-major, float64 repr>
    comment lyra_sim metres_per_unit <s>
    comment lyra_sim scale_source <teacher|camera_height|scale|assumed>
    comment lyra_sim sim_frame z_up metres floor_at_z0
    comment lyra_sim input_camera <16 numbers>   (optional: the input camera's c2w, scene frame)
    comment lyra_sim collider voxel_size <v> render_width <w> render_height <h> max_triangles <n> max_depth_ratio <r> depth <source>
                                                 (optional: how generate fused its collider)

``sim_from_scene`` is the similarity ``x_sim = s R x_scene + t`` into the sim frame (Z up,
metres, floor at z = 0); ``metres_per_unit`` is ``s``. :func:`read_frame_record` reads it back
(None for a file without one; a damaged record is a warning and is not used), and
:meth:`SourceFrame.from_file <lyra_sim.export.depth.SourceFrame.from_file>` gives ``export`` a
source frame that holds it, with the cameras of ``camera_paths.json`` when that file lies beside the PLY (what
``generate`` writes: the teacher's camera paths in the sim frame), so the collider is fused from
the same views as ``generate``'s. :func:`lyra_sim.export.alignment.estimate_alignment` uses it
unless the user asked for another frame (``--up``, ``--scale``, ``--camera-height``,
``--cameras`` or their ``alignment.*`` config fields, or ``alignment.use_recorded_frame=false``).

The ``collider`` line carries what else decides that collider (and so the spawn points found on
it): the TSDF voxel in scene units and the depth render size, which ``generate`` sets apart from
``export``'s defaults; ``lyra-sim export`` applies them when the user sets no collider field
(:func:`recorded_collider_settings`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PREFIX = "lyra_sim"
VERSION = 1
ORIGIN = "ply comments"
"""How ``report.json`` names a frame that came from the file (``frame.source``)."""


@dataclass(frozen=True)
class FrameRecord:
    """The sim frame a scene file was written with.

    Attributes:
        sim_from_scene: [4, 4] float64 similarity from the file's frame to the sim frame.
        metres_per_unit: its scale ``s``.
        scale_source: how the writer found the scale ("teacher", "camera_height", ...).
        input_camera: [4, 4] the input camera's c2w in the file's frame, when recorded.
        origin: where it was read from (:data:`ORIGIN`).
        cameras: where the views came from (a sidecar's name and count), when found.
        collider: how the writer fused its collider (``voxel_size`` in scene units,
            ``render_width``, ``render_height``, ``max_triangles``, ``depth`` source), when recorded.
    """

    sim_from_scene: np.ndarray
    metres_per_unit: float
    scale_source: str
    input_camera: np.ndarray | None = None
    origin: str = ORIGIN
    cameras: str | None = None
    collider: dict | None = None

    def to_dict(self) -> dict:
        return {"origin": self.origin, "metres_per_unit": self.metres_per_unit, "scale_source": self.scale_source,
                "cameras": self.cameras, "collider": self.collider}


COLLIDER_KEYS = {"voxel_size": float, "render_width": int, "render_height": int, "max_triangles": int,
                 "max_depth_ratio": float, "depth": str}


def frame_comments(sim_from_scene, scale_source: str, input_camera=None, collider: dict | None = None) -> list[str]:
    """The header comment lines (without ``comment ``) that record ``sim_from_scene`` (and the
    input camera's c2w, and the collider settings of :data:`COLLIDER_KEYS`, when given)."""
    m = np.asarray(sim_from_scene, dtype=np.float64).reshape(4, 4)
    s = _similarity_scale(m)
    if s is None:
        raise ValueError(f"sim_from_scene is not a similarity with positive scale: {m.tolist()}")
    source = str(scale_source).split()[0] if str(scale_source).strip() else "unknown"
    lines = [
        f"{PREFIX} frame_record {VERSION}",
        f"{PREFIX} sim_from_scene " + " ".join(repr(float(v)) for v in m.ravel()),
        f"{PREFIX} metres_per_unit {float(s)!r}",
        f"{PREFIX} scale_source {source}",
        f"{PREFIX} sim_frame z_up metres floor_at_z0",
    ]
    if input_camera is not None:
        c = np.asarray(input_camera, dtype=np.float64).reshape(16)
        lines.append(f"{PREFIX} input_camera " + " ".join(repr(float(v)) for v in c))
    if collider:
        words = [f"{k} {collider[k]!r}" if COLLIDER_KEYS[k] is not str else f"{k} {str(collider[k]).split()[0]}"
                 for k in COLLIDER_KEYS if collider.get(k) is not None]
        lines.append(f"{PREFIX} collider " + " ".join(words))
    return lines


def parse_frame_record(comments, where: str = "the file") -> FrameRecord | None:
    """The record in ``comments`` (header comment texts); None when there is none. A record that
    is there but damaged (wrong count, not numbers, not a similarity) is a warning and None."""
    fields: dict[str, str] = {}
    for text in comments:
        words = text.split(None, 2)
        if len(words) >= 2 and words[0] == PREFIX:
            fields[words[1]] = words[2] if len(words) > 2 else ""
    if "sim_from_scene" not in fields:
        return None

    def damaged(problem: str) -> None:
        warnings.warn(f"{where}: its lyra_sim frame record is damaged ({problem}); it is not used, the frame is found "
                      "from the Gaussians", stacklevel=3)

    try:
        values = [float(v) for v in fields["sim_from_scene"].split()]
    except ValueError:
        return damaged("sim_from_scene holds something that is not a number")
    if len(values) != 16:
        return damaged(f"sim_from_scene has {len(values)} numbers, not 16")
    m = np.array(values, dtype=np.float64).reshape(4, 4)
    s = _similarity_scale(m)
    if s is None:
        return damaged("sim_from_scene is not a similarity (rotation x positive scale + translation)")
    cam = None
    try:
        values = [float(v) for v in fields.get("input_camera", "").split()]
        if len(values) == 16 and np.isfinite(values).all():
            cam = np.array(values, dtype=np.float64).reshape(4, 4)
    except ValueError:
        pass
    return FrameRecord(m, float(s), fields.get("scale_source", "unknown").strip() or "unknown", cam,
                       collider=_parse_collider(fields.get("collider", "")))


def _parse_collider(text: str) -> dict | None:
    """The ``collider`` line's settings; None when absent. A damaged setting is left out (the
    export's own default is used for it)."""
    words = text.split()
    out = {}
    for key, value in zip(words[::2], words[1::2]):
        kind = COLLIDER_KEYS.get(key)
        try:
            v = kind(value) if kind is not None else None
        except ValueError:
            continue
        if v is None or (kind is not str and not (math.isfinite(v) and v > 0)):
            continue
        out[key] = v
    return out or None


def recorded_collider_settings(cfg, record: FrameRecord | None) -> dict | None:
    """Put the collider settings ``record`` carries into the export config ``cfg`` (in place),
    so the collider, and the spawn points found on it, are the ones ``generate`` made. The
    caller applies this only when the user set no collider field. Returns what was applied
    (None: nothing recorded, or ``cfg.alignment.use_recorded_frame`` is off)."""
    if record is None or record.collider is None or not cfg.alignment.use_recorded_frame:
        return None
    applied = {}
    for key in ("voxel_size", "render_width", "render_height", "max_triangles", "max_depth_ratio"):
        if key in record.collider:
            setattr(cfg.collider, key, record.collider[key])
            applied[key] = record.collider[key]
    return applied or None


def read_frame_record(path: str | Path) -> FrameRecord | None:
    """The frame record in the header of the PLY ``path``; None for other formats, or a PLY
    without one."""
    from lyra_sim.gaussians.formats import detect_format
    from lyra_sim.gaussians.ply_header import read_ply_header

    if detect_format(path).name not in ("ply", "compressed-ply"):
        return None
    return parse_frame_record(read_ply_header(path).comments, str(path))


CAMERA_PATHS = "camera_paths.json"
"""The sidecar ``generate`` writes beside ``scene.ply``: the teacher's camera paths, sim frame."""


def read_source_record(path: str | Path):
    """(record, cameras, input camera) for the scene file ``path``: its frame record (None
    without one), the cameras of a ``camera_paths.json`` beside it (None: absent or unreadable)
    and the recorded input camera's c2w (None: not recorded), the last two as tensors. See
    :meth:`lyra_sim.export.depth.SourceFrame.from_file`."""
    from dataclasses import replace

    import torch

    record = read_frame_record(path)
    if record is None:
        return None, None, None
    cams = _sidecar_cameras(Path(path).parent / CAMERA_PATHS, record)
    if cams is not None:
        record = replace(record, cameras=f"{CAMERA_PATHS} ({len(cams)} views)")
    return record, cams, None if record.input_camera is None else torch.from_numpy(record.input_camera)


def _sidecar_cameras(path: Path, record: FrameRecord):
    """The cameras of ``camera_paths.json`` (sim frame) in the file's frame; None when the file
    is absent or unreadable (the views are then placed as for any file)."""
    import json

    import torch

    from lyra_sim.cameras import Cameras, intrinsics_matrix
    from lyra_sim.errors import LyraSimError

    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("frame") != "sim" or data.get("convention") != "opencv_c2w":
            return None
        scene_from_sim = np.linalg.inv(record.sim_from_scene)
        groups = []
        for p in data["paths"]:
            c2w = scene_from_sim @ np.asarray(p["c2w"], np.float64).reshape(-1, 4, 4)
            c2w[:, :3, :3] *= record.metres_per_unit  # back to a rotation
            aspect, fov = float(p["aspect"]), math.radians(float(p["fov_y_degrees"]))
            if not (np.isfinite(c2w).all() and 0.05 < aspect < 20 and 0 < fov < math.pi and len(c2w)):
                return None
            h = 240
            w = max(1, round(h * aspect))
            f = 0.5 * h / math.tan(fov / 2)
            K = intrinsics_matrix(f, f, w / 2, h / 2)
            groups.append(Cameras(torch.from_numpy(c2w).float(), K.expand(len(c2w), 3, 3).clone().float(), w, h))
        return Cameras.cat(groups) if groups else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, LyraSimError):
        return None


def _similarity_scale(m: np.ndarray) -> float | None:
    """``s`` when ``m`` is a finite similarity ``[s R | t; 0 0 0 1]`` with s > 0, else None."""
    if m.shape != (4, 4) or not np.isfinite(m).all() or not np.allclose(m[3], [0, 0, 0, 1], atol=1e-9):
        return None
    a = m[:3, :3]
    det = float(np.linalg.det(a))
    if not det > 0:
        return None
    s = det ** (1 / 3)
    r = a / s
    if not np.allclose(r.T @ r, np.eye(3), atol=1e-4) or not (math.isfinite(s) and s > 0):
        return None
    return s
