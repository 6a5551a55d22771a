"""Build the bundled example scene: a small furnished room made of surface Gaussians.

    python scenes/example_room/make_scene.py --out scenes/example_room/scene.ply --overwrite

The room is written the way a generated scene is framed: the first (input) camera at the
origin looking down +z, OpenCV axes (x right, y down), metres. The floor is 1.2 m below the
camera (y = +1.2), the back wall 5 m ahead. Every surface is covered by flat Gaussians on a
jittered grid (thin along the surface normal), so the PLY renders like a trained 3DGS scene
and exercises the same code paths. Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from lyra_sim.gaussians import GaussianScene, write_ply
from lyra_sim.gaussians.quaternions import rotmat_to_quat

FLOOR_Y = 1.2


def surface_patch(origin, u, v, normal_sign, color_fn, spacing, gen):
    """Gaussians on the parallelogram origin + a u + b v (a, b in [0, 1]).

    Returns (means [n,3], quats [n,4], scales [n,3], colours [n,3]).
    """
    origin, u, v = (torch.tensor(x, dtype=torch.float64) for x in (origin, u, v))
    nu, nv = max(1, round(u.norm().item() / spacing)), max(1, round(v.norm().item() / spacing))
    a, b = torch.meshgrid((torch.arange(nu) + 0.5) / nu, (torch.arange(nv) + 0.5) / nv, indexing="ij")
    a = (a.flatten() + (torch.rand(nu * nv, generator=gen, dtype=torch.float64) - 0.5) * 0.6 / nu).clamp(0, 1)
    b = (b.flatten() + (torch.rand(nu * nv, generator=gen, dtype=torch.float64) - 0.5) * 0.6 / nv).clamp(0, 1)
    means = origin + a[:, None] * u + b[:, None] * v
    tu, tv = u / u.norm(), v / v.norm()
    normal = torch.linalg.cross(tu, tv) * normal_sign
    frame = torch.stack([tu, torch.linalg.cross(normal, tu), normal], dim=1)  # columns: tangent, bitangent, normal
    quats = rotmat_to_quat(frame)[None].expand(len(means), 4)
    scales = torch.tensor([0.6 * spacing, 0.6 * spacing, 0.08 * spacing], dtype=torch.float64).expand(len(means), 3)
    return means, quats, scales, color_fn(means)


def box(center, size, color, spacing, gen):
    """Five visible faces (no bottom) of an axis-aligned box resting on the floor."""
    cx, cz = center
    sx, sy, sz = size
    x0, x1, y0, _y1, z0, z1 = cx - sx / 2, cx + sx / 2, FLOOR_Y - sy, FLOOR_Y, cz - sz / 2, cz + sz / 2
    shade = lambda k: (lambda m: torch.tensor(color, dtype=torch.float64).expand(len(m), 3) * k)
    return [
        surface_patch((x0, y0, z0), (sx, 0, 0), (0, 0, sz), 1, shade(1.0), spacing, gen),  # top (y0), normal -y
        surface_patch((x0, y0, z0), (sx, 0, 0), (0, sy, 0), -1, shade(0.8), spacing, gen),  # front face, normal -z
        surface_patch((x0, y0, z1), (sx, 0, 0), (0, sy, 0), 1, shade(0.7), spacing, gen),  # back face
        surface_patch((x0, y0, z0), (0, 0, sz), (0, sy, 0), 1, shade(0.65), spacing, gen),  # left face
        surface_patch((x1, y0, z0), (0, 0, sz), (0, sy, 0), -1, shade(0.75), spacing, gen),  # right face
    ]


def sphere(center, radius, color, spacing, gen):
    n = max(16, int(4 * math.pi * radius**2 / spacing**2))
    i = torch.arange(n, dtype=torch.float64) + 0.5
    phi, theta = torch.acos(1 - 2 * i / n), math.pi * (1 + 5**0.5) * i
    normal = torch.stack([torch.cos(theta) * torch.sin(phi), torch.sin(theta) * torch.sin(phi), torch.cos(phi)], -1)
    means = torch.tensor(center, dtype=torch.float64) + radius * normal
    helper = torch.where(normal[:, :1].abs() < 0.9, torch.tensor([1.0, 0, 0], dtype=torch.float64), torch.tensor([0, 1.0, 0], dtype=torch.float64))
    t1 = torch.nn.functional.normalize(torch.linalg.cross(helper, normal), dim=-1)
    frame = torch.stack([t1, torch.linalg.cross(normal, t1), normal], dim=-1)
    shade = 0.55 + 0.45 * (-normal[:, 1]).clamp(min=0)  # lit from above
    colors = torch.tensor(color, dtype=torch.float64) * shade[:, None]
    scales = torch.tensor([0.6 * spacing, 0.6 * spacing, 0.08 * spacing], dtype=torch.float64).expand(n, 3)
    return [(means, rotmat_to_quat(frame), scales, colors)]


def build_room(spacing: float = 0.05, seed: int = 0) -> GaussianScene:
    gen = torch.Generator().manual_seed(seed)

    def checker(m):
        cell = (torch.floor(m[:, 0] / 0.5) + torch.floor(m[:, 2] / 0.5)) % 2
        return torch.where(cell[:, None] > 0, torch.tensor([0.78, 0.74, 0.66], dtype=torch.float64), torch.tensor([0.42, 0.36, 0.30], dtype=torch.float64))

    def wall(base):
        base_t = torch.tensor(base, dtype=torch.float64)
        return lambda m: base_t * (0.85 + 0.15 * ((FLOOR_Y - m[:, 1:2]) / 2.5).clamp(0, 1))

    parts = [
        surface_patch((-2.5, FLOOR_Y, 0.0), (5.0, 0, 0), (0, 0, 5.0), 1, checker, spacing, gen),  # floor, normal -y
        surface_patch((-2.5, FLOOR_Y - 2.5, 5.0), (5.0, 0, 0), (0, 2.5, 0), 1, wall((0.55, 0.68, 0.80)), spacing, gen),
        surface_patch((-2.5, FLOOR_Y - 2.5, 0.0), (0, 0, 5.0), (0, 2.5, 0), 1, wall((0.80, 0.72, 0.58)), spacing, gen),
        surface_patch((2.5, FLOOR_Y - 2.5, 0.0), (0, 0, 5.0), (0, 2.5, 0), -1, wall((0.66, 0.78, 0.62)), spacing, gen),
        *box((0.7, 3.0), (0.9, 0.75, 0.9), (0.70, 0.30, 0.20), spacing, gen),
        *box((1.7, 4.3), (0.6, 1.6, 0.6), (0.25, 0.35, 0.65), spacing, gen),
        *sphere((-0.9, FLOOR_Y - 0.35, 2.6), 0.35, (0.90, 0.80, 0.20), spacing, gen),
    ]
    means, quats, scales, colors = (torch.cat([p[k] for p in parts]) for k in range(4))
    colors = (colors + 0.02 * torch.randn(colors.shape, generator=gen, dtype=torch.float64)).clamp(0, 1)
    opacities = (0.85 + 0.1 * torch.rand(len(means), generator=gen, dtype=torch.float64))
    return GaussianScene.from_rgb(means, quats, scales, opacities, colors).to(dtype=torch.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("scene.ply"))
    parser.add_argument("--spacing", type=float, default=0.05, help="Gaussian spacing on surfaces, metres")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    scene = build_room(args.spacing, args.seed)
    write_ply(scene, args.out, overwrite=args.overwrite)
    print(f"wrote {len(scene):,} Gaussians to {args.out}")


if __name__ == "__main__":
    main()
