"""Cameras (OpenCV convention), look_at, rigid_inverse, pixel centres, rays and Plücker coordinates."""

import math

import pytest
import torch

from lyra_sim.cameras import (
    Cameras,
    camera_rays,
    intrinsics_matrix,
    look_at,
    pixel_centers,
    plucker_rays,
    rigid_inverse,
)
from lyra_sim.errors import InvalidInputError
from lyra_sim.gaussians.quaternions import quat_to_rotmat


def random_c2w(n, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    c2w = torch.eye(4, dtype=dtype).repeat(n, 1, 1)
    c2w[:, :3, :3] = quat_to_rotmat(torch.randn(n, 4, generator=g, dtype=dtype))
    c2w[:, :3, 3] = torch.randn(n, 3, generator=g, dtype=dtype) * 2
    return c2w


def K_for(fx=50.0, fy=60.0, cx=16.0, cy=12.0, dtype=torch.float64):
    return intrinsics_matrix(fx, fy, cx, cy, dtype=dtype)


def project(cams, points):
    """[V, 3] world points -> [V, 2] pixel coordinates, computed independently of the code under test."""
    cam = torch.einsum("vij,vj->vi", cams.w2c[:, :3, :3], points) + cams.w2c[:, :3, 3]
    uvw = torch.einsum("vij,vj->vi", cams.K, cam)
    return uvw[:, :2] / uvw[:, 2:]


# ---------------------------------------------------------------- Cameras
def test_intrinsics_matrix():
    assert torch.equal(intrinsics_matrix(1.0, 2.0, 3.0, 4.0), torch.tensor([[1.0, 0, 3], [0, 2, 4], [0, 0, 1]]))


def test_k_broadcast_and_single_c2w():
    c2w = random_c2w(5)
    cams = Cameras(c2w, K_for(), 32, 24)
    assert cams.K.shape == (5, 3, 3) and len(cams) == 5
    assert torch.equal(cams.K[3], K_for())
    one = Cameras(c2w[0], K_for(), 32, 24)
    assert one.c2w.shape == (1, 4, 4) and one.K.shape == (1, 3, 3)
    assert torch.equal(cams.fx, torch.full((5,), 50.0, dtype=torch.float64))
    assert torch.equal(cams.fy, torch.full((5,), 60.0, dtype=torch.float64))
    assert float(cams.cx[0]) == 16.0 and float(cams.cy[0]) == 12.0


@pytest.mark.parametrize(
    "c2w, K, w, h",
    [
        (torch.eye(4)[:3], torch.eye(3), 4, 4),  # c2w [3, 4]
        (torch.eye(4).repeat(2, 1, 1), torch.eye(3).repeat(3, 1, 1), 4, 4),  # V mismatch
        (torch.eye(4).repeat(2, 1, 1)[None], torch.eye(3), 4, 4),  # c2w 4-D
        (torch.eye(4), torch.eye(4), 4, 4),  # K 4x4
        (torch.eye(4), torch.eye(3), 0, 4),  # zero width
        (torch.eye(4), torch.eye(3), 4, -1),  # negative height
        (torch.eye(4) * float("nan"), torch.eye(3), 4, 4),
        (torch.eye(4), torch.eye(3) * float("inf"), 4, 4),
        (torch.eye(4), torch.diag(torch.tensor([0.0, 1.0, 1.0])), 4, 4),  # fx = 0
        (torch.eye(4), torch.diag(torch.tensor([1.0, -1.0, 1.0])), 4, 4),  # fy < 0
        (torch.eye(4), torch.eye(3, device="meta"), 4, 4),  # mixed devices
    ],
)
def test_shape_and_value_validation(c2w, K, w, h):
    with pytest.raises(InvalidInputError):
        Cameras(c2w, K, w, h)


def test_w2c_is_inverse_and_centers():
    c2w = random_c2w(6, seed=1)
    cams = Cameras(c2w, K_for(), 32, 24)
    eye = torch.eye(4, dtype=torch.float64).expand(6, 4, 4)
    torch.testing.assert_close(cams.w2c @ cams.c2w, eye, atol=1e-12, rtol=0)
    torch.testing.assert_close(cams.c2w @ cams.w2c, eye, atol=1e-12, rtol=0)
    torch.testing.assert_close(cams.w2c, torch.linalg.inv(c2w), atol=1e-12, rtol=0)
    assert torch.equal(cams.centers, c2w[:, :3, 3])
    # the centre maps to the camera-frame origin
    torch.testing.assert_close(
        torch.einsum("vij,vj->vi", cams.w2c[:, :3, :3], cams.centers) + cams.w2c[:, :3, 3],
        torch.zeros(6, 3, dtype=torch.float64), atol=1e-12, rtol=0,
    )


def test_rigid_inverse_batch_shapes():
    t = random_c2w(6, seed=2).reshape(2, 3, 4, 4)
    inv = rigid_inverse(t)
    assert inv.shape == (2, 3, 4, 4)
    torch.testing.assert_close(inv @ t, torch.eye(4, dtype=torch.float64).expand(2, 3, 4, 4), atol=1e-12, rtol=0)
    assert torch.equal(inv[..., 3, :], torch.tensor([0.0, 0, 0, 1], dtype=torch.float64).expand(2, 3, 4))


@pytest.mark.parametrize("fov, w, h", [(60.0, 64, 48), (90.0, 100, 50), (30.0, 33, 17)])
def test_from_fov(fov, w, h):
    cams = Cameras.from_fov(random_c2w(3), fov, w, h)
    f = 0.5 * h / math.tan(math.radians(fov) / 2)
    assert len(cams) == 3 and cams.width == w and cams.height == h
    torch.testing.assert_close(cams.fx, torch.full((3,), f, dtype=torch.float64))
    torch.testing.assert_close(cams.fy, torch.full((3,), f, dtype=torch.float64))
    torch.testing.assert_close(cams.cx, torch.full((3,), w / 2, dtype=torch.float64))
    torch.testing.assert_close(cams.cy, torch.full((3,), h / 2, dtype=torch.float64))
    # a point at the top edge of the vertical FOV projects to y = 0
    cam = Cameras.from_fov(torch.eye(4, dtype=torch.float64), fov, w, h)
    p = torch.tensor([[0.0, -math.tan(math.radians(fov) / 2), 1.0]], dtype=torch.float64)
    torch.testing.assert_close(project(cam, p), torch.tensor([[w / 2, 0.0]], dtype=torch.float64), atol=1e-9, rtol=0)


@pytest.mark.parametrize("fov", [0.0, 180.0, -5.0, 200.0])
def test_from_fov_rejects(fov):
    with pytest.raises(InvalidInputError):
        Cameras.from_fov(torch.eye(4), fov, 10, 10)


def test_from_fov_single_c2w():
    cams = Cameras.from_fov(torch.eye(4), 60.0, 8, 6)
    assert cams.c2w.shape == (1, 4, 4) and cams.K.dtype == torch.float32


@pytest.mark.parametrize("new_size", [(8, 6), (64, 48), (10, 30)])
def test_resized_projects_to_scaled_pixels(new_size):
    w, h = 32, 24
    cams = Cameras(random_c2w(4, seed=3), K_for(), w, h)
    g = torch.Generator().manual_seed(4)
    # points in front of each camera
    local = torch.randn(4, 3, generator=g, dtype=torch.float64) * 0.3 + torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64)
    pts = torch.einsum("vij,vj->vi", cams.c2w[:, :3, :3], local) + cams.c2w[:, :3, 3]
    uv = project(cams, pts)
    small = cams.resized(*new_size)
    assert (small.width, small.height) == new_size
    scale = torch.tensor([new_size[0] / w, new_size[1] / h], dtype=torch.float64)
    torch.testing.assert_close(project(small, pts), uv * scale, atol=1e-9, rtol=0)
    assert torch.equal(cams.K[0], K_for())  # original untouched
    assert torch.equal(small.c2w, cams.c2w)


def test_resized_pixel_corners_stay_aligned():
    cams = Cameras(torch.eye(4, dtype=torch.float64), K_for(cx=16.0, cy=12.0), 32, 24)
    small = cams.resized(4, 3)  # factor 1/8
    assert float(small.fx[0]) == 50.0 / 8 and float(small.fy[0]) == 60.0 / 8
    assert float(small.cx[0]) == 2.0 and float(small.cy[0]) == 1.5


def test_resized_with_broadcast_K_is_safe():
    cams = Cameras(random_c2w(3), K_for(), 32, 24)  # K expanded from [3, 3]
    small = cams.resized(16, 12)
    torch.testing.assert_close(small.fx, torch.full((3,), 25.0, dtype=torch.float64))
    assert float(cams.fx[0]) == 50.0


def test_relative_to_first():
    c2w = random_c2w(5, seed=5)
    cams = Cameras(c2w, K_for(), 32, 24)
    rel = cams.relative_to_first()
    torch.testing.assert_close(rel.c2w[0], torch.eye(4, dtype=torch.float64), atol=1e-12, rtol=0)
    for i in range(5):
        for j in range(5):
            torch.testing.assert_close(
                torch.linalg.inv(rel.c2w[i]) @ rel.c2w[j], torch.linalg.inv(c2w[i]) @ c2w[j], atol=1e-10, rtol=0
            )
    torch.testing.assert_close(rel.c2w, torch.linalg.inv(c2w[0]) @ c2w, atol=1e-12, rtol=0)
    assert torch.equal(rel.K, cams.K)


def test_cat():
    a = Cameras(random_c2w(2, seed=1), K_for(), 32, 24)
    b = Cameras(random_c2w(3, seed=2), K_for(fx=10.0), 32, 24)
    c = Cameras.cat([a, b])
    assert len(c) == 5 and (c.width, c.height) == (32, 24)
    assert torch.equal(c.c2w, torch.cat([a.c2w, b.c2w])) and float(c.fx[4]) == 10.0
    with pytest.raises(InvalidInputError):
        Cameras.cat([a, Cameras(random_c2w(1), K_for(), 32, 25)])
    with pytest.raises(InvalidInputError):
        Cameras.cat([])


def test_getitem_and_to():
    cams = Cameras(random_c2w(4, seed=6), K_for(), 32, 24)
    for i in (0, 2, -1, -3):
        sub = cams[i]
        assert len(sub) == 1
        assert torch.equal(sub.c2w[0], cams.c2w[i]) and torch.equal(sub.K[0], cams.K[i])
    assert len(cams[1:3]) == 2 and torch.equal(cams[1:3].c2w, cams.c2w[1:3])
    assert torch.equal(cams[[0, 3]].c2w, cams.c2w[[0, 3]])
    c32 = cams.to(dtype=torch.float32)
    assert c32.c2w.dtype == torch.float32 and c32.K.dtype == torch.float32 and c32.device == cams.device


# ---------------------------------------------------------------- look_at
def test_look_at_axes():
    eye = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, -3.0], [2.0, 1.0, 1.0]], dtype=torch.float64)
    target = torch.tensor([[0.0, 0.0, 2.0], [0.0, 0.0, 0.0], [-1.0, 0.5, 4.0]], dtype=torch.float64)
    c2w = look_at(eye, target)
    rot = c2w[:, :3, :3]
    torch.testing.assert_close(rot @ rot.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand(3, 3, 3), atol=1e-12, rtol=0)
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(3, dtype=torch.float64))
    forward = torch.nn.functional.normalize(target - eye, dim=-1)
    torch.testing.assert_close(c2w[:, :3, 2], forward)
    assert torch.equal(c2w[:, :3, 3], eye)
    assert torch.equal(c2w[:, 3], torch.tensor([0.0, 0, 0, 1], dtype=torch.float64).expand(3, 4))
    # the target projects onto the principal point
    cams = Cameras(c2w, K_for(), 32, 24)
    torch.testing.assert_close(project(cams, target), torch.tensor([[16.0, 12.0]] * 3, dtype=torch.float64))
    # world down (+y default) appears as image +y: camera-frame y > 0 and no x component
    down_cam = torch.einsum("vji,j->vi", rot, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    assert (down_cam[:, 1] > 0).all()
    torch.testing.assert_close(down_cam[:, 0], torch.zeros(3, dtype=torch.float64), atol=1e-12, rtol=0)


def test_look_at_identity_and_z_up_down():
    c2w = look_at(torch.zeros(3, dtype=torch.float64), torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64))
    torch.testing.assert_close(c2w, torch.eye(4, dtype=torch.float64))
    # Z-up world: camera on the x axis looking at the origin, down = -z
    c2w = look_at(torch.tensor([3.0, 0.0, 0.0]), torch.zeros(3), down=(0.0, 0.0, -1.0))
    torch.testing.assert_close(c2w[:3, 2], torch.tensor([-1.0, 0.0, 0.0]))
    torch.testing.assert_close(c2w[:3, 1], torch.tensor([0.0, 0.0, -1.0]))  # image down = world -z
    torch.testing.assert_close(c2w[:3, 0], torch.tensor([0.0, 1.0, 0.0]))  # right-handed: right = down x forward


def test_look_at_rejects_parallel_down():
    with pytest.raises(InvalidInputError):
        look_at(torch.zeros(3), torch.tensor([0.0, 2.0, 0.0]))


# ---------------------------------------------------------------- rays
def test_pixel_centers():
    pix = pixel_centers(3, 2)
    assert pix.shape == (2, 3, 2)
    assert pix[0, 0].tolist() == [0.5, 0.5]
    assert pix[1, 2].tolist() == [2.5, 1.5]
    assert pix[1, 0].tolist() == [0.5, 1.5]  # (x, y) = (j + 0.5, i + 0.5)


def _ray_cams():
    # cx, cy on the centre of pixel (i=1, j=2): (2.5, 1.5)
    K = torch.stack([K_for(40.0, 30.0, 2.5, 1.5), K_for(20.0, 25.0, 2.5, 1.5)])
    return Cameras(random_c2w(2, seed=7), K, 6, 4)


def test_camera_rays_principal_pixel_is_forward():
    cams = _ray_cams()
    origins, dirs = camera_rays(cams)
    assert origins.shape == (2, 4, 6, 3) and dirs.shape == (2, 4, 6, 3)
    torch.testing.assert_close(dirs[:, 1, 2], cams.c2w[:, :3, 2], atol=1e-12, rtol=0)
    torch.testing.assert_close(origins, cams.centers[:, None, None, :].expand(2, 4, 6, 3))
    torch.testing.assert_close(dirs.norm(dim=-1), torch.ones(2, 4, 6, dtype=torch.float64))


def test_camera_rays_project_back_to_pixel_centres():
    cams = _ray_cams()
    origins, dirs = camera_rays(cams)
    pix = pixel_centers(6, 4, dtype=torch.float64)
    for t in (0.5, 3.0):
        pts = (origins + t * dirs).reshape(2, -1, 3)
        cam = torch.einsum("vij,vnj->vni", cams.w2c[:, :3, :3], pts) + cams.w2c[:, None, :3, 3]
        assert (cam[..., 2] > 0).all()  # in front of the camera
        uvw = torch.einsum("vij,vnj->vni", cams.K, cam)
        uv = (uvw[..., :2] / uvw[..., 2:]).reshape(2, 4, 6, 2)
        torch.testing.assert_close(uv, pix.expand(2, 4, 6, 2), atol=1e-9, rtol=0)


def test_camera_rays_identity_camera_values():
    cams = Cameras(torch.eye(4), intrinsics_matrix(2.0, 2.0, 1.0, 1.0), 2, 2)
    _, dirs = camera_rays(cams)
    # pixel (0, 0) centre (0.5, 0.5): camera direction (-0.25, -0.25, 1)
    expected = torch.nn.functional.normalize(torch.tensor([-0.25, -0.25, 1.0]), dim=0)
    torch.testing.assert_close(dirs[0, 0, 0], expected)
    torch.testing.assert_close(dirs[0, 1, 1], expected * torch.tensor([-1.0, -1.0, 1.0]))


def test_plucker_rays():
    cams = _ray_cams()
    pl = plucker_rays(cams)
    assert pl.shape == (2, 6, 4, 6) and pl.is_contiguous()
    origins, dirs = camera_rays(cams)
    moment, d = pl[:, :3].permute(0, 2, 3, 1), pl[:, 3:].permute(0, 2, 3, 1)
    torch.testing.assert_close(d, dirs)
    torch.testing.assert_close((moment * d).sum(-1), torch.zeros(2, 4, 6, dtype=torch.float64), atol=1e-12, rtol=0)
    # |o x d| is the distance from the world origin to the ray's line
    foot = origins - (origins * d).sum(-1, keepdim=True) * d
    torch.testing.assert_close(moment.norm(dim=-1), foot.norm(dim=-1), atol=1e-12, rtol=1e-10)
    assert float(moment.norm(dim=-1).min()) > 1e-3  # cameras are off the origin, so this is non-trivial


def test_plucker_rays_translated_camera():
    c2w = torch.eye(4, dtype=torch.float64)
    c2w[:3, 3] = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    cams = Cameras(c2w, K_for(4.0, 4.0, 1.5, 1.0), 3, 2)
    pl = plucker_rays(cams)
    _, dirs = camera_rays(cams)
    o = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    expected = torch.linalg.cross(o.expand_as(dirs[0]), dirs[0])
    torch.testing.assert_close(pl[0, :3].permute(1, 2, 0), expected)
    # explicit value for one ray: pixel (0, 0) -> direction normalize((0.5-1.5)/4, (0.5-1)/4, 1)
    d = torch.nn.functional.normalize(torch.tensor([-0.25, -0.125, 1.0], dtype=torch.float64), dim=0)
    mx = (-2.0) * d[2] - 0.5 * d[1]
    my = 0.5 * d[0] - 1.0 * d[2]
    mz = 1.0 * d[1] - (-2.0) * d[0]
    torch.testing.assert_close(pl[0, :3, 0, 0], torch.stack([mx, my, mz]))
    # at the origin the moment vanishes
    assert float(plucker_rays(Cameras(torch.eye(4), K_for(dtype=torch.float32), 32, 24))[:, :3].abs().max()) == 0.0
