"""The triangle z-buffer: pixel-centre coverage, perspective-correct depth, face ids, cameras."""

import torch

from lyra_sim.cameras import Cameras, intrinsics_matrix, project_points
from lyra_sim.render.mesh_zbuffer import rasterize_mesh, rasterize_triangles


def _quad():
    """A quad of the plane z = 2 + 0.1 x seen by a camera with f = 10, c = (5, 5), as two triangles."""
    K = intrinsics_matrix(10.0, 10.0, 5.0, 5.0)
    corners = torch.tensor([[-0.8, -0.8], [0.8, -0.8], [-0.8, 0.8], [0.8, 0.8]])
    pts = torch.cat([corners, (2 + 0.1 * corners[:, :1])], 1)
    return K, pts, torch.tensor([[0, 1, 2], [1, 3, 2]])


def test_rasterize_triangles_covers_pixel_centres_with_perspective_correct_depth():
    K, pts, faces = _quad()
    uv, z = project_points(pts, torch.eye(4), K)
    v = torch.cat([uv, z[:, None]], 1)
    zbuf, face = rasterize_triangles(v[faces], 10, 10)
    covered = torch.isfinite(zbuf)
    assert covered[2:8, 2:8].all() and not covered[0].any() and not covered[:, 0].any()
    assert torch.equal(face >= 0, covered) and set(face[covered].tolist()) == {0, 1}
    # Exact depth of the plane along each covered pixel ray: z = 2 / (1 - 0.1 * x_n).
    xs = (torch.arange(10) + 0.5 - 5.0) / 10.0
    expected = (2 / (1 - 0.1 * xs))[None].expand(10, 10)
    assert torch.allclose(zbuf[covered], expected[covered], atol=1e-4)


def test_nearer_triangle_wins_and_triangles_behind_the_camera_are_skipped():
    tri = torch.tensor([[[0.0, 0.0, 2.0], [10.0, 0.0, 2.0], [0.0, 10.0, 2.0]]])
    near, behind = tri.clone(), tri.clone()
    near[..., 2], behind[..., 2] = 1.0, -1.0
    zbuf, face = rasterize_triangles(torch.cat([tri, near, behind]), 4, 4)
    assert (zbuf[face >= 0] == 1.0).all() and (face[face >= 0] == 1).all()


def test_rasterize_mesh_matches_the_screen_space_rasteriser():
    K, pts, faces = _quad()
    cams = Cameras(torch.eye(4)[None], K[None], 10, 10)
    depth, face = rasterize_mesh(pts.numpy(), faces.numpy(), cams)
    uv, z = project_points(pts, torch.eye(4), K)
    zbuf, want = rasterize_triangles(torch.cat([uv, z[:, None]], 1)[faces], 10, 10, near=1e-3)
    assert torch.equal(face[0], want) and torch.equal(depth[0] > 0, torch.isfinite(zbuf))
    torch.testing.assert_close(depth[0][face[0] >= 0], zbuf[want >= 0])
