"""Read one scene of Lyra's SDG layout (``nvidia/PhysicalAI-SpatialIntelligence-Lyra-SDG``).

On disk (``src/models/data/radym.py`` in Lyra)::

    <root>/<traj>/rgb/<key>.mp4          frames, read as float RGB in [0, 1]
    <root>/<traj>/latent/<key>.pkl       torch.save of float32 numpy [1, C, t, h, w] (normalised)
    <root>/<traj>/pose/<key>.npz         data [N, 4, 4] camera-to-world (OpenCV), inds [N] frames
    <root>/<traj>/intrinsics/<key>.npz   data [N, 4] (fx, fy, cx, cy) in pixels, inds [N]
    <root>/<traj>/depth/<key>.zip        {frame:05d}.exr, one half-float channel "Z" each
    <root>/<traj>/mask/<key>.zip         {frame:05d}.png (optional)

Every subfolder of ``root`` except ``flag`` is a trajectory: 0-5 for static scenes, 0-11 for
dynamic ones (6-11 are the time-flipped supervision copies). One root may hold several scenes
(keys). Scenes written by lyra-sim (:mod:`lyra_sim.data.writer`) hold one key and add
``scene.json`` (description, codec, metric flag, trajectory names, times, ...) and
``gt_mesh.npz`` (ground-truth geometry) in the root; Lyra's readers ignore both.

Only ``rgb``, ``pose`` and ``intrinsics`` are required. Poses and intrinsics are looked up by
frame index through ``inds`` (``searchsorted``, as Lyra does), so they may cover a subset.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from torch import Tensor

from lyra_sim.cameras import Cameras
from lyra_sim.data.exr import read_exr_channel
from lyra_sim.data.latents import LatentStatistics
from lyra_sim.data.safe_pickle import load_array_pickle
from lyra_sim.data.transforms import CropResize, intrinsics_to_matrix, relative_to
from lyra_sim.data.video import count_video_frames, read_video_frames, video_size
from lyra_sim.errors import DatasetError
from lyra_sim.io.archive import check_zip_file, check_zip_members
from lyra_sim.teachers.base import TriangleMesh

FIELD_EXTENSIONS = {"rgb": "mp4", "latent": "pkl", "pose": "npz", "intrinsics": "npz", "depth": "zip", "mask": "zip"}
REQUIRED_FIELDS = ("rgb", "pose", "intrinsics")
SCENE_JSON = "scene.json"
MESH_FILE = "gt_mesh.npz"
NOT_TRAJECTORIES = ("flag",)

FrameIndices = Sequence[int] | np.ndarray | Tensor | None
LatentTransform = LatentStatistics | Callable[[Tensor], Tensor]


def field_path(root: str | Path, trajectory: str, field: str, key: str) -> Path:
    """``<root>/<trajectory>/<field>/<key>.<ext>``."""
    return Path(root) / str(trajectory) / field / f"{key}.{FIELD_EXTENSIONS[field]}"


def trajectory_ids(root: str | Path) -> list[str]:
    """Trajectory folder names of a scene root, numerically sorted ("0", "1", ..., "11")."""
    names = [p.name for p in Path(root).iterdir() if p.is_dir() and p.name not in NOT_TRAJECTORIES and not p.name.startswith(".")]
    return sorted(names, key=lambda n: (0, int(n), "") if n.isdigit() else (1, 0, n))


def scene_keys(root: str | Path) -> list[str]:
    """The scene keys in a root: the ``rgb/*.mp4`` stems of its first trajectory."""
    trajs = trajectory_ids(root)
    if not trajs:
        return []
    return sorted(p.stem for p in (Path(root) / trajs[0] / "rgb").glob("*.mp4"))


def find_scenes(root: str | Path) -> list[tuple[Path, str]]:
    """``(scene_root, key)`` for every scene in ``root`` or in its immediate subfolders."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "dataset folder does not exist")
    found = [(root, k) for k in scene_keys(root)]
    if found:
        return found
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found += [(sub, k) for k in scene_keys(sub)]
    return found


class LyraScene:
    """One scene (one key) of the Lyra layout, read lazily.

    Args:
        root: the scene root (holds the trajectory folders).
        key: the scene's file stem; needed only when the root holds several scenes.
        latent_statistics: how to map stored latents to the codec's space: a
            :class:`LatentStatistics` (Lyra's Cosmos de-normalisation), any callable on
            ``[C, t, h, w]``, or None to return latents as stored.

    Frame indices are trajectory frame numbers; ``size=(H, W)`` centre-crops to that aspect and
    resizes (:class:`CropResize`), intrinsics included. Everything is returned on the CPU.
    """

    def __init__(self, root: str | Path, key: str | None = None, latent_statistics: LatentTransform | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(self.root, "scene folder does not exist")
        self.trajectory_ids = trajectory_ids(self.root)
        if not self.trajectory_ids:
            raise DatasetError(self.root, "no trajectory folders (0, 1, ...) found; is this a Lyra scene root?")
        if key is None:
            keys = scene_keys(self.root)
            if len(keys) != 1:
                what = "no rgb/*.mp4" if not keys else f"{len(keys)} scenes ({', '.join(keys[:5])}...)"
                raise DatasetError(self.root / self.trajectory_ids[0] / "rgb", f"found {what}; pass key= to pick one scene")
            key = keys[0]
        self.key = key
        self.latent_statistics = latent_statistics
        for traj in self.trajectory_ids:
            for fld in REQUIRED_FIELDS:
                if not field_path(self.root, traj, fld, key).is_file():
                    raise DatasetError(
                        self.root, f"scene {key!r}: trajectory {traj} lacks {fld}/{key}.{FIELD_EXTENSIONS[fld]}"
                    )
        self._tables: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def __repr__(self) -> str:
        return f"LyraScene({str(self.root)!r}, key={self.key!r}, trajectories={len(self.trajectory_ids)})"

    # ------------------------------------------------------------------ scene facts
    @cached_property
    def info(self) -> dict:
        """The parsed ``scene.json`` (lyra-sim scenes), or {} for scenes from Lyra's SDG."""
        path = self.root / SCENE_JSON
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DatasetError(path, f"scene.json is not valid JSON ({exc}); rewrite the scene") from None

    @property
    def description(self) -> dict | None:
        """The teacher's scene description (``scene.json``), None when unknown."""
        return self.info.get("description")

    @property
    def is_dynamic(self) -> bool:
        """From ``scene.json``; otherwise Lyra's convention: 12 trajectories means dynamic."""
        if "dynamic" in self.info:
            return bool(self.info["dynamic"])
        return len(self.trajectory_ids) == 12

    @cached_property
    def num_frames(self) -> int:
        """Frames per trajectory (``scene.json``, else counted in the first trajectory's mp4)."""
        if "num_frames" in self.info:
            return int(self.info["num_frames"])
        return self.frame_count(self.trajectory_ids[0])

    @cached_property
    def image_size(self) -> tuple[int, int]:
        """Native ``(H, W)`` of the frames."""
        if "height" in self.info and "width" in self.info:
            return int(self.info["height"]), int(self.info["width"])
        return video_size(self.path(self.trajectory_ids[0], "rgb"))

    def frame_count(self, trajectory: str) -> int:
        """Frames in this trajectory's mp4."""
        return count_video_frames(self.path(trajectory, "rgb"))

    def path(self, trajectory: str, field: str) -> Path:
        return field_path(self.root, self._check_traj(trajectory), field, self.key)

    def has(self, field: str, trajectory: str | None = None) -> bool:
        """Whether ``field`` exists for ``trajectory`` (every trajectory if None)."""
        trajs = self.trajectory_ids if trajectory is None else [trajectory]
        return all(self.path(t, field).is_file() for t in trajs)

    # ------------------------------------------------------------------ loaders
    def load_frames(self, trajectory: str, frame_indices: FrameIndices = None, size: tuple[int, int] | None = None) -> Tensor:
        """``[N, 3, H, W]`` float32 RGB in [0, 1] (all frames when ``frame_indices`` is None)."""
        idx = self._indices(trajectory, frame_indices)
        frames = read_video_frames(self.path(trajectory, "rgb"), idx)
        images = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255.0)
        return images if size is None else CropResize.plan(images.shape[-2:], size).images(images)

    def load_intrinsics(self, trajectory: str, frame_indices: FrameIndices = None, size: tuple[int, int] | None = None) -> Tensor:
        """``[N, 4]`` (fx, fy, cx, cy) in pixels of the returned frame size."""
        fxfycxcy = torch.from_numpy(self._lookup(trajectory, "intrinsics", self._indices(trajectory, frame_indices)))
        return fxfycxcy if size is None else CropResize.plan(self.image_size, size).intrinsics(fxfycxcy)

    def load_c2w(self, trajectory: str, frame_indices: FrameIndices = None, reference: Tensor | None = None) -> Tensor:
        """``[N, 4, 4]`` camera-to-world; with ``reference [4, 4]`` (a c2w), ``reference^-1 @ c2w``."""
        c2w = torch.from_numpy(self._lookup(trajectory, "pose", self._indices(trajectory, frame_indices)))
        return c2w if reference is None else relative_to(c2w, reference)

    def load_cameras(
        self,
        trajectory: str,
        frame_indices: FrameIndices = None,
        size: tuple[int, int] | None = None,
        reference: Tensor | None = None,
    ) -> Cameras:
        """:class:`Cameras` of the frames (intrinsics follow ``size``; poses relative to ``reference``)."""
        K = intrinsics_to_matrix(self.load_intrinsics(trajectory, frame_indices, size))
        height, width = self.image_size if size is None else size
        try:
            return Cameras(self.load_c2w(trajectory, frame_indices, reference), K, width, height)
        except ValueError as exc:
            raise DatasetError(self.path(trajectory, "pose"), f"invalid camera ({exc})") from None

    def load_depth(self, trajectory: str, frame_indices: FrameIndices = None, size: tuple[int, int] | None = None) -> Tensor:
        """``[N, H, W]`` float32 depth; non-finite and non-positive values become 0 (unknown), as in Lyra."""
        idx = self._indices(trajectory, frame_indices)
        maps = self._zip_frames(trajectory, "depth", idx, "exr")
        depth = torch.from_numpy(np.stack(maps).astype(np.float32))
        depth = torch.where(torch.isfinite(depth) & (depth > 0), depth, torch.zeros_like(depth))
        return depth if size is None else CropResize.plan(depth.shape[-2:], size).maps(depth)

    def load_mask(self, trajectory: str, frame_indices: FrameIndices = None, size: tuple[int, int] | None = None) -> Tensor:
        """``[N, H, W]`` bool, True where the stored mask png is non-zero."""
        idx = self._indices(trajectory, frame_indices)
        masks = torch.from_numpy(np.stack(self._zip_frames(trajectory, "mask", idx, "png")) > 0)
        return masks if size is None else CropResize.plan(masks.shape[-2:], size).maps(masks)

    def load_latents(self, trajectory: str) -> Tensor:
        """``[C, t, h, w]`` float32 latents of the whole trajectory, mapped by ``latent_statistics``.

        Raises:
            DatasetError: missing/corrupt/unsafe file, wrong shape, or a lyra-sim scene whose
                latents are stored normalised and no statistics were given.
        """
        latents = self._stored_latents(trajectory)
        path = self.path(trajectory, "latent")
        if self.latent_statistics is None:
            if self.info.get("latents", {}).get("normalized"):
                raise DatasetError(path, "latents are stored normalised; pass latent_statistics (the model's mean_std.pt)")
            return latents
        if isinstance(self.latent_statistics, LatentStatistics):
            return self.latent_statistics.denormalize(latents)
        return self.latent_statistics(latents)

    def load_meshes(self) -> tuple[list[TriangleMesh], Tensor | None]:
        """Ground-truth meshes (scene frame) and their times (dynamic scenes); ([], None) if absent."""
        path = self.root / MESH_FILE
        if not path.is_file():
            return [], None
        check_zip_file(path)
        with np.load(path, allow_pickle=False) as npz:
            count = int(npz["count"])
            meshes = [
                TriangleMesh(torch.from_numpy(npz[f"vertices_{i:03d}"]), torch.from_numpy(npz[f"faces_{i:03d}"]).long())
                for i in range(count)
            ]
            times = torch.from_numpy(npz["times"]) if "times" in npz.files else None
        return meshes, times

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Read every table and count every video: raise DatasetError on the first inconsistency."""
        expected = self.num_frames
        for traj in self.trajectory_ids:
            count = self.frame_count(traj)
            if count != expected:
                raise DatasetError(
                    self.path(traj, "rgb"), f"has {count} frames but the scene has {expected}; the trajectories must match"
                )
            for fld in ("pose", "intrinsics"):
                self._lookup(traj, fld, np.arange(expected))
            for fld in ("depth", "mask"):
                if self.has(fld, traj):
                    with self._open_zip(traj, fld) as zf:
                        names = set(zf.namelist())
                    ext = "exr" if fld == "depth" else "png"
                    missing = [i for i in range(expected) if f"{i:05d}.{ext}" not in names]
                    if missing:
                        raise DatasetError(self.path(traj, fld), f"lacks frames {missing[:5]} of {expected}")
            if self.has("latent", traj):
                self._stored_latents(traj)

    # ------------------------------------------------------------------ internals
    def _check_traj(self, trajectory) -> str:
        trajectory = str(trajectory)
        if trajectory not in self.trajectory_ids:
            raise DatasetError(self.root, f"scene {self.key!r} has no trajectory {trajectory!r} (it has {self.trajectory_ids})")
        return trajectory

    def _indices(self, trajectory: str, frame_indices: FrameIndices) -> np.ndarray:
        self._check_traj(trajectory)
        if frame_indices is None:
            return np.arange(self.num_frames)
        idx = np.asarray(frame_indices.cpu() if isinstance(frame_indices, Tensor) else frame_indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_frames):
            raise DatasetError(self.root, f"scene {self.key!r}: frame indices must be in [0, {self.num_frames}), got {idx.min()}..{idx.max()}")
        return idx

    def _stored_latents(self, trajectory: str) -> Tensor:
        path = self.path(trajectory, "latent")
        stored = torch.as_tensor(load_array_pickle(path))
        latents = stored[0] if stored.ndim == 5 and stored.shape[0] == 1 else stored
        if latents.ndim != 4:
            raise DatasetError(path, f"latents must be [1, C, t, h, w], got {list(stored.shape)}")
        return latents.float()

    def _lookup(self, trajectory: str, field: str, idx: np.ndarray) -> np.ndarray:
        inds, data = self._table(trajectory, field)
        pos = np.minimum(np.searchsorted(inds, idx), len(inds) - 1)
        missing = idx[inds[pos] != idx]
        if missing.size:
            raise DatasetError(self.path(trajectory, field), f"has no entry for frames {missing[:5].tolist()} (inds cover {inds.min()}..{inds.max()})")
        return data[pos].astype(np.float32)

    def _table(self, trajectory: str, field: str) -> tuple[np.ndarray, np.ndarray]:
        cache_key = (trajectory, field)
        if cache_key not in self._tables:
            path = self.path(trajectory, field)
            check_zip_file(path)
            try:
                with np.load(path, allow_pickle=False) as npz:
                    data, inds = np.asarray(npz["data"]), np.asarray(npz["inds"]).astype(np.int64).reshape(-1)
            except KeyError as exc:
                raise DatasetError(path, f"npz lacks the array {exc}; Lyra's layout needs 'data' and 'inds'") from None
            except (OSError, ValueError, zipfile.BadZipFile) as exc:
                raise DatasetError(path, f"cannot read npz ({exc}); regenerate it") from None
            shape = (4, 4) if field == "pose" else (4,)
            if data.shape[1:] != shape or len(data) != len(inds) or not len(inds):
                raise DatasetError(path, f"'data' must be [N, {', '.join(map(str, shape))}] with one 'inds' entry per row, "
                                         f"got {list(data.shape)} and {len(inds)} inds")
            if np.any(np.diff(inds) <= 0):
                order = np.argsort(inds, kind="stable")
                inds, data = inds[order], data[order]  # searchsorted needs them sorted
            self._tables[cache_key] = (inds, data)
        return self._tables[cache_key]

    def _open_zip(self, trajectory: str, field: str) -> zipfile.ZipFile:
        path = self.path(trajectory, field)
        if not path.is_file():
            raise DatasetError(self.root, f"scene {self.key!r}: trajectory {trajectory} has no {field}/{path.name}")
        try:
            return zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise DatasetError(path, f"not a readable zip ({exc}); regenerate it") from None

    def _zip_frames(self, trajectory: str, field: str, idx: np.ndarray, ext: str) -> list[np.ndarray]:
        path = self.path(trajectory, field)
        out = []
        with self._open_zip(trajectory, field) as zf:
            check_zip_members(zf, path, [f"{i:05d}.{ext}" for i in idx.tolist()])
            for i in idx.tolist():
                member = f"{i:05d}.{ext}"
                try:
                    data = zf.read(member)
                except KeyError:
                    raise DatasetError(path, f"has no {member} (frame {i})") from None
                except (zipfile.BadZipFile, OSError) as exc:
                    raise DatasetError(path, f"{member} is corrupt ({exc})") from None
                if ext == "exr":
                    out.append(read_exr_channel(data, "Z", f"{path}:{member}"))
                else:
                    out.append(_decode_png(data, f"{path}:{member}"))
        if not out:
            raise DatasetError(path, "no frames requested")
        return out


def _decode_png(data: bytes, name: str) -> np.ndarray:
    try:
        image = iio.imread(io.BytesIO(data), extension=".png")
    except Exception as exc:  # noqa: BLE001 -- pillow raises many types for a bad file
        raise DatasetError(name, f"cannot decode png ({exc})") from None
    return image if image.ndim == 2 else image[..., 0]
