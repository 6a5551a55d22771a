"""Test data for lyra_sim.data: a scene written by hand in Lyra's original layout, and synthetic
TeacherOutputs (random tensors, real Lyra trajectories) for the writer."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import torch

from lyra_sim.cameras import intrinsics_matrix, lyra_trajectories
from lyra_sim.teachers.base import TeacherOutput, TrajectoryVideo, TriangleMesh



def smooth_frames(num_frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """[T, H, W, 3] float in [0, 1]: moving low-frequency colour patterns (codec-friendly)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    freq = rng.uniform(2, 6, size=(3, 2))
    frames = []
    for t in range(num_frames):
        chans = [0.5 + 0.4 * np.sin(freq[c, 0] * 2 * x + freq[c, 1] * 2 * y + phase[c] + 0.3 * t) for c in range(3)]
        frames.append(np.stack(chans, -1))
    return np.clip(np.stack(frames), 0, 1)


def exr_bytes(depth: np.ndarray) -> bytes:
    """A half-float 'Z' EXR as ViPE writes them (OpenEXR library, ZIP), not through lyra_sim."""
    import OpenEXR

    depth = depth.astype(np.float16)
    buf = io.BytesIO()
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, {"Z": depth}).write(buf)
    return buf.getvalue()


@dataclass
class OriginalScene:
    root: Path
    key: str
    frames: dict  # traj -> [T, H, W, 3] uint8 as written
    c2w: dict  # traj -> [T, 4, 4] float64
    fxfycxcy: dict  # traj -> [T, 4]
    depth: dict  # traj -> [T, H, W] float32 (pre float16)
    latents: dict  # traj -> [1, C, t, h, w] float32 normalised
    mean: np.ndarray  # [C, 16]
    std: np.ndarray


def write_original_scene(
    root: Path, key: str = "00042", trajs=("0", "1", "2"), T: int = 9, H: int = 48, W: int = 64, seed: int = 0
) -> OriginalScene:
    """Lyra's layout, written with numpy/imageio/torch/zipfile only (no lyra_sim writer)."""
    rng = np.random.default_rng(seed)
    out = OriginalScene(root, key, {}, {}, {}, {}, {}, rng.normal(0, 1, (16, 16)), rng.uniform(0.5, 2, (16, 16)))
    for k, traj in enumerate(trajs):
        d = root / traj
        for sub in ("rgb", "pose", "intrinsics", "latent", "depth"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        frames = (smooth_frames(T, H, W, seed + k) * 255).round().astype(np.uint8)
        # Cosmos' save_video: imageio.mimsave(..., "mp4", fps, quality, macro_block_size=1)
        imageio.mimsave(d / "rgb" / f"{key}.mp4", list(frames), "mp4", fps=24, quality=8, macro_block_size=1)
        c2w = np.tile(np.eye(4), (T, 1, 1))
        angles = rng.normal(0, 0.2, (T, 3))
        for t in range(T):
            c2w[t, :3, :3] = _rotation(angles[t])
            c2w[t, :3, 3] = rng.normal(0, 1, 3)
        # Poses in scrambled row order with one extra frame: the reader must use inds, not rows.
        inds = np.arange(T + 1)
        order = rng.permutation(T + 1)
        pose_data = np.concatenate([c2w, np.eye(4)[None]])
        np.savez(d / "pose" / f"{key}.npz", data=pose_data[order], inds=inds[order])
        intr = np.stack([rng.uniform(40, 80, T), rng.uniform(40, 80, T), rng.uniform(28, 36, T), rng.uniform(20, 28, T)], -1)
        # Intrinsics cover a longer range starting before frame 0: row f is frame f - 3, so only
        # a searchsorted lookup through inds finds the right rows.
        intr_inds = np.arange(-3, T + 4)
        intr_data = np.full((len(intr_inds), 4), 7.0)
        intr_data[3 : 3 + T] = intr
        np.savez(d / "intrinsics" / f"{key}.npz", data=intr_data, inds=intr_inds)
        depth = rng.uniform(0.5, 20.0, (T, H, W)).astype(np.float32)
        with zipfile.ZipFile(d / "depth" / f"{key}.zip", "w") as zf:
            for t in range(T):
                zf.writestr(f"{t:05d}.exr", exr_bytes(depth[t]))
        latent = rng.normal(0, 1, (1, 16, 2, H // 8, W // 8)).astype(np.float32)
        torch.save(latent, d / "latent" / f"{key}.pkl")
        out.frames[traj], out.c2w[traj], out.fxfycxcy[traj], out.depth[traj], out.latents[traj] = frames, c2w, intr, depth, latent
    (root / "flag").mkdir()  # Lyra's marker folder: not a trajectory
    return out


def _rotation(v: np.ndarray) -> np.ndarray:
    theta = np.linalg.norm(v)
    k = v / theta
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(theta) * K + (1 - np.cos(theta)) * K @ K


def make_teacher_output(
    num_trajectories: int = 6,
    T: int = 9,
    H: int = 48,
    W: int = 64,
    dynamic: bool = False,
    with_latents: bool = True,
    seed: int = 0,
) -> TeacherOutput:
    """A TeacherOutput with random content and Lyra's camera paths (flipped copies if dynamic)."""
    gen = torch.Generator().manual_seed(seed)
    K = intrinsics_matrix(50.0, 50.0, W / 2, H / 2)
    names = ["left", "right", "up", "zoom_out", "zoom_in", "clockwise"][:num_trajectories]
    cams = lyra_trajectories(T, K, W, H, seed=seed, names=names)
    trajs = []
    times = torch.linspace(0, 1, T, dtype=torch.float64) if dynamic else None
    for k, name in enumerate(names):
        frames = torch.from_numpy(smooth_frames(T, H, W, seed + k)).permute(0, 3, 1, 2).float()
        depth = 1.0 + 4.0 * torch.rand(T, H, W, generator=gen)
        depth[:, 0, 0] = 0.0  # unknown
        mask = torch.rand(T, H, W, generator=gen) > 0.3
        latents = torch.randn(16, (T - 1) // 8 + 1, H // 8, W // 8, generator=gen) if with_latents else None
        trajs.append(TrajectoryVideo(name, frames, cams[name], depth, mask, latents, times))
    if dynamic:
        for traj in list(trajs):
            c = traj.cameras
            flipped = type(c)(c.c2w.flip(0), c.K.flip(0), c.width, c.height)
            latents = None if traj.latents is None else traj.latents.clone()
            trajs.append(TrajectoryVideo(f"{traj.name}_flipped", traj.frames.flip(0).clone(), flipped, traj.depth.clone(), None, latents, times))
    verts = torch.rand(8, 3, generator=gen)
    faces = torch.tensor([[0, 1, 2], [2, 3, 4], [5, 6, 7]])
    meshes = [TriangleMesh(verts + i, faces) for i in range(3 if dynamic else 1)]
    return TeacherOutput(
        trajectories=trajs,
        codec="dct-t8",
        depth_is_metric=True,
        world_from_scene=torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0])),
        meshes=meshes,
        mesh_times=torch.tensor([0.0, 0.5, 1.0]) if dynamic else None,
        description={"prompt": "a small room", "seed": seed, "objects": [{"kind": "box", "size": [1, 2, 3]}]},
    )
