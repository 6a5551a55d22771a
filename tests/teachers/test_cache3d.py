"""The 3D cache: warped pixels land where exact ray-cast geometry says, disocclusions stay empty."""

from __future__ import annotations

import math

import pytest
import torch

from lyra_sim.cameras import Cameras, camera_rays, intrinsics_matrix, project_points, unproject_depth
from lyra_sim.errors import InvalidInputError
from lyra_sim.teachers.cache3d import (
    Cache3D,
    Cache3DCfg,
    forward_warp,
    reliable_depth_mask,
)
from lyra_sim.teachers.forward_splat import splat_points
from lyra_sim.teachers.procedural import ProceduralTeacher
from lyra_sim.teachers.procedural.raycast import PackedScene
from lyra_sim.teachers.procedural.scene import (
    CameraSpec,
    Material,
    Primitive,
    SceneDescription,
)
from lyra_sim.teachers.procedural.shading import MaterialTable


def _K(H, W, fov=60.0):
    f = 0.5 * H / math.tan(math.radians(fov) / 2)
    return intrinsics_matrix(f, f, W / 2, H / 2)


def _pose(t, yaw_deg=0.0):
    a = math.radians(yaw_deg)
    c2w = torch.eye(4)
    c2w[:3, :3] = torch.tensor([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    c2w[:3, 3] = torch.tensor(t)
    return c2w


def _plane_view(c2w, K, H, W, Z=2.0):
    """Exact render of the plane z = Z (scene frame) with a smooth colour field on it."""
    o, d = camera_rays(Cameras(c2w, K, W, H))
    o, d = o[0], d[0]
    t = (Z - o[..., 2]) / d[..., 2]
    p = o + t[..., None] * d
    x, y = p[..., 0], p[..., 1]
    colour = torch.stack([0.5 + 0.4 * torch.sin(3 * x), 0.5 + 0.4 * torch.cos(2.5 * y), 0.5 + 0.3 * torch.sin(2 * x + 2 * y)])
    return colour, t * (d @ c2w[:3, 2]), p


def test_fronto_parallel_plane_warps_onto_ray_cast_ground_truth():
    H, W = 48, 64
    K = _K(H, W)
    image, depth, _ = _plane_view(torch.eye(4), K, H, W)
    c2w = _pose([0.25, -0.1, 0.3], yaw_deg=6)
    gt, gt_depth, gt_points = _plane_view(c2w, K, H, W)
    out = Cache3D(image, depth, K).render(Cameras(c2w, K, W, H))
    assert out.frames.shape == (1, 3, H, W) and out.masks.shape == (1, H, W) and out.masks.dtype == torch.bool
    # Where B's ray hits the plane inside A's image (2 px in from A's border), and far outside it.
    uv, _ = project_points(gt_points, torch.eye(4), K)
    u, v = uv[..., 0], uv[..., 1]
    inside = (u > 2.5) & (u < W - 2.5) & (v > 2.5) & (v < H - 2.5)
    outside = (u < -1) | (u > W + 1) | (v < -1) | (v > H + 1)
    mask = out.masks[0]
    err = (out.frames[0] - gt).abs().mean(0)
    assert mask[inside].float().mean() > 0.99  # measured: 1.0
    assert not mask[outside].any() and outside.sum() > 100  # measured: 0 of 288
    assert err[mask & inside].mean() < 0.01  # measured: 0.0025 (colour in [0, 1])
    assert err[mask].max() < 0.05  # measured: 0.010
    assert (out.depth[0] - gt_depth).abs()[mask].max() < 0.02  # metres at 2 m; measured 0.004
    assert (out.frames[0][:, ~mask] == 0).all()


def test_warping_into_the_source_camera_reproduces_the_image():
    H, W = 24, 32
    K = _K(H, W)
    image, depth, _ = _plane_view(torch.eye(4), K, H, W)
    out = Cache3D(image, depth, K).render(Cameras(torch.eye(4), K, W, H))
    assert out.masks.all()
    assert torch.allclose(out.frames[0], image, atol=1e-5)
    assert torch.allclose(out.depth[0], depth, atol=1e-5)


def _box_scene():
    """A textured box in front of a wall on a floor (world Z up, metres)."""
    return SceneDescription(
        kind="test", prompt="box", seed=3,
        primitives=[
            Primitive("plane", center=(0, 0, 0), material=0),
            Primitive("box", center=(0, 3.0, 1.5), size=(4.0, 0.1, 1.5), material=1),
            Primitive("box", center=(0.0, 0.5, 0.5), size=(0.4, 0.4, 0.5), yaw=0.3, material=2),
        ],
        materials=[
            Material((0.5, 0.45, 0.4), "noise", (0.3, 0.3, 0.25), 0.7),
            Material((0.7, 0.7, 0.75), "noise", (0.4, 0.5, 0.6), 0.8),
            Material((0.8, 0.3, 0.2), "noise", (0.6, 0.2, 0.1), 0.3),
        ],
        camera=CameraSpec(eye=(0.0, -2.5, 1.3), target=(0.0, 1.0, 0.6), fov_y_degrees=60.0),
    )


def test_box_view_warps_onto_the_procedural_teachers_render():
    """Camera A renders the box scene; the cache of A is warped into B, which moved 0.5 m right.

    Ground truth from B's exact depth: a B pixel is co-visible when its surface point, seen from
    A, is what A saw there (depth within 3%); it is disoccluded when A saw something nearer.
    """
    H, W = 64, 96
    desc = _box_scene()
    teacher = ProceduralTeacher(codec=False)
    world_from_scene, K = teacher.input_camera(desc, W, H)
    packed, materials = [PackedScene.from_description(desc)], MaterialTable(desc)
    c2w_b = _pose([0.5, 0.0, 0.2])
    frames_a, depth_a, _ = teacher.render(desc, packed, materials, Cameras(torch.eye(4), K, W, H), world_from_scene)
    frames_b, depth_b, hit_b = teacher.render(desc, packed, materials, Cameras(c2w_b, K, W, H), world_from_scene)

    uv, z = project_points(unproject_depth(depth_b[0], K, c2w_b), torch.eye(4), K)
    j, i = (uv[..., 0] - 0.5).round().long(), (uv[..., 1] - 0.5).round().long()
    in_a = (j >= 0) & (j < W) & (i >= 0) & (i < H) & hit_b[0] & (z > 0)
    z_a = torch.zeros_like(z)
    z_a[in_a] = depth_a[0][i[in_a], j[in_a]]
    covisible = in_a & ((z_a - z).abs() < 0.03 * z)
    disoccluded = in_a & (z_a < 0.9 * z)
    assert covisible.float().mean() > 0.8 and disoccluded.sum() > 100  # the test has teeth

    for foreground_masking in (False, True):
        out = Cache3D(frames_a[0], depth_a[0], K, cfg=Cache3DCfg(foreground_masking=foreground_masking)).render(
            Cameras(c2w_b, K, W, H)
        )
        mask = out.masks[0]
        err = (out.frames[0] - frames_b[0]).abs().mean(0)
        assert mask[covisible].float().mean() > 0.9  # measured: 0.956 / 0.943 (depth edges are dropped)
        assert mask[disoccluded].float().mean() < 0.15  # measured: 0.053 / 0.043
        assert err[mask].mean() < 0.02  # measured: 0.0039 / 0.0037
        assert (~hit_b[0]).sum() > 50 and mask[~hit_b[0]].float().mean() < 0.05  # B's sky: nothing to warp


def _two_planes(c2w, K, H, W):
    """A red 0.6 m square at z = 1 in front of a textured wall at z = 3 (scene frame)."""
    o, d = camera_rays(Cameras(c2w, K, W, H))
    o, d = o[0], d[0]
    t1 = (1.0 - o[..., 2]) / d[..., 2]
    p1 = o + t1[..., None] * d
    fg = (p1[..., 0].abs() < 0.3) & (p1[..., 1].abs() < 0.3) & (t1 > 0)
    t2 = (3.0 - o[..., 2]) / d[..., 2]
    p2 = o + t2[..., None] * d
    t = torch.where(fg, t1, t2)
    wall = (0.4 + 0.3 * torch.sin(4 * p2[..., 0]) * torch.cos(4 * p2[..., 1]))[None].expand(3, H, W)
    red = torch.tensor([0.9, 0.1, 0.1])[:, None, None].expand(3, H, W)
    return torch.where(fg[None], red, wall), t * (d @ c2w[:3, 2]), fg


def test_foreground_masking_stops_background_bleeding_through_a_magnified_edge():
    """Moving 0.45 m toward a square 1 m away magnifies it ~1.8x: its edge points spread apart and
    the wall behind shows through the gaps unless the edge mesh masks it (GEN3C's option)."""
    H, W = 96, 128
    K = _K(H, W)
    image, depth, _ = _two_planes(torch.eye(4), K, H, W)
    c2w = _pose([0.25, 0.1, 0.45])
    gt, _, fg_b = _two_planes(c2w, K, H, W)
    cams = Cameras(c2w, K, W, H)
    plain = Cache3D(image, depth, K).render(cams)
    masked = Cache3D(image, depth, K, cfg=Cache3DCfg(foreground_masking=True)).render(cams)
    bleed_plain = (fg_b & plain.masks[0] & (plain.depth[0] > 1.5)).sum()
    bleed_masked = (fg_b & masked.masks[0] & (masked.depth[0] > 1.5)).sum()
    assert bleed_plain > 50  # measured: 220 wall pixels inside the square
    assert bleed_masked <= 0.05 * bleed_plain  # measured: 0
    assert not (masked.masks & ~plain.masks).any()  # masking only removes
    assert (masked.masks[0] & fg_b).float().sum() / fg_b.sum() > 0.85  # measured: 0.91
    err = (masked.frames[0] - gt).abs().mean(0)[masked.masks[0]].mean()
    assert err < 0.005  # measured: 0.0011 (plain: 0.0083)


def test_depth_edges_are_unreliable_and_flat_depth_is_reliable():
    depth = torch.full((20, 20), 2.0)
    depth[:, 10:] = 4.0
    ok = reliable_depth_mask(depth, window=5, ratio_threshold=0.05)
    assert ok[:, :8].all() and ok[:, 12:].all()  # 2 px from the step on either side
    assert not ok[:, 8:12].any()
    hole = torch.full((9, 9), 2.0)
    hole[4, 4] = 0
    assert not reliable_depth_mask(hole)[2:7, 2:7].any() and reliable_depth_mask(hole)[0, 0]


def test_edge_threshold_scales_with_resolution():
    """At Lyra's 176 rows a floor seen at a grazing angle must survive GEN3C's 704-row threshold."""
    H, W = 44, 80
    K = _K(H, W)
    # A floor 1.3 m below the camera (the bottom half of the view), clamped at 30 m.
    _, d = camera_rays(Cameras(torch.eye(4), K, W, H))
    t = 1.3 / d[0, ..., 1]
    depth = torch.where(t > 0, t * d[0, ..., 2], torch.zeros(())).clamp(max=30)
    depth[: H // 2 + 2] = 0
    floor = int((depth > 0).sum())
    image = torch.rand(3, H, W)
    kept = len(Cache3D(image, depth, K).points()[0])
    kept_unscaled = len(Cache3D(image, depth, K, cfg=Cache3DCfg(reference_height=0)).points()[0])
    assert kept_unscaled == 0  # at 44 rows every floor pixel spans > 5% depth over 5 px
    assert kept > 0.8 * floor  # measured: 0.9 of the floor (the rest borders the empty top half)


def test_soft_z_test_lets_the_nearer_point_dominate():
    uv = torch.tensor([[2.5, 2.5], [2.5, 2.5]])
    z = torch.tensor([2.0, 3.0])
    colours = torch.tensor([[1.0, 0, 0], [0, 0, 1.0]])
    res = splat_points(uv, z, colours, 5, 5)
    assert res.mask.sum() == 1 and res.mask[2, 2]
    assert res.image[0, 2, 2] > 0.95 and res.depth[2, 2] < 2.05
    flat = splat_points(uv, z, colours, 5, 5, depth_weight_scale=0.0)
    assert torch.allclose(flat.image[:, 2, 2], torch.tensor([0.5, 0, 0.5]))
    behind = splat_points(uv, -z, colours, 5, 5)
    assert not behind.mask.any()


def test_time_aligned_sources_and_shape_checks():
    H, W = 16, 24
    K = _K(H, W)
    image, depth, _ = _plane_view(torch.eye(4), K, H, W)
    cams = Cameras(torch.stack([torch.eye(4), _pose([0.1, 0, 0])]), K, W, H)
    out = forward_warp(image[None].expand(2, 3, H, W), depth[None].expand(2, H, W), cams, cams)
    assert out.frames.shape == (2, 3, H, W) and out.masks.all()
    with pytest.raises(InvalidInputError):
        forward_warp(image[None].expand(2, 3, H, W), depth[None].expand(2, H, W), cams,
                     Cameras(torch.eye(4)[None].expand(3, 4, 4), K, W, H))
    with pytest.raises(InvalidInputError):
        Cache3D(image, depth[:-1], K)
    pts, cols = Cache3D(image, depth, K).points()
    assert pts.shape == cols.shape == (H * W, 3)
