"""Image, depth and geometry metrics on inputs with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from lyra_sim.cameras import Cameras, depth_to_points, intrinsics_matrix
from lyra_sim.eval import chamfer_fscore, depth_metrics, psnr, sample_mesh_points, ssim, visible_points
from lyra_sim.eval.geometry import sample_triangle_points, triangles_in_box


def test_psnr_known_values():
    a = torch.rand(2, 3, 8, 9)
    assert torch.isinf(psnr(a, a)).all()
    assert torch.allclose(psnr(a, a, max_db=100.0), torch.full((2,), 100.0))
    pred, target = torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), 0.6)
    assert float(psnr(pred, target)[0]) == pytest.approx(20.0, abs=1e-4)  # mse 0.01
    # clipped to [0, 1] first, as Lyra's eval does
    assert float(psnr(torch.full((1, 3, 4, 4), 1.7), torch.ones(1, 3, 4, 4), max_db=100.0)[0]) == 100.0


def test_ssim_identity_and_ordering():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(4, 3, 24, 24, generator=g)
    assert torch.allclose(ssim(a, a), torch.ones(4), atol=1e-6)
    noisy = (a + 0.05 * torch.randn(a.shape, generator=g)).clamp(0, 1)
    noisier = (a + 0.3 * torch.randn(a.shape, generator=g)).clamp(0, 1)
    assert (ssim(noisier, a) < ssim(noisy, a)).all() and (ssim(noisy, a) < 1).all()


def grid_points(n=6, spacing=1.0):
    r = torch.arange(n, dtype=torch.float64) * spacing
    return torch.stack(torch.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)


def test_chamfer_fscore_identical_and_shifted():
    pts = grid_points()
    same = chamfer_fscore(pts, pts)
    assert same["chamfer"] == 0.0 and same["fscore"] == 1.0 and same["precision"] == same["recall"] == 1.0
    shift = torch.tensor([0.03, 0.0, 0.0], dtype=torch.float64)
    near = chamfer_fscore(pts + shift, pts, threshold=0.05)
    assert near["chamfer"] == pytest.approx(0.03) and near["fscore"] == 1.0
    far = chamfer_fscore(pts + 2 * shift + torch.tensor([0.01, 0, 0], dtype=torch.float64), pts, threshold=0.05)
    assert far["chamfer"] == pytest.approx(0.07) and far["fscore"] == 0.0
    # half the prediction missing: precision 1, recall 1/2, F = 2/3; completeness grows
    half = pts[pts[:, 0] < 2.5]
    part = chamfer_fscore(half, pts)
    assert part["precision"] == 1.0 and part["recall"] == pytest.approx(0.5) and part["fscore"] == pytest.approx(2 / 3)
    assert part["accuracy"] == 0.0 and part["completeness"] > 0


def test_mesh_sampling_is_area_uniform():
    # two disjoint triangles with areas 3 : 1 in the z = 0 plane
    v = torch.tensor([[0, 0, 0], [3, 0, 0], [0, 2, 0], [10, 0, 0], [11, 0, 0], [10, 2, 0]], dtype=torch.float32)
    f = torch.tensor([[0, 1, 2], [3, 4, 5]])
    g = torch.Generator().manual_seed(0)
    pts = sample_mesh_points(v, f, 40_000, g)
    assert pts.shape == (40_000, 3) and pts.dtype == torch.float32 and (pts[:, 2] == 0).all()
    assert float((pts[:, 0] < 5).double().mean()) == pytest.approx(0.75, abs=0.01)
    first = pts[pts[:, 0] < 5]
    assert ((first[:, 0] / 3 + first[:, 1] / 2) <= 1 + 1e-5).all()  # inside the triangle
    # uniform inside a triangle: the mean is the centroid
    assert torch.allclose(first[:, :2].double().mean(0), torch.tensor([1.0, 2 / 3], dtype=torch.float64), atol=0.02)


def test_triangles_in_box_cover_the_box_part_of_a_huge_mesh():
    v = torch.tensor([[-100, -100, 0], [100, -100, 0], [100, 100, 0], [-100, 100, 0]], dtype=torch.float64)
    f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    lo, hi = torch.tensor([1.0, 2.0, -0.5], dtype=torch.float64), torch.tensor([2.0, 3.0, 0.5], dtype=torch.float64)
    soup = triangles_in_box(v, f, lo, hi)
    area = torch.linalg.cross(soup[:, 1] - soup[:, 0], soup[:, 2] - soup[:, 0], dim=-1).norm(dim=-1).sum() / 2
    assert 1.0 <= float(area) < 20.0  # covers the 1 m^2 in the box, not the 40,000 m^2 plane
    pts = sample_triangle_points(soup, 20_000, torch.Generator().manual_seed(0))
    inside = ((pts >= lo) & (pts <= hi)).all(1).double().mean()
    assert float(inside) > 0.05


def test_depth_metrics_after_alignment():
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(2, 10, 12, generator=g) * 4 + 1
    gt[0, 0] = 0  # unknown
    m = depth_metrics(2.5 * gt + 0.7, gt)
    assert torch.allclose(m["abs_rel"], torch.zeros(2, dtype=torch.float64), atol=1e-6)  # float32 input
    assert torch.allclose(m["delta1"], torch.ones(2, dtype=torch.float64))
    assert torch.allclose(m["scale"], torch.full((2,), 1 / 2.5, dtype=torch.float64), atol=1e-6)
    noisy = gt.clone()
    noisy[1, 5, 5] = 100.0
    assert float(depth_metrics(noisy, gt)["abs_rel"][1]) > 0.01
    assert math.isnan(float(depth_metrics(gt, torch.zeros_like(gt))["abs_rel"][0]))


def test_unprojection_and_visibility():
    K = intrinsics_matrix(20.0, 20.0, 8.0, 6.0)
    cams = Cameras(torch.eye(4)[None], K, 16, 12)
    depth = torch.full((1, 12, 16), 2.0)
    pts = depth_to_points(depth, cams)
    assert pts.shape == (192, 3) and torch.allclose(pts[:, 2], torch.full((192,), 2.0))
    assert float(pts[:, 0].min()) == pytest.approx((0.5 - 8) / 20 * 2)
    behind = pts + torch.tensor([0.0, 0.0, 1.0])  # occluded by the plane the depth map shows
    outside = torch.tensor([[10.0, 0.0, 2.0], [0.0, 0.0, -2.0]])
    seen = visible_points(torch.cat([pts, behind, outside]), cams, depth)
    assert seen[:192].all() and not seen[192:].any()


def test_visibility_with_normals_hides_the_back_of_a_thin_plank_but_keeps_a_grazing_floor():
    # A camera at the origin looking down +z (OpenCV) at a 3 cm plank 10 m away, its front face
    # filling the view: the depth map shows the front face at 10 m (a pixel spans 10 cm there).
    K = intrinsics_matrix(100.0, 100.0, 80.0, 60.0)
    cams = Cameras(torch.eye(4, dtype=torch.float64)[None], K[None].double(), 160, 120)
    depth = torch.full((1, 120, 160), 10.0, dtype=torch.float64)
    front = depth_to_points(depth, cams)
    front = front[front[:, :2].norm(dim=-1) < 1.0]  # near the axis: incidence under 6 degrees
    back = front * (10.03 / 10.0)  # the plank's back face, 3 cm behind along each ray
    facing_camera = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64).expand(len(front), 3)
    points, normals = torch.cat([front, back]), torch.cat([facing_camera, facing_camera])
    loose = visible_points(points, cams, depth)  # 2 cm + 2 % of z: 22 cm admits the back face
    assert loose.all()
    exact = visible_points(points, cams, depth, abs_tol=0.01, normals=normals)
    assert exact[: len(front)].all() and not exact[len(front):].any()
    # A floor 1.6 m below the camera seen at grazing incidence 10-20 m ahead: its depth changes by
    # tens of centimetres across a pixel, so the nearest pixel's depth differs from the point's.
    rays_v = torch.arange(61, 120, dtype=torch.float64) + 0.5  # rows below the horizon (cy = 60)
    z_floor = 1.6 * 100.0 / (rays_v - 60.0)  # z where each row's centre ray meets the floor (y = 1.6)
    floor_depth = torch.zeros(1, 120, 160, dtype=torch.float64)
    floor_depth[0, 61:] = z_floor[:, None]
    z = torch.linspace(10.0, 20.0, 50, dtype=torch.float64)
    floor = torch.stack([torch.zeros_like(z), torch.full_like(z, 1.6), z], -1)  # between row centres
    up = torch.tensor([[0.0, -1.0, 0.0]], dtype=torch.float64).expand(len(z), 3)
    assert visible_points(floor, cams, floor_depth, abs_tol=0.01, normals=up).all()
    assert not visible_points(floor, cams, floor_depth, rel_tol=0.0, abs_tol=0.01).all()  # without the incidence term


def test_decoded_depth_metrics_are_metric_and_count_near_sky_splats():
    from lyra_sim.eval import decoded_depth_metrics

    teacher = torch.full((1, 8, 8), 4.0)
    teacher[:, :, 4:] = 0.0  # right half is sky
    decoded = torch.tensor([[[5.0, 25.0], [3.0, 10.0]]])  # left column on surfaces, right column on sky
    m = decoded_depth_metrics(decoded, teacher)
    assert m["abs_rel"] == pytest.approx((1.0 / 4 + 1.0 / 4) / 2)  # no alignment: 5 m and 3 m vs 4 m
    assert m["median_error_m"] == pytest.approx(1.0)
    assert m["sky_rays_near"] == pytest.approx(0.5)  # 10 m would be fused, 25 m would not
    assert decoded_depth_metrics(decoded, teacher, sky_near_m=30.0)["sky_rays_near"] == 1.0
    # a decoder off by a constant factor is not forgiven (the aligned metrics would be 0)
    assert decoded_depth_metrics(torch.full((1, 2, 2), 8.0), torch.full((1, 8, 8), 4.0))["abs_rel"] == pytest.approx(1.0)


def test_front_only_visibility_hides_the_back_face_of_a_wall_seen_at_grazing_incidence():
    # A camera at the origin looking down +z at a wall in the plane x = 2 (its face toward the
    # camera at x = 2, normal -x; its back 20 cm further, normal +x), 10-20 m ahead: incidence
    # 80-84 degrees, where the grazing tolerance spans more than the wall's thickness.
    K = intrinsics_matrix(50.0, 50.0, 80.0, 48.0)
    cams = Cameras(torch.eye(4, dtype=torch.float64)[None], K[None].double(), 160, 96)
    u = torch.arange(160, dtype=torch.float64) + 0.5
    z_wall = 2.0 * 50.0 / (u - 80.0)  # where each column's rays meet x = 2
    depth = torch.where((u > 80.0) & (z_wall < 40.0), z_wall, torch.zeros_like(u)).expand(1, 96, 160).clone()
    z = torch.linspace(10.0, 20.0, 40, dtype=torch.float64)
    front = torch.stack([torch.full_like(z, 2.0), torch.zeros_like(z), z], -1)
    back = front + torch.tensor([0.2, 0.0, 0.0], dtype=torch.float64)
    n_front = torch.tensor([[-1.0, 0.0, 0.0]], dtype=torch.float64).expand(len(z), 3)
    points, normals = torch.cat([front, back]), torch.cat([n_front, -n_front])
    either = visible_points(points, cams, depth, abs_tol=0.01, normals=normals)
    assert either[len(z):].any()  # the grazing tolerance alone admits the unseeable back face
    front_only = visible_points(points, cams, depth, abs_tol=0.01, normals=normals, front_only=True)
    assert front_only[: len(z)].all() and not front_only[len(z):].any()
