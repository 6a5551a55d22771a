"""Triangle meshes of procedural scenes: the ground truth that later stages are scored against.

Every surface is wound counter-clockwise seen from outside (closed primitives' normals point out
of them, the ground's and the terrain's up), so scoring can tell a surface's front from its back.
Boxes and planes are exact; spheres, cylinders and the terrain are tessellated finely enough
that the mesh is within a few millimetres of the analytic surface the ray caster renders
(sphere/cylinder chord error r (1 - cos(pi/segments)); terrain: the bilinear patches are split
along a diagonal). The ground plane becomes a square of ``ground_extent`` metres.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lyra_sim.teachers.base import TriangleMesh
from lyra_sim.teachers.procedural.scene import Primitive, SceneDescription

_BOX_FACES = torch.tensor(
    [[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4], [2, 3, 7], [2, 7, 6], [1, 2, 6], [1, 6, 5], [0, 4, 7], [0, 7, 3]]
)


def _box(p: Primitive) -> tuple[Tensor, Tensor]:
    hx, hy, hz = p.size
    corners = torch.tensor(
        [[-hx, -hy, -hz], [hx, -hy, -hz], [hx, hy, -hz], [-hx, hy, -hz], [-hx, -hy, hz], [hx, -hy, hz], [hx, hy, hz], [-hx, hy, hz]],
        dtype=torch.float64,
    )
    c, s = math.cos(p.yaw), math.sin(p.yaw)
    rot = torch.tensor([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=torch.float64)
    return corners @ rot.T + torch.tensor(p.center, dtype=torch.float64), _BOX_FACES.clone()


def _grid_faces(rows: int, cols: int, wrap: bool) -> Tensor:
    """Two triangles per cell of a rows x cols vertex grid (columns wrap around if ``wrap``)."""
    faces = []
    for j in range(rows - 1):
        for i in range(cols if wrap else cols - 1):
            a, b = j * cols + i, j * cols + (i + 1) % cols
            c, d = a + cols, b + cols
            faces += [[a, b, d], [a, d, c]]
    return torch.tensor(faces, dtype=torch.long)


def _sphere(p: Primitive, segments: int = 48) -> tuple[Tensor, Tensor]:
    rings = segments // 2
    theta = torch.linspace(0, math.pi, rings + 1, dtype=torch.float64)
    phi = torch.arange(segments, dtype=torch.float64) * 2 * math.pi / segments
    t, f = torch.meshgrid(theta, phi, indexing="ij")
    verts = torch.stack([torch.sin(t) * torch.cos(f), torch.sin(t) * torch.sin(f), torch.cos(t)], -1).reshape(-1, 3)
    faces = _grid_faces(rings + 1, segments, wrap=True).flip(1)  # the grid's winding faces the centre
    return verts * p.size[0] + torch.tensor(p.center, dtype=torch.float64), faces


def _cylinder(p: Primitive, segments: int = 48) -> tuple[Tensor, Tensor]:
    r, h = p.size[0], p.size[2]
    phi = torch.arange(segments, dtype=torch.float64) * 2 * math.pi / segments
    ring = torch.stack([r * torch.cos(phi), r * torch.sin(phi)], -1)
    bottom = torch.cat([ring, torch.zeros(segments, 1, dtype=torch.float64)], -1)
    top = torch.cat([ring, torch.full((segments, 1), h, dtype=torch.float64)], -1)
    centers = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, h]], dtype=torch.float64)
    verts = torch.cat([bottom, top, centers]) + torch.tensor(p.center, dtype=torch.float64)
    side = _grid_faces(2, segments, wrap=True)
    i = torch.arange(segments)
    cap_b = torch.stack([torch.full_like(i, 2 * segments), (i + 1) % segments, i], -1)
    cap_t = torch.stack([torch.full_like(i, 2 * segments + 1), segments + i, segments + (i + 1) % segments], -1)
    return verts, torch.cat([side, cap_b, cap_t])


def _terrain(p: Primitive) -> tuple[Tensor, Tensor]:
    h = torch.tensor(p.heights, dtype=torch.float64)
    ny, nx = h.shape
    xmin, ymin, xmax, ymax = p.extent
    ys, xs = torch.meshgrid(torch.linspace(ymin, ymax, ny, dtype=torch.float64), torch.linspace(xmin, xmax, nx, dtype=torch.float64), indexing="ij")
    return torch.stack([xs, ys, h], -1).reshape(-1, 3), _grid_faces(ny, nx, wrap=False)


def _plane(p: Primitive, extent: float) -> tuple[Tensor, Tensor]:
    e, z = extent / 2, p.center[2]
    verts = torch.tensor([[-e, -e, z], [e, -e, z], [e, e, z], [-e, e, z]], dtype=torch.float64)
    return verts, torch.tensor([[0, 1, 2], [0, 2, 3]])


def scene_mesh(desc: SceneDescription, ground_extent: float = 80.0, segments: int = 48) -> TriangleMesh:
    """All primitives of ``desc`` as one triangle mesh in its Z-up world frame (float64)."""
    verts, faces, offset = [], [], 0
    for p in desc.primitives:
        if p.kind == "box":
            v, f = _box(p)
        elif p.kind == "sphere":
            v, f = _sphere(p, segments)
        elif p.kind == "cylinder":
            v, f = _cylinder(p, segments)
        elif p.kind == "terrain":
            v, f = _terrain(p)
        else:
            v, f = _plane(p, ground_extent)
        verts.append(v)
        faces.append(f + offset)
        offset += len(v)
    return TriangleMesh(torch.cat(verts), torch.cat(faces))


def transform_mesh(mesh: TriangleMesh, matrix: Tensor) -> TriangleMesh:
    """Apply a 4x4 transform to the vertices."""
    m = matrix.to(mesh.vertices)
    return TriangleMesh(mesh.vertices @ m[:3, :3].T + m[:3, 3], mesh.faces)
