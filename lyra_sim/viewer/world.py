"""What ``lyra-sim view`` shows, read from disk into plain numpy arrays (no viser here).

Inputs (:func:`load_world` tells them apart by what they hold, never by a name the user typed):

- a **generated world** (``lyra-sim generate``): ``scene.ply`` or ``scene_t*.ply`` (4D) in the
  *scene frame*, ``report.json`` whose ``frame.sim_from_scene`` maps them into the sim frame,
  ``collider.obj`` and ``report.json["spawn_points"]`` in the sim frame, and
  ``camera_paths.json`` (the teacher's cameras, sim frame) when the run wrote it;
- an **exported scene** (``lyra-sim export``): ``scene.usda|usdc|usdz`` whose Gaussians sit
  under an Xform carrying ``sim_from_scene`` (read with their local-to-world transform, so they
  land in the sim frame), ``collider.obj`` / the USD collider, spawn points;
- a **composed world** (``lyra-sim world``): a world ``.usda``/``.usdc`` (or a folder holding
  exactly one) with its draws record; each environment shows its scene turned and shifted as
  the stage places it, and :attr:`ViewWorld.redraw` re-composes it with another seed through
  :func:`lyra_sim.sim.compose_world` (the code ``lyra-sim world`` runs);
- a **splat file** in any format :func:`lyra_sim.gaussians.read_gaussians` detects by content
  (PLY, compressed PLY, .splat, .spz): its own frame, nothing else.

Frames: everything in a :class:`ViewWorld` is in one viewer frame: the sim frame (Z up,
metres, floor at z = 0) for worlds; the file's own frame for a bare splat file
(:attr:`ViewWorld.up` says which way is up). Splats are subsampled to ``max_splats`` per scene
and time so a browser tab stays within memory; :attr:`ViewWorld.notes` says when that happened.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lyra_sim.errors import InvalidInputError, LyraSimError

DEFAULT_MAX_SPLATS = 1_000_000
"""Largest number of Gaussians sent to the browser per scene and time (a random subsample above)."""

MAX_ENVS = 16
"""Environments of a composed world shown at once (the first ones; the rest are listed in a note)."""

CAMERA_PATHS_FILE = "camera_paths.json"
SH_C0 = 0.28209479177387814
_TIME_PLY = re.compile(r"^scene_t(\d+(?:\.\d+)?)\.ply$")
_USD_SUFFIXES = (".usd", ".usda", ".usdc", ".usdz")


@dataclass
class Splats:
    """Gaussians as the viewer draws them, float32 numpy, viewer frame.

    Attributes:
        centers: [N, 3] means, metres (sim frame) or file units.
        covariances: [N, 3, 3] covariance of each Gaussian (``R diag(s^2) R^T``), units squared.
        rgbs: [N, 3] base colour (SH degree 0) in [0, 1].
        opacities: [N, 1] peak opacity in [0, 1].
        total: Gaussians in the file before subsampling (``len(centers)`` when none was dropped).
    """

    centers: np.ndarray
    covariances: np.ndarray
    rgbs: np.ndarray
    opacities: np.ndarray
    total: int

    def __len__(self) -> int:
        return len(self.centers)

    def transformed(self, matrix: np.ndarray) -> Splats:
        """The splats moved by ``matrix`` [4, 4] (any affine map; a similarity for frames):
        centres ``A x + t``, covariances ``A C A^T``."""
        m = np.asarray(matrix, np.float64)
        a = m[:3, :3]
        centers = self.centers.astype(np.float64) @ a.T + m[:3, 3]
        cov = np.einsum("ij,njk,lk->nil", a, self.covariances.astype(np.float64), a)
        return Splats(centers.astype(np.float32), cov.astype(np.float32), self.rgbs, self.opacities, self.total)

    def with_gain(self, gain) -> Splats:
        """Colours multiplied per channel by ``gain`` [3] and clipped to [0, 1] (a composed
        world's drawn Gaussian colour jitter, as :func:`lyra_sim.sim.compose.jitter_gaussian_colors`
        applies it to the DC term)."""
        g = np.asarray(gain, np.float32)
        if np.allclose(g, 1.0):
            return self
        return Splats(self.centers, self.covariances, np.clip(self.rgbs * g, 0.0, 1.0), self.opacities, self.total)


def splats_from_scene(scene, max_splats: int = DEFAULT_MAX_SPLATS, seed: int = 0) -> Splats:
    """A :class:`~lyra_sim.gaussians.GaussianScene` as :class:`Splats` in the same frame,
    randomly subsampled (seeded, so reloads agree) to at most ``max_splats`` Gaussians."""
    total = len(scene)
    if max_splats > 0 and total > max_splats:
        idx = np.sort(np.random.default_rng(seed).choice(total, max_splats, replace=False))
        scene = scene[_as_index(idx)]
    q = scene.quats.detach().double().cpu().numpy()
    q = q / np.linalg.norm(q, axis=1, keepdims=True).clip(min=1e-12)
    w, x, y, z = q.T
    rot = np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], 1)
    s2 = scene.scales.detach().double().cpu().numpy() ** 2
    cov = np.einsum("nij,nj,nkj->nik", rot, s2, rot)
    rgb = np.clip(scene.sh[:, 0, :].detach().double().cpu().numpy() * SH_C0 + 0.5, 0.0, 1.0)
    return Splats(scene.means.detach().cpu().numpy().astype(np.float32), cov.astype(np.float32), rgb.astype(np.float32),
                  scene.opacities.detach().cpu().numpy().astype(np.float32).reshape(-1, 1).clip(0.0, 1.0), total)


def _as_index(idx: np.ndarray):
    import torch

    return torch.from_numpy(idx.astype(np.int64))


@dataclass
class CameraPath:
    """One teacher trajectory, viewer frame: ``c2w`` [T, 4, 4] rigid OpenCV camera-to-world
    (x right, y down, z forward), ``fov_y`` radians, ``aspect`` width / height."""

    name: str
    c2w: np.ndarray
    fov_y: float
    aspect: float


@dataclass
class SceneData:
    """One scene of the world, in its own sim frame (metres, Z up), or a splat file's frame.

    Attributes:
        name: a label (the folder or file name).
        load_splats: time index -> :class:`Splats` (index 0 for a static scene); called lazily
            by the viewer, which keeps only the shown time.
        collider: (vertices [V, 3], faces [F, 3]) or None.
        spawn_points: [K, 3] floor points where a robot may stand.
        camera_paths: the teacher's cameras, when the folder recorded them.
    """

    name: str
    load_splats: Callable[[int], Splats | None]
    collider: tuple[np.ndarray, np.ndarray] | None = None
    spawn_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    camera_paths: list[CameraPath] = field(default_factory=list)


@dataclass
class Placement:
    """Where one scene stands in the world (one environment of a composed world).

    Attributes:
        name: environment label (``env_0000``) or the scene's name.
        scene: index into :attr:`ViewWorld.scenes`.
        matrix: [4, 4] rigid world-from-scene-sim transform.
        gain: [3] colour gain of the Gaussians (a composed world's colour jitter).
        robots: [4, 4] world transforms of the robots' floor points (origin on the floor between
            the feet, +X forward), drawn as lyra-sim's humanoid proxy.
    """

    name: str
    scene: int
    matrix: np.ndarray
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    robots: list[np.ndarray] = field(default_factory=list)


@dataclass
class ViewWorld:
    """Everything :mod:`lyra_sim.viewer.server` draws.

    Attributes:
        source: the path given.
        kind: "generated", "exported", "composed" or "splat".
        scenes: the scenes (one, except for a composed world's pool).
        placements: where each scene is drawn.
        times: the instants of a 4D world (empty: static).
        up: "+z" for sim-frame worlds; "-y" for a bare splat file (3DGS captures are OpenCV:
            y down).
        seed: a composed world's randomization seed.
        redraw: seed -> new placements, for a composed world whose scene folders are reachable.
        notes: things the user should know (subsampling, what is missing).
    """

    source: Path
    kind: str
    scenes: list[SceneData]
    placements: list[Placement]
    times: list[float] = field(default_factory=list)
    up: str = "+z"
    seed: int | None = None
    redraw: Callable[[int], list[Placement]] | None = None
    notes: list[str] = field(default_factory=list)

    def bounds(self) -> np.ndarray:
        """[2, 3] min/max corner of what is drawn (colliders and spawn points; splats when there is
        no collider), viewer frame; a unit box when there is nothing."""
        pts = []
        for p in self.placements:
            scene = self.scenes[p.scene]
            local = [scene.spawn_points]
            if scene.collider is not None:
                local.append(scene.collider[0])
            else:
                s = scene.load_splats(0)
                if s is not None and len(s):
                    local.append(np.quantile(s.centers, [0.02, 0.98], axis=0))
            x = np.concatenate([np.asarray(v, np.float64).reshape(-1, 3) for v in local])
            if len(x):
                pts.append(x @ p.matrix[:3, :3].T + p.matrix[:3, 3])
        if not pts:
            return np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])
        x = np.concatenate(pts)
        return np.stack([x.min(0), x.max(0)])


# ------------------------------------------------------------------------------------- loading
def load_world(path: str | Path, max_splats: int = DEFAULT_MAX_SPLATS) -> ViewWorld:
    """Read what ``lyra-sim view PATH`` shows (see the module docstring for the inputs).

    Raises:
        InvalidInputError: the path does not exist or cannot be read, or is neither a world
            (generated, exported, composed) nor a splat file we read; one line that says which.
    """
    path = Path(path)
    try:
        exists = path.exists()
        if path.is_dir():
            entries = sorted(p.name for p in path.iterdir())
        elif exists:
            with open(path, "rb") as f:
                f.read(1)
    except OSError as err:
        raise InvalidInputError(f"{path}: cannot read it ({err.strerror or err})") from None
    if not exists:
        raise InvalidInputError(f"{path}: no such file or folder")
    if path.is_dir():
        return _load_folder(path, entries, max_splats)
    if path.suffix.lower() in _USD_SUFFIXES:
        if _world_record(path):
            return _load_composed(path, max_splats)
        return _load_exported(path.parent, path, max_splats)
    return _load_splat_file(path, max_splats)


def _not_a_world(path: Path) -> InvalidInputError:
    return InvalidInputError(
        f"{path}: not a lyra-sim world: no scene.ply, scene_t*.ply, scene.usda/usdc/usdz or world .usda in it; "
        "give a folder written by `lyra-sim generate` or `lyra-sim export`, a world written by `lyra-sim world`, "
        "or a splat file (.ply, .splat, .spz)")


def _load_folder(folder: Path, entries: list[str], max_splats: int) -> ViewWorld:
    timed = sorted((float(m.group(1)), folder / name) for name in entries if (m := _TIME_PLY.match(name)))
    if "scene.ply" in entries or timed:
        return _load_generated(folder, timed, max_splats)
    root = next((folder / n for n in ("scene.usda", "scene.usdc", "scene.usdz") if n in entries), None)
    if root is not None:
        return _load_exported(folder, root, max_splats)
    worlds = [folder / n for n in entries if n.lower().endswith(_USD_SUFFIXES) and _world_record(folder / n)]
    if len(worlds) == 1:
        return _load_composed(worlds[0], max_splats)
    if len(worlds) > 1:
        raise InvalidInputError(f"{folder}: holds {len(worlds)} composed worlds ({', '.join(w.name for w in worlds)}); "
                                "give the .usda to view")
    raise _not_a_world(folder)


def _read_report(folder: Path) -> dict:
    path = folder / "report.json"
    if not path.is_file():
        return {}
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InvalidInputError(f"{path}: not a readable report ({err}); re-run the export or remove it") from None
    return report if isinstance(report, dict) else {}


def _sim_from_scene(report: dict, folder: Path) -> np.ndarray | None:
    m = (report.get("frame") or {}).get("sim_from_scene")
    if m is None:
        return None
    m = np.asarray(m, np.float64)
    if m.shape != (4, 4) or not np.isfinite(m).all():
        raise InvalidInputError(f"{folder / 'report.json'}: frame.sim_from_scene is not a finite 4x4 matrix")
    return m


def _spawn_points(report: dict) -> np.ndarray:
    pts = [p.get("position") for p in report.get("spawn_points") or [] if isinstance(p, dict)]
    pts = [p for p in pts if isinstance(p, list) and len(p) == 3]
    return np.asarray(pts, np.float64).reshape(-1, 3)


def _collider_obj(folder: Path) -> tuple[np.ndarray, np.ndarray] | None:
    from lyra_sim.export.mesh_io import read_obj

    path = folder / "collider.obj"
    if not path.is_file():
        return None
    try:
        v, f = read_obj(path)
    except (OSError, ValueError, IndexError) as err:
        raise InvalidInputError(f"{path}: not a readable OBJ ({err})") from None
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise InvalidInputError(f"{path}: faces index vertices that do not exist")
    return (v, f) if len(f) else None


def _read_splat(path: Path, max_splats: int, matrix: np.ndarray | None = None) -> Splats:
    from lyra_sim.gaussians.formats import read_gaussians

    try:
        scene = read_gaussians(path)
    except OSError as err:
        raise InvalidInputError(f"{path}: cannot read it ({err.strerror or err})") from None
    splats = splats_from_scene(scene, max_splats)
    return splats.transformed(matrix) if matrix is not None else splats


def _load_generated(folder: Path, timed: list[tuple[float, Path]], max_splats: int) -> ViewWorld:
    report = _read_report(folder)
    notes = []
    matrix = _sim_from_scene(report, folder)
    if matrix is None:
        notes.append("no report.json with frame.sim_from_scene: splats are drawn in their own (scene) frame")
    files = [p for _, p in timed] if timed else [folder / "scene.ply"]
    cache: dict[int, Splats] = {}

    def load(i: int) -> Splats:
        if i not in cache:
            cache.clear()  # one time at a time in memory
            cache[i] = _read_splat(files[i], max_splats, matrix)
        return cache[i]

    first = load(0)
    if first.total > len(first):
        notes.append(f"showing {len(first):,} of {first.total:,} Gaussians (random subsample; --max-splats)")
    scene = SceneData(folder.name, load, _collider_obj(folder), _spawn_points(report), read_camera_paths(folder / CAMERA_PATHS_FILE))
    _note_missing(scene, notes)
    return ViewWorld(folder, "generated", [scene], [Placement(folder.name, 0, np.eye(4))], [t for t, _ in timed],
                     "+z" if matrix is not None else "-y", notes=notes)


def _note_missing(scene: SceneData, notes: list[str]) -> None:
    if scene.collider is None:
        notes.append("no collider in this world")
    if not len(scene.spawn_points):
        notes.append("no spawn points in this world")
    if not scene.camera_paths:
        notes.append(f"no teacher camera paths ({CAMERA_PATHS_FILE}) in this world")


def _open_stage(path: Path):
    from pxr import Tf, Usd

    try:
        stage = Usd.Stage.Open(str(path))
    except Tf.ErrorException as err:
        raise InvalidInputError(f"{path}: OpenUSD cannot open it ({str(err).strip().splitlines()[-1]})") from None
    if stage is None:
        raise InvalidInputError(f"{path}: OpenUSD cannot open it")
    return stage


def _world_record(path: Path) -> bool:
    """Whether the USD file at ``path`` is a world written by ``lyra-sim world`` (its root layer
    carries the draws record); reads only the root layer, not its payloads."""
    from pxr import Sdf, Tf

    from lyra_sim.sim.compose import WORLD_RECORD_KEY

    try:
        layer = Sdf.Layer.FindOrOpen(str(path))
    except Tf.ErrorException:
        return False
    return layer is not None and WORLD_RECORD_KEY in layer.customLayerData


def _usd_collider(stage) -> tuple[np.ndarray, np.ndarray] | None:
    from pxr import Usd, UsdGeom

    from lyra_sim.sim.scenes import static_colliders

    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    verts, faces, base = [], [], 0
    for prim in static_colliders(stage):
        mesh = UsdGeom.Mesh(prim)
        pts = np.asarray(mesh.GetPointsAttr().Get() or [], np.float64).reshape(-1, 3)
        counts = np.asarray(mesh.GetFaceVertexCountsAttr().Get() or [], np.int64)
        idx = np.asarray(mesh.GetFaceVertexIndicesAttr().Get() or [], np.int64)
        if not len(pts) or not len(counts) or (counts != 3).any():
            continue
        m = np.array(cache.GetLocalToWorldTransform(prim), np.float64).T
        verts.append(pts @ m[:3, :3].T + m[:3, 3])
        faces.append(idx.reshape(-1, 3) + base)
        base += len(pts)
    return (np.concatenate(verts), np.concatenate(faces)) if verts else None


def _load_exported(folder: Path, root: Path, max_splats: int) -> ViewWorld:
    """An exported scene: Gaussians from the USD in the sim frame (their Xform's transform applied)."""
    from lyra_sim.errors import ExportError
    from lyra_sim.export.usd_gaussians import read_usd_gaussians
    from lyra_sim.export.usd_physics import read_spawn_points

    stage = _open_stage(root)
    try:
        scene = read_usd_gaussians(stage, frame="world")
    except ExportError:
        raise InvalidInputError(f"{root}: holds no Gaussians (no ParticleField3DGaussianSplat prim); "
                                "give a scene written by `lyra-sim export` or `lyra-sim generate`") from None
    splats = splats_from_scene(scene, max_splats)
    del scene
    report = _read_report(folder)
    spawn = _spawn_points(report)
    if not len(spawn):
        spawn = np.asarray([p.position for p in read_spawn_points(stage)], np.float64).reshape(-1, 3)
    collider = _collider_obj(folder) or _usd_collider(stage)
    notes = []
    if splats.total > len(splats):
        notes.append(f"showing {len(splats):,} of {splats.total:,} Gaussians (random subsample; --max-splats)")
    data = SceneData(folder.name, lambda i: splats, collider, spawn, read_camera_paths(folder / CAMERA_PATHS_FILE))
    _note_missing(data, notes)
    return ViewWorld(folder, "exported", [data], [Placement(folder.name, 0, np.eye(4))], notes=notes)


def _load_splat_file(path: Path, max_splats: int) -> ViewWorld:
    try:
        splats = _read_splat(path, max_splats)
    except LyraSimError as err:
        raise InvalidInputError(f"not a lyra-sim world or a splat file we read: {err}") from None
    notes = ["a bare splat file: its own frame and units, no collider or spawn points (view an exported folder for those)"]
    if splats.total > len(splats):
        notes.append(f"showing {len(splats):,} of {splats.total:,} Gaussians (random subsample; --max-splats)")
    data = SceneData(path.name, lambda i: splats)
    return ViewWorld(path, "splat", [data], [Placement(path.name, 0, np.eye(4))], up="-y", notes=notes)


# ------------------------------------------------------------------------------ composed worlds
def _placements_from_stage(stage, record: dict, pool_index: dict[str, int]) -> list[Placement]:
    """Each environment's scene transform, colour gain and robots, read from a world stage made
    by :func:`lyra_sim.sim.compose_world` (a written world or a fresh re-draw)."""
    from pxr import Usd, UsdGeom

    from lyra_sim.sim.compose import ENV_ROOT

    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    draws = {d.env: d for d in record["draws"].envs}
    spawn_heights = [float(r.get("spawn_height", 0.0)) for r in record.get("robots", [])]
    root = stage.GetPrimAtPath(ENV_ROOT)
    out = []
    for env in root.GetChildren() if root else []:
        scene_prim = env.GetChild("Scene")
        if not scene_prim:
            continue
        payloads = scene_prim.GetMetadata("payload")
        items = list(payloads.GetAddedOrExplicitItems()) if payloads is not None else []
        key = _scene_key(items[0].assetPath, stage) if items else None
        if key not in pool_index:
            continue
        try:
            number = int(env.GetName().split("_")[-1])
        except ValueError:
            number = len(out)
        draw = draws.get(number)
        robots = []
        for k, child in enumerate(c for c in env.GetChildren() if c.GetName().startswith("Robot")):
            m = np.array(cache.GetLocalToWorldTransform(child), np.float64).T
            m[:3, 3] -= m[:3, :3] @ np.array([0.0, 0.0, spawn_heights[k] if k < len(spawn_heights) else 0.0])
            robots.append(m)
        out.append(Placement(env.GetName(), pool_index[key], np.array(cache.GetLocalToWorldTransform(scene_prim), np.float64).T,
                             tuple(draw.gaussian_gain) if draw is not None else (1.0, 1.0, 1.0), robots))
    return out


def _scene_key(asset_path: str, stage) -> str:
    """The resolved folder of a scene payload (relative paths are relative to the world file)."""
    layer = stage.GetRootLayer()
    p = Path(asset_path)
    if not p.is_absolute() and layer.realPath:
        p = Path(layer.realPath).parent / p
    return Path(p).resolve().parent.as_posix()


def _load_composed(path: Path, max_splats: int) -> ViewWorld:
    from lyra_sim.sim.compose import read_world_record

    stage = _open_stage(path)
    record = read_world_record(stage)
    # The pool: the scene folders in the draws' order. The record keeps the folders as they were
    # when the world was composed; a world moved with its scenes finds them through the payloads.
    pool = [Path(s) for s in record.get("scenes", [])]
    by_payload = {}
    from lyra_sim.sim.compose import ENV_ROOT

    root = stage.GetPrimAtPath(ENV_ROOT)
    for env in root.GetChildren() if root else []:
        prim = env.GetChild("Scene")
        payloads = prim.GetMetadata("payload") if prim else None
        items = list(payloads.GetAddedOrExplicitItems()) if payloads is not None else []
        try:
            number = int(env.GetName().split("_")[-1])
        except ValueError:
            continue
        draw = next((d for d in record["draws"].envs if d.env == number), None)
        if items and draw is not None:
            by_payload[draw.scene] = Path(_scene_key(items[0].assetPath, stage))
    pool = [p if p.is_dir() else by_payload.get(i, p) for i, p in enumerate(pool)]
    missing = [str(p) for i, p in enumerate(pool) if not p.is_dir() and i in by_payload]
    if missing:
        raise InvalidInputError(f"{path}: its scene folder(s) {', '.join(missing)} are gone; "
                                "keep the exported scenes next to the world or re-compose it")
    used = sorted({d.scene for d in record["draws"].envs})
    per_scene_cap = max(1, max_splats // max(1, min(len(record["draws"].envs), MAX_ENVS)))
    scenes, index = [], {}
    notes = []
    for i, folder in enumerate(pool):
        if not folder.is_dir():
            scenes.append(SceneData(folder.name, lambda t: None))
            continue
        usd = next((folder / n for n in ("scene.usda", "scene.usdc", "scene.usdz") if (folder / n).is_file()), folder / "scene.usda")
        sub = _load_exported(folder, usd, per_scene_cap)
        scenes.append(sub.scenes[0])
        index[folder.resolve().as_posix()] = i
        notes += [f"{folder.name}: {n}" for n in sub.notes if "Gaussians" in n and i in used]
    placements = _placements_from_stage(stage, record, index)
    if len(placements) > MAX_ENVS:
        notes.append(f"showing the first {MAX_ENVS} of {len(placements)} environments")
        placements = placements[:MAX_ENVS]
    redraw = None
    if all(p.is_dir() for p in pool):
        redraw = _redrawer(pool, record, index)
    else:
        notes.append("re-draw is off: some of the world's scene folders are missing")
    return ViewWorld(path, "composed", scenes, placements, seed=record["draws"].seed, redraw=redraw, notes=notes)


def _redrawer(pool: list[Path], record: dict, index: dict[str, int]) -> Callable[[int], list[Placement]]:
    """seed -> placements of the world re-composed by :func:`lyra_sim.sim.compose_world` with the
    recorded settings and robots and the new randomization seed."""

    def redraw(seed: int) -> list[Placement]:
        from lyra_sim.config import load_structured
        from lyra_sim.sim import ROBOTS, RobotSpec, WorldCfg, compose_world, read_world_record

        cfg = load_structured(WorldCfg, None, [], what="world config")
        saved = record.get("cfg") or {}
        cfg = _merge_cfg(cfg, saved)
        cfg.randomization.seed = int(seed)
        robots = []
        for r in record.get("robots", []):
            spec = ROBOTS.get(r["name"])
            robots.append(spec if spec is not None and spec.usd_path == r["usd_path"] else
                          RobotSpec(r["name"], r["usd_path"], float(r.get("spawn_height", 0.0))))
        stage = compose_world(pool, robots, cfg)
        placements = _placements_from_stage(stage, read_world_record(stage), index)
        return placements[:MAX_ENVS]

    return redraw


def _merge_cfg(cfg, saved: dict):
    """``cfg`` (a dataclass) with the fields of ``saved`` (its ``asdict`` form) set, recursively."""
    import dataclasses

    for f in dataclasses.fields(cfg):
        if f.name not in saved:
            continue
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value) and isinstance(saved[f.name], dict):
            _merge_cfg(value, saved[f.name])
        elif isinstance(value, tuple) and isinstance(saved[f.name], list):
            setattr(cfg, f.name, tuple(saved[f.name]))
        else:
            setattr(cfg, f.name, saved[f.name])
    return cfg


# ------------------------------------------------------------------------------- camera paths
def write_camera_paths(trajectories, sim_from_scene, path: str | Path) -> Path:
    """Write the teacher's camera paths to ``path`` (``camera_paths.json``) in the sim frame, for
    the viewer's frustums.

    Args:
        trajectories: objects with ``name`` and ``cameras`` (:class:`~lyra_sim.cameras.Cameras`,
            OpenCV c2w in the scene frame); mirrored ``*_flipped`` paths are left out.
        sim_from_scene: [4, 4] similarity ``x_sim = s R x_scene + t``.

    Format: ``{"frame": "sim", "convention": "opencv_c2w", "paths": [{"name", "fov_y_degrees",
    "aspect", "c2w": [[4x4], ...]}]}``, positions in metres, rotations orthonormal.
    """
    m = np.asarray(sim_from_scene, np.float64)
    s = float(np.cbrt(abs(np.linalg.det(m[:3, :3])))) or 1.0
    paths = []
    for traj in trajectories:
        if traj.name.endswith("_flipped"):
            continue
        cams = traj.cameras
        c2w = m @ np.asarray(cams.c2w.detach().cpu().double().numpy())
        c2w[:, :3, :3] /= s
        fy = float(cams.K[0, 1, 1])
        paths.append({"name": traj.name, "fov_y_degrees": math.degrees(2 * math.atan(0.5 * cams.height / fy)),
                      "aspect": cams.width / cams.height, "c2w": np.round(c2w, 6).tolist()})
    path = Path(path)
    path.write_text(json.dumps({"frame": "sim", "convention": "opencv_c2w", "paths": paths}) + "\n")
    return path


def read_camera_paths(path: Path) -> list[CameraPath]:
    """The camera paths of :func:`write_camera_paths` ([] when the file is absent or unreadable:
    frustums are a nicety, not a reason to refuse a world)."""
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text())
        out = []
        for p in data["paths"]:
            c2w = np.asarray(p["c2w"], np.float64).reshape(-1, 4, 4)
            if np.isfinite(c2w).all():
                out.append(CameraPath(str(p["name"]), c2w, math.radians(float(p["fov_y_degrees"])), float(p["aspect"])))
        return out
    except (OSError, ValueError, KeyError, TypeError):
        return []
