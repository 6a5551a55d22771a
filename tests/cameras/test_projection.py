"""Projection and depth unprojection: the pixel-centre convention, both ways."""

import pytest
import torch

from lyra_sim.cameras import (
    Cameras,
    depth_normals,
    depth_to_points,
    intrinsics_matrix,
    look_at,
    project_points,
    project_to_pixels,
    unproject_depth,
)
from lyra_sim.errors import InvalidInputError


def _cameras(V=2, W=8, H=6):
    eyes = torch.tensor([[0.0, -3.0, 1.0], [1.0, -2.5, 1.5]])[:V]
    c2w = torch.stack([look_at(e, torch.zeros(3), down=(0.0, 0.0, -1.0)) for e in eyes]).double()
    K = torch.stack([intrinsics_matrix(6.0, 5.0, W / 2, H / 2)] * V).double()
    return Cameras(c2w, K, W, H)


def test_unprojected_pixels_project_back_onto_their_centres():
    cams = _cameras()
    depth = torch.rand(2, 6, 8, dtype=torch.float64) * 3 + 0.5
    pts = unproject_depth(depth, cams.K, cams.c2w)  # [V, H, W, 3]
    for v in range(2):
        uv, z = project_points(pts[v], cams.w2c[v], cams.K[v])
        torch.testing.assert_close(z, depth[v])
        rows, cols = torch.meshgrid(torch.arange(6.0, dtype=torch.float64), torch.arange(8.0, dtype=torch.float64), indexing="ij")
        torch.testing.assert_close(uv, torch.stack([cols + 0.5, rows + 0.5], -1), atol=1e-5, rtol=0)
        idx, lin, _ = project_to_pixels(pts[v].reshape(-1, 3), cams.w2c[v], cams.K[v], 8, 6)
        assert torch.equal(idx, torch.arange(48)) and torch.equal(lin, torch.arange(48))
    # One view without a batch dimension gives the same points.
    torch.testing.assert_close(unproject_depth(depth[1], cams.K[1], cams.c2w[1]), pts[1])


def test_depth_to_points_keeps_valid_masked_pixels_only():
    cams = _cameras()
    depth = torch.ones(2, 6, 8, dtype=torch.float64)
    depth[0, 0, 0], depth[1, 2, 3] = 0.0, float("nan")
    mask = torch.ones(2, 6, 8, dtype=torch.bool)
    mask[1, 5] = False
    assert depth_to_points(depth, cams).shape == (94, 3)
    assert depth_to_points(depth, cams, mask).shape == (86, 3)
    with pytest.raises(InvalidInputError, match="does not match"):
        depth_to_points(depth[:1], cams)


def test_depth_normals_face_the_camera_and_keep_to_their_side_of_a_depth_edge():
    cams = Cameras(torch.eye(4)[None], intrinsics_matrix(20.0, 20.0, 8.0, 6.0)[None], 16, 12)
    depth = torch.full((1, 12, 16), 2.0)
    depth[0, :, 8:] = 5.0  # a wall 3 m behind the left half's, the edge between columns 7 and 8
    valid = depth > 0
    valid[0, 0, 0] = False
    points = unproject_depth(depth, cams.K, cams.c2w)
    normals, ok = depth_normals(points, valid, cams.c2w[:, :3, 3])
    facing = torch.tensor([0.0, 0.0, -1.0])
    assert ok[0, 1:, 1:].all() and not ok[0, 0, 0]
    assert torch.allclose(normals[ok], facing.expand(int(ok.sum()), 3), atol=1e-5)  # the edge columns included
