"""The collider as OBJ (text) and GLB (binary glTF 2.0), written with trimesh.

Both files are in the sim frame (Z up, metres). glTF is Y-up by specification, so the GLB's
single node carries the rotation Z-up -> Y-up (``x, y, z -> x, z, -y``) and the vertex data
stays as in the USD collider; importers that honour node transforms (Blender, three.js, trimesh)
show it upright. Meshes are built with ``process=False`` so trimesh keeps the vertices and
triangles exactly as given (no merging, reordering or normal computation); neither file holds
normals, colours or textures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lyra_sim.io.atomic import atomic_output

Z_UP_TO_Y_UP = [1, 0, 0, 0, 0, 0, -1, 0, 0, 1, 0, 0, 0, 0, 0, 1]
"""Column-major 4x4 rotation taking Z-up to glTF's Y-up: (x, y, z) -> (x, z, -y)."""


def _trimesh(vertices: np.ndarray, faces: np.ndarray):
    import trimesh  # imported on use: loading it costs ~0.3 s that most commands do not need

    v = np.asarray(vertices, np.float64).reshape(-1, 3)
    f = np.asarray(faces, np.int64).reshape(-1, 3)
    return trimesh, trimesh.Trimesh(v, f, process=False, validate=False)


def write_obj(vertices: np.ndarray, faces: np.ndarray, path: str | Path, overwrite: bool = False) -> Path:
    """Wavefront OBJ: ``v x y z`` lines (6 decimals, metres) then 1-based ``f a b c`` lines.

    Args:
        vertices: ``[V, 3]`` positions, Z up, metres.
        faces: ``[F, 3]`` 0-based triangle vertex indices.
    """
    trimesh, mesh = _trimesh(vertices, faces)
    text = trimesh.exchange.obj.export_obj(
        mesh, include_normals=False, include_color=False, include_texture=False, digits=6,
        header=f"lyra-sim collider: {len(mesh.vertices)} vertices, {len(mesh.faces)} triangles, Z up, metres",
    )
    with atomic_output(path, overwrite) as tmp:
        Path(tmp).write_text(text)
    return Path(path)


def read_obj(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and triangle faces of a triangle-only OBJ (as :func:`write_obj` writes it)."""
    verts, faces = [], []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            verts.append([float(x) for x in parts[1:4]])
        elif parts[0] == "f":
            faces.append([int(x.split("/")[0]) - 1 for x in parts[1:4]])
    return np.asarray(verts, np.float64).reshape(-1, 3), np.asarray(faces, np.int64).reshape(-1, 3)


def write_glb(vertices: np.ndarray, faces: np.ndarray, path: str | Path, overwrite: bool = False) -> Path:
    """Binary glTF 2.0 with one mesh (float32 positions, uint32 indices) under a Z-up node.

    Args:
        vertices: ``[V, 3]`` positions, Z up, metres (stored as given; the node rotates them).
        faces: ``[F, 3]`` 0-based triangle vertex indices.
    """
    trimesh, mesh = _trimesh(vertices, faces)
    scene = trimesh.Scene()
    transform = np.asarray(Z_UP_TO_Y_UP, np.float64).reshape(4, 4).T  # column-major -> matrix
    scene.add_geometry(mesh, node_name="collider", geom_name="collider", transform=transform)
    data = trimesh.exchange.gltf.export_glb(scene, include_normals=False)
    with atomic_output(path, overwrite) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)
