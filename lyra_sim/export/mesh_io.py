"""The collider as OBJ (text) and GLB (binary glTF 2.0), written without extra dependencies.

Both files are in the sim frame (Z up, metres). glTF is Y-up by specification, so the GLB's
single node carries the rotation Z-up -> Y-up (``x, y, z -> x, z, -y``) and the vertex data
stays as in the USD collider; importers that honour node transforms (Blender, three.js, trimesh)
show it upright.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from lyra_sim.io.atomic import atomic_output

Z_UP_TO_Y_UP = [1, 0, 0, 0, 0, 0, -1, 0, 0, 1, 0, 0, 0, 0, 0, 1]
"""Column-major 4x4 rotation taking Z-up to glTF's Y-up: (x, y, z) -> (x, z, -y)."""


def write_obj(vertices: np.ndarray, faces: np.ndarray, path: str | Path, overwrite: bool = False) -> Path:
    """Wavefront OBJ: ``v x y z`` lines then 1-based ``f a b c`` lines."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64) + 1
    with atomic_output(path, overwrite) as tmp, open(tmp, "w") as fh:
        fh.write(f"# lyra-sim collider: {len(v)} vertices, {len(f)} triangles, Z up, metres\n")
        np.savetxt(fh, v, fmt="v %.6f %.6f %.6f")
        np.savetxt(fh, f, fmt="f %d %d %d")
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
    """Binary glTF 2.0 with one mesh (float32 positions, uint32 indices) under a Z-up node."""
    pos = np.ascontiguousarray(vertices, dtype=np.float32)
    idx = np.ascontiguousarray(faces, dtype=np.uint32).ravel()
    pos_bytes, idx_bytes = pos.tobytes(), idx.tobytes()
    pad = lambda b, fill=b"\x00": b + fill * ((4 - len(b) % 4) % 4)
    binary = pad(pos_bytes) + pad(idx_bytes)
    gltf = {
        "asset": {"version": "2.0", "generator": "lyra-sim"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "collider", "matrix": Z_UP_TO_Y_UP}],
        "meshes": [{"name": "collider", "primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "mode": 4}]}],
        "buffers": [{"byteLength": len(binary)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(pos_bytes), "target": 34962},
            {"buffer": 0, "byteOffset": len(pad(pos_bytes)), "byteLength": len(idx_bytes), "target": 34963},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(pos), "type": "VEC3",
             "min": pos.min(0).tolist() if len(pos) else [0, 0, 0], "max": pos.max(0).tolist() if len(pos) else [0, 0, 0]},
            {"bufferView": 1, "componentType": 5125, "count": int(idx.size), "type": "SCALAR"},
        ],
    }
    js = pad(json.dumps(gltf, separators=(",", ":")).encode(), b" ")
    total = 12 + 8 + len(js) + 8 + len(binary)
    with atomic_output(path, overwrite) as tmp, open(tmp, "wb") as fh:
        fh.write(struct.pack("<4sII", b"glTF", 2, total))
        fh.write(struct.pack("<I4s", len(js), b"JSON") + js)
        fh.write(struct.pack("<I4s", len(binary), b"BIN\x00") + binary)
    return Path(path)
