"""Tiny worlds for the viewer tests, written the way ``lyra-sim generate`` lays a world out:
``scene.ply`` (scene frame), ``report.json`` (``frame.sim_from_scene``, spawn points),
``collider.obj`` (sim frame)."""

import json
import math
from pathlib import Path

import numpy as np
import torch

from lyra_sim.export.mesh_io import write_obj
from lyra_sim.gaussians import GaussianScene, write_ply

RED = (1.0, 0.0, 0.0)
GREEN = (0.0, 1.0, 0.0)

# Scene frame (OpenCV-like, y down, units of 0.5 m) -> sim frame (Z up, metres): x_sim = 2 R x + t,
# R turning scene -y (up) onto sim +z.
SIM_FROM_SCENE = np.array([
    [2.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 2.0, 0.0],
    [0.0, -2.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
])


def two_colour_scene(per_colour: int = 600, seed: int = 0) -> GaussianScene:
    """Saturated red Gaussians on the sim -x side, green on the +x side, 0.25-0.75 m up, in the
    *scene* frame (``SIM_FROM_SCENE`` maps them to the sim frame)."""
    g = torch.Generator().manual_seed(seed)
    sim = []
    for x0 in (-0.5, 0.5):
        p = torch.rand(per_colour, 3, generator=g) * torch.tensor([0.8, 0.8, 0.5]) + torch.tensor([x0 - 0.4, -0.4, 0.25])
        sim.append(p)
    sim = torch.cat(sim).double()
    m = torch.from_numpy(SIM_FROM_SCENE)
    scene_pts = (sim - m[:3, 3]) @ torch.linalg.inv(m[:3, :3]).T
    n = len(sim)
    rgb = torch.tensor([RED] * per_colour + [GREEN] * per_colour)
    return GaussianScene.from_rgb(scene_pts.float(), torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
                                  torch.full((n, 3), 0.03), torch.full((n,), 0.95), rgb)


def box_mesh(lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """A closed axis-aligned box (12 triangles) from corner ``lo`` to ``hi``, metres."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    v = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return v, f


def write_generated_world(out: Path, times: list[float] | None = None) -> Path:
    """A generated-world folder: the two-colour scene (one ``scene_t*.ply`` per time when
    ``times``), a box collider around it (sim frame), two spawn points, report.json."""
    out.mkdir(parents=True, exist_ok=True)
    scene = two_colour_scene()
    if times:
        for i, t in enumerate(times):
            moved = GaussianScene(scene.means + torch.tensor([0.0, -0.1 * i, 0.0]), scene.quats, scene.scales, scene.opacities, scene.sh)
            write_ply(moved, out / f"scene_t{t:.3f}.ply")
    else:
        write_ply(scene, out / "scene.ply")
    write_obj(*box_mesh([-1.2, -1.0, 0.0], [1.2, 1.0, 1.2]), out / "collider.obj")
    report = {"frame": {"mode": "sim", "sim_from_scene": SIM_FROM_SCENE.tolist()},
              "spawn_points": [{"position": [-0.8, 0.7, 0.0], "clearance": 0.3, "headroom": None, "normal": [0, 0, 1]},
                               {"position": [0.8, 0.7, 0.0], "clearance": 0.3, "headroom": None, "normal": [0, 0, 1]}]}
    (out / "report.json").write_text(json.dumps(report))
    return out


def write_camera_file(out: Path) -> Path:
    """A ``camera_paths.json`` with one 5-camera path looking at the scene from -y (sim frame)."""
    c2w = []
    for i in range(5):
        m = np.eye(4)
        # OpenCV camera: x right, y down, z forward; forward = +y_sim, down = -z_sim.
        m[:3, :3] = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float)
        m[:3, 3] = [-0.8 + 0.4 * i, -2.0, 1.0]
        c2w.append(m.tolist())
    path = out / "camera_paths.json"
    path.write_text(json.dumps({"frame": "sim", "convention": "opencv_c2w",
                                "paths": [{"name": "orbit", "fov_y_degrees": math.degrees(1.0), "aspect": 1.5, "c2w": c2w}]}))
    return path
