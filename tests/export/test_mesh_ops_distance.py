"""mesh_ops.point_mesh_distance: exact point-to-triangle distances, checked against brute force."""

from __future__ import annotations

import numpy as np

from lyra_sim.export import mesh_ops


def brute_force(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Every point against every triangle (the definition the fast search must reproduce)."""
    tri = vertices[faces]
    return np.array([mesh_ops._pair_distance(np.repeat(p[None], len(tri), 0), tri).min() for p in points])


def mixed_mesh(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 10 m floor of two triangles plus 2,000 small scattered triangles (sizes 4 orders apart)."""
    floor = np.array([[-5, -5, 0], [5, -5, 0], [5, 5, 0], [-5, 5, 0]], float)
    centres = rng.uniform([-3, -3, 0], [3, 3, 2], (2000, 3))
    small = (centres[:, None] + rng.normal(0, 0.02, (2000, 3, 3))).reshape(-1, 3)
    faces = np.concatenate([[[0, 1, 2], [0, 2, 3]], 4 + np.arange(len(small)).reshape(-1, 3)])
    return np.concatenate([floor, small]), faces


def test_matches_brute_force_on_a_mesh_of_mixed_triangle_sizes():
    rng = np.random.default_rng(0)
    vertices, faces = mixed_mesh(rng)
    points = rng.uniform([-7, -7, -1], [7, 7, 3], (400, 3))  # inside, above, below and beyond the floor
    fast = mesh_ops.point_mesh_distance(points, vertices, faces, chunk=64)
    np.testing.assert_allclose(fast, brute_force(points, vertices, faces), rtol=0, atol=1e-12)


def test_known_distances_to_a_single_triangle():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], float)
    faces = np.array([[0, 1, 2]])
    points = np.array([[0.2, 0.2, 0.5],   # above the face: its height
                       [2.0, 0.0, 0.0],   # beyond vertex b: 1 m
                       [0.5, -0.3, 0.0],  # beside edge ab: 0.3 m
                       [1.0, 1.0, 0.0]])  # beside edge bc: sqrt(2)/2
    d = mesh_ops.point_mesh_distance(points, vertices, faces)
    np.testing.assert_allclose(d, [0.5, 1.0, 0.3, np.sqrt(2) / 2], atol=1e-12)


def test_empty_inputs():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], float)
    assert mesh_ops.point_mesh_distance(np.zeros((0, 3)), vertices, np.array([[0, 1, 2]])).shape == (0,)
    assert np.isinf(mesh_ops.point_mesh_distance(np.ones((2, 3)), vertices, np.zeros((0, 3), int))).all()
