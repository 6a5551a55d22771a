"""Test scenes for the export: procedural-teacher rooms and Lyra-like pixel-aligned Gaussians.

The procedural teacher ray-casts exact metric depth and knows ``world_from_scene``, so a scene
built from it has ground truth for the collider, the floor and the scale. ``pixel_gaussians``
stands in for Lyra's decoder: one flat Gaussian per (strided) pixel, on the surface, oriented
along the depth map's normal, coloured by the frame.
"""

from __future__ import annotations

import functools

import torch

from lyra_sim.cameras.rays import camera_rays
from lyra_sim.gaussians import GaussianScene
from lyra_sim.gaussians.quaternions import rotmat_to_quat
from lyra_sim.teachers import ProceduralTeacher, TeacherRequest


@functools.lru_cache(maxsize=4)
def room(frames: int = 3, width: int = 96, height: int = 64, prompt: str = "a living room", seed: int = 0):
    """A procedural-teacher output (cached: several tests share it)."""
    teacher = ProceduralTeacher(codec=False, shadows=False)
    return teacher.generate(TeacherRequest(prompt=prompt, num_frames=frames, width=width, height=height, seed=seed))


def pixel_gaussians(output, stride: int = 2, thickness: float = 0.1, opacity: float = 0.95) -> GaussianScene:
    """Flat, pixel-aligned Gaussians from every trajectory of a teacher output (scene frame)."""
    means, colours, normals, sizes = [], [], [], []
    for traj in output.trajectories:
        o, d = camera_rays(traj.cameras)
        fwd = traj.cameras.c2w[:, :3, 2]
        dist = traj.depth / (d * fwd[:, None, None]).sum(-1).clamp(min=1e-6)
        p = o + dist[..., None] * d  # [T, H, W, 3]
        # Normals from the point map (central differences), facing the camera.
        dx = torch.zeros_like(p)
        dy = torch.zeros_like(p)
        dx[:, :, 1:-1] = p[:, :, 2:] - p[:, :, :-2]
        dy[:, 1:-1] = p[:, 2:] - p[:, :-2]
        n = torch.nn.functional.normalize(torch.linalg.cross(dx, dy), dim=-1)
        n = torch.where(((n * d).sum(-1, keepdim=True) > 0), -n, n)
        ok = traj.mask.clone()
        ok[:, :, [0, -1]] = False
        ok[:, [0, -1]] = False
        # Depth edges give garbage normals: keep pixels whose neighbours lie near the same plane.
        flat = ((dx * n).sum(-1).abs() < 0.05 * dist) & ((dy * n).sum(-1).abs() < 0.05 * dist)
        ok &= flat
        sel = (slice(None), slice(None, None, stride), slice(None, None, stride))
        keep = ok[sel]
        means.append(p[sel][keep])
        colours.append(traj.frames.permute(0, 2, 3, 1)[sel][keep])
        normals.append(n[sel][keep])
        sizes.append((traj.depth / traj.cameras.fx[:, None, None])[sel][keep] * stride * 0.6)
    m, c, n, s = (torch.cat(x) for x in (means, colours, normals, sizes))
    # A frame whose third axis is the normal: the Gaussian is thin along it.
    helper = torch.where(n[:, :1].abs() < 0.9, torch.tensor([[1.0, 0, 0]]), torch.tensor([[0, 1.0, 0]]))
    a = torch.nn.functional.normalize(torch.linalg.cross(n, helper), dim=-1)
    b = torch.linalg.cross(n, a)
    rot = torch.stack([a, b, n], dim=-1)
    scales = torch.stack([s, s, s * thickness], dim=-1)
    return GaussianScene.from_rgb(m, rotmat_to_quat(rot), scales, torch.full((len(m),), opacity), c)


def ramp(degrees: float, rise: float, width: float = 4.0, spacing: float = 0.25, x0: float = 0.0):
    """A plane rising ``degrees`` along +x from z = 0 at x = ``x0`` to z = ``rise`` (metres), ``width``
    wide in y (centred on 0), triangulated on a ``spacing`` grid, normals up: ([V, 3], [F, 3])."""
    import numpy as np

    length = rise / np.tan(np.radians(degrees))
    nx, ny = int(np.ceil(length / spacing)), int(np.ceil(width / spacing))
    x, y = np.meshgrid(np.linspace(x0, x0 + length, nx + 1), np.linspace(-width / 2, width / 2, ny + 1))
    vertices = np.stack([x.ravel(), y.ravel(), (x.ravel() - x0) * np.tan(np.radians(degrees))], 1)
    a = (np.arange(ny)[:, None] * (nx + 1) + np.arange(nx)[None]).ravel()
    faces = np.concatenate([np.stack([a, a + 1, a + nx + 2], 1), np.stack([a, a + nx + 2, a + nx + 1], 1)])
    return vertices, faces


def write_terrain_scene(out, proxy, points):
    """An exported-scene folder ``out`` holding only physics: ``scene.usda`` with a physics scene,
    the static collider ``proxy`` (sim frame) and the spawn ``points``. Returns the USD path."""
    from pathlib import Path

    from lyra_sim.export.usd_gaussians import new_stage
    from lyra_sim.export.usd_physics import author_collider, author_physics_scene, author_spawn_points

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stage = new_stage()
    author_physics_scene(stage)
    author_collider(stage, proxy)
    author_spawn_points(stage, points)
    stage.GetRootLayer().Export(str(out / "scene.usda"))
    return out / "scene.usda"
