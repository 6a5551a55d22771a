"""Centre-crop + resize moves pixels and intrinsics together; relative poses."""

import pytest
import torch

from lyra_sim.cameras import look_at
from lyra_sim.data.transforms import (
    CropResize,
    intrinsics_to_matrix,
    matrix_to_intrinsics,
    relative_to,
)


def test_plan_matches_lyra_examples():
    # 704x1280 -> 176x320: same aspect, no crop, a quarter of the size.
    p = CropResize.plan((704, 1280), (176, 320))
    assert (p.top, p.left, p.crop_height, p.crop_width) == (0, 0, 704, 1280)
    assert p.scale == (0.25, 0.25)
    # GEN3C's 720x1280 -> 704x1280 centre crop: 8 rows off the top, no resize.
    p = CropResize.plan((720, 1280), (704, 1280))
    assert (p.top, p.left, p.crop_height, p.crop_width) == (8, 0, 704, 1280)
    # A 4:3 image to a 16:9 target crops rows; to a square target crops columns.
    p = CropResize.plan((480, 640), (176, 320))
    assert (p.crop_height, p.crop_width, p.left) == (352, 640, 0) and p.top == 64
    p = CropResize.plan((480, 640), (64, 64))
    assert (p.crop_height, p.crop_width, p.top, p.left) == (480, 480, 0, 80)
    assert CropResize.plan((48, 64), (48, 64)).is_identity


def _blob_image(K, points_cam, height, width, sigma=3.0):
    """[N, 1, H, W]: one Gaussian blob per point, at its projection (pixel centres at +0.5)."""
    uv = (K @ points_cam.T).T
    uv = uv[:, :2] / uv[:, 2:]
    ys = torch.arange(height, dtype=torch.float64) + 0.5
    xs = torch.arange(width, dtype=torch.float64) + 0.5
    img = torch.exp(-((xs[None, None, :] - uv[:, 0, None, None]) ** 2 + (ys[None, :, None] - uv[:, 1, None, None]) ** 2) / (2 * sigma**2))
    return img[:, None].float(), uv


def _centroid(img):
    h, w = img.shape[-2:]
    ys = torch.arange(h, dtype=torch.float64) + 0.5
    xs = torch.arange(w, dtype=torch.float64) + 0.5
    m = img[:, 0].double()
    total = m.sum((-1, -2))
    return torch.stack([(m * xs).sum((-1, -2)) / total, (m * ys[:, None]).sum((-1, -2)) / total], -1)


@pytest.mark.parametrize(
    ("src", "dst"),
    [((60, 100), (32, 32)), ((60, 100), (45, 60)), ((30, 41), (64, 64)), ((704, 1280), (176, 320))],
)
def test_projected_point_lands_on_the_same_content(src, dst):
    H, W = src
    K = torch.tensor([[0.9 * W, 0.0, 0.52 * W], [0.0, 0.9 * W, 0.47 * H], [0.0, 0.0, 1.0]], dtype=torch.float64)
    # Points that project well inside the crop window of every case above.
    points = torch.tensor([[0.0, 0.0, 2.0], [0.05, -0.04, 1.5], [-0.06, 0.03, 2.5]], dtype=torch.float64)
    sigma = max(H, W) / 30
    img, _ = _blob_image(K, points, H, W, sigma)
    plan = CropResize.plan(src, dst)
    out = plan.images(img)
    assert out.shape == (3, 1, *dst)
    K2 = intrinsics_to_matrix(plan.intrinsics(matrix_to_intrinsics(K)))
    uv2 = (K2 @ points.T).T
    uv2 = uv2[:, :2] / uv2[:, 2:]
    # The blob's centroid in the output is where the new intrinsics project the point.
    assert torch.allclose(_centroid(out), uv2, atol=0.05 * max(1.0, dst[1] / W))
    # Negative control: ignoring the crop offset misses by the offset times the scale.
    sx, _ = plan.scale
    if plan.left:
        assert (uv2[:, 0] + plan.left * sx - _centroid(out)[:, 0]).abs().min() > 1.0


def test_maps_use_nearest_and_keep_dtype():
    depth = torch.arange(16.0).reshape(1, 4, 4)
    plan = CropResize.plan((4, 4), (2, 2))
    out = plan.maps(depth)
    assert out.shape == (1, 2, 2) and set(out.flatten().tolist()) <= set(depth.flatten().tolist())
    mask = torch.zeros(2, 6, 8, dtype=torch.bool)
    mask[:, :3] = True
    m = CropResize.plan((6, 8), (3, 3)).maps(mask)
    assert m.dtype == torch.bool and m.shape == (2, 3, 3)
    assert m[:, 0].all() and not m[:, 2].any()


def test_relative_to_first_camera():
    eye = torch.tensor([[0.3, -0.2, 1.0], [1.0, 0.5, -0.5], [0.0, 0.0, 0.0]])
    c2w = look_at(eye, torch.zeros(3).expand(3, 3) + torch.tensor([0.0, 0.0, 3.0]))
    rel = relative_to(c2w, c2w[0])
    assert torch.allclose(rel[0], torch.eye(4), atol=1e-6)
    # Relative motion between cameras is unchanged.
    a = torch.linalg.inv(c2w[1]) @ c2w[2]
    b = torch.linalg.inv(rel[1]) @ rel[2]
    assert torch.allclose(a, b, atol=1e-5)
