"""Write a :class:`TeacherOutput` as one scene of Lyra's SDG layout, atomically.

The files are exactly those Lyra's reader expects (:mod:`lyra_sim.data.layout`), one trajectory
folder per teacher trajectory in output order ("0".."5", then the flipped copies "6".."11"),
plus lyra-sim's extras in the scene root:

- ``scene.json``: format version, key, codec, depth_is_metric, world_from_scene, trajectory
  names, dynamic flag, per-trajectory frame times, frame count, size, fps, video settings,
  latent layout, mesh times and the teacher's scene description;
- ``gt_mesh.npz``: ``count``, ``vertices_000 [V, 3]``, ``faces_000 [F, 3]``, ... and ``times``
  for dynamic scenes (plain arrays, loadable with ``allow_pickle=False``).

The whole scene is written into a hidden staging folder next to the destination
(:func:`lyra_sim.io.atomic.atomic_directory`, ``.<name>.*.partial``) and renamed into place when
complete, so a crash leaves either the old scene or none, never half of one; sharded generation
can rerun and skip finished scenes. ``overwrite`` replaces only a folder that looks like a scene
(:func:`check_looks_like_scene`); an existing empty folder counts as none.
"""

from __future__ import annotations

import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch

from lyra_sim.data.exr import encode_exr
from lyra_sim.data.latents import LatentStatistics
from lyra_sim.data.layout import MESH_FILE, SCENE_JSON, field_path, trajectory_ids
from lyra_sim.data.transforms import matrix_to_intrinsics
from lyra_sim.data.video import LYRA_FPS, LYRA_QUALITY, write_video
from lyra_sim.errors import DatasetError, InvalidInputError
from lyra_sim.io.atomic import atomic_directory
from lyra_sim.teachers.base import TeacherOutput

SCENE_FORMAT = "lyra-sim-scene"
SCENE_FORMAT_VERSION = 1
_HALF_MAX = float(np.finfo(np.float16).max)


def write_scene(
    output: TeacherOutput,
    scene_dir: str | Path,
    key: str | None = None,
    overwrite: bool = False,
    fps: int = LYRA_FPS,
    video_quality: int = LYRA_QUALITY,
    lossless_video: bool = False,
    latent_statistics: LatentStatistics | None = None,
) -> Path:
    """Write ``output`` to ``scene_dir`` in Lyra's layout; return ``scene_dir``.

    Args:
        key: the file stem of every per-trajectory file. Defaults to ``scene_dir``'s name.
        overwrite: replace an existing scene (only a folder that looks like a scene).
        fps, video_quality: mp4 settings; Lyra's are 24 and 8 (lossy H.264, see
            :mod:`lyra_sim.data.video` for the loss).
        lossless_video: store frames bit-exactly (libx264rgb, QP 0) instead.
        latent_statistics: if given, latents are stored *normalised* with them, as GEN3C
            stores Cosmos latents; otherwise they are stored in the codec's own space.

    Raises:
        OutputExistsError: ``scene_dir`` holds files and ``overwrite`` is False.
        InvalidInputError: the output's trajectories disagree in frame count or size, or hold
            values the layout cannot store.
    """
    scene_dir = Path(scene_dir)
    key = key or scene_dir.name
    if not key or key.startswith(".") or any(c in key for c in "/\\\0"):
        raise InvalidInputError(f"scene key {key!r} must be a plain file stem (no path separators, not hidden)")
    info = _check_output(output)
    with atomic_directory(scene_dir, overwrite, check_looks_like_scene) as tmp:
        # The H.264 encodes run in ffmpeg processes fed from one background thread (pipe writes
        # release the GIL), so they overlap the depth, mask and latent writing here.
        videos = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lyra-sim-video")
        try:
            pending = [videos.submit(_write_video, tmp, str(i), key, traj, fps, video_quality, lossless_video) for i, traj in enumerate(output.trajectories)]
            for i, traj in enumerate(output.trajectories):
                _write_trajectory(tmp, str(i), key, traj, latent_statistics)
            for job in pending:
                job.result()
        finally:
            videos.shutdown(wait=True, cancel_futures=True)
        if output.meshes:
            _write_meshes(tmp / MESH_FILE, output)
        scene = {
            "format": SCENE_FORMAT,
            "version": SCENE_FORMAT_VERSION,
            "key": key,
            "codec": output.codec,
            "depth_is_metric": bool(output.depth_is_metric),
            "world_from_scene": None if output.world_from_scene is None else output.world_from_scene.double().tolist(),
            "trajectories": [t.name for t in output.trajectories],
            "dynamic": info["dynamic"],
            "times": {str(i): t.times.double().tolist() for i, t in enumerate(output.trajectories) if t.times is not None} or None,
            "num_frames": info["num_frames"],
            "height": info["height"],
            "width": info["width"],
            "fps": fps,
            "video": {"codec": "libx264rgb" if lossless_video else "libx264", "quality": None if lossless_video else video_quality, "lossless": lossless_video},
            "latents": {
                "present": info["latent_shape"] is not None,
                "shape": info["latent_shape"],
                "normalized": latent_statistics is not None and info["latent_shape"] is not None,
                "sigma_data": latent_statistics.sigma_data if latent_statistics is not None else None,
            },
            "mesh_times": None if output.mesh_times is None else output.mesh_times.double().tolist(),
            "description": output.description,
        }
        try:
            text = json.dumps(scene, indent=2, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"scene description is not JSON-serialisable ({exc})") from None
        (tmp / SCENE_JSON).write_text(text + "\n")
    return scene_dir


def check_looks_like_scene(path: Path) -> None:
    """Refuse to replace a folder that is not a scene (no ``scene.json``, no trajectory folders).

    Raises:
        DatasetError: ``path`` does not look like a scene folder.
    """
    if not ((path / SCENE_JSON).is_file() or trajectory_ids(path)):
        raise DatasetError(path, "exists and does not look like a scene folder; refusing to replace it, choose another path")


def _check_output(output: TeacherOutput) -> dict:
    if not output.trajectories:
        raise InvalidInputError("TeacherOutput has no trajectories to write")
    first = output.trajectories[0]
    num_frames, _, height, width = first.frames.shape
    latent_shape = None
    for traj in output.trajectories:
        if traj.frames.ndim != 4 or traj.frames.shape[1] != 3:
            raise InvalidInputError(f"trajectory {traj.name!r}: frames must be [T, 3, H, W], got {list(traj.frames.shape)}")
        if tuple(traj.frames.shape) != (num_frames, 3, height, width):
            raise InvalidInputError(
                f"trajectory {traj.name!r} has frames {list(traj.frames.shape)} but {first.name!r} has "
                f"{[num_frames, 3, height, width]}; every trajectory of a scene must match"
            )
        if len(traj.cameras) != num_frames or (traj.cameras.width, traj.cameras.height) != (width, height):
            raise InvalidInputError(f"trajectory {traj.name!r}: needs {num_frames} cameras of {width}x{height}")
        for name, value in (("depth", traj.depth), ("mask", traj.mask)):
            if value is not None and tuple(value.shape) != (num_frames, height, width):
                raise InvalidInputError(f"trajectory {traj.name!r}: {name} must be [{num_frames}, {height}, {width}], got {list(value.shape)}")
        if traj.times is not None and tuple(traj.times.shape) != (num_frames,):
            raise InvalidInputError(f"trajectory {traj.name!r}: times must be [{num_frames}]")
        if traj.latents is not None:
            if traj.latents.ndim != 4 or (latent_shape is not None and list(traj.latents.shape) != latent_shape):
                raise InvalidInputError(f"trajectory {traj.name!r}: latents must be [C, t, h, w], the same for every trajectory")
            latent_shape = list(traj.latents.shape)
    if len(output.meshes) > 1 and (output.mesh_times is None or len(output.mesh_times) != len(output.meshes)):
        raise InvalidInputError("several ground-truth meshes need one mesh_times entry each")
    dynamic = any(t.times is not None for t in output.trajectories)
    return {"num_frames": num_frames, "height": height, "width": width, "latent_shape": latent_shape, "dynamic": dynamic}


def _target(root: Path, traj_id: str, field: str, key: str) -> Path:
    path = field_path(root, traj_id, field, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_video(root: Path, traj_id: str, key: str, traj, fps, quality, lossless) -> None:
    frames = (traj.frames.detach().cpu().float().clamp(0, 1) * 255.0).round().to(torch.uint8)
    write_video(_target(root, traj_id, "rgb", key), frames.permute(0, 2, 3, 1).numpy(), fps=fps, quality=quality, lossless=lossless)


def _write_trajectory(root: Path, traj_id: str, key: str, traj, latent_statistics) -> None:
    """Everything of one trajectory but its video: poses, intrinsics, depth, mask, latents."""
    def target(field: str) -> Path:
        return _target(root, traj_id, field, key)

    cams = traj.cameras.to("cpu")
    inds = np.arange(len(cams), dtype=np.int64)
    np.savez(target("pose"), data=cams.c2w.detach().float().numpy(), inds=inds)
    np.savez(target("intrinsics"), data=matrix_to_intrinsics(cams.K.detach()).float().numpy(), inds=inds)

    if traj.depth is not None:
        # Lyra's depth is half float: clamp past its range; unknown (0 / non-finite) stays 0.
        depth = traj.depth.detach().cpu().float()
        depth = torch.where(torch.isfinite(depth) & (depth > 0), depth.clamp(max=_HALF_MAX), torch.zeros_like(depth))
        _write_zip(target("depth"), ((f"{t:05d}.exr", encode_exr({"Z": d.numpy().astype(np.float16)})) for t, d in enumerate(depth)))
    if traj.mask is not None:
        masks = traj.mask.detach().cpu().bool().numpy()
        _write_zip(target("mask"), ((f"{t:05d}.png", iio.imwrite("<bytes>", m.astype(np.uint8) * 255, extension=".png")) for t, m in enumerate(masks)))
    if traj.latents is not None:
        latents = traj.latents.detach().cpu().float()
        if latent_statistics is not None:
            latents = latent_statistics.normalize(latents)
        # GEN3C's exact file: torch.save of a float32 numpy array [1, C, t, h, w].
        torch.save(latents[None].numpy(), target("latent"))


def _write_zip(path: Path, members) -> None:
    # EXR/PNG are compressed already; storing them keeps reads cheap, as in Lyra's zips. A fixed
    # member date (zipfile's default is the time of writing) makes a scene the same bytes whenever
    # and wherever it is made, as numpy's .npz members are.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members:
            member = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            member.external_attr = 0o644 << 16
            zf.writestr(member, data)


def _write_meshes(path: Path, output: TeacherOutput) -> None:
    arrays: dict[str, np.ndarray] = {"count": np.asarray(len(output.meshes), dtype=np.int64)}
    for i, mesh in enumerate(output.meshes):
        arrays[f"vertices_{i:03d}"] = mesh.vertices.detach().cpu().float().numpy()
        arrays[f"faces_{i:03d}"] = mesh.faces.detach().cpu().long().numpy()
    if output.mesh_times is not None:
        arrays["times"] = output.mesh_times.detach().cpu().double().numpy()
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)
