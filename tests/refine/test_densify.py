"""Free-space carving and depth seeding: the teacher's depth removes floaters and fills gaps."""

from __future__ import annotations

import torch

from lyra_sim.cameras import Cameras, intrinsics_matrix, look_at
from lyra_sim.refine.densify import depth_seeds, in_free_space
from lyra_sim.refine.params import scene_from_params


def wall_views(count: int = 5, size: int = 32) -> tuple[Cameras, torch.Tensor, torch.Tensor]:
    """Cameras at z = 0 looking at a wall z = 4 (exact depth), the left quarter of each image sky."""
    xs = torch.linspace(-0.5, 0.5, count)
    eyes = torch.stack([xs, torch.zeros(count), torch.zeros(count)], -1)
    c2w = look_at(eyes, eyes + torch.tensor([0.0, 0.0, 1.0]))
    cams = Cameras(c2w, intrinsics_matrix(30.0, 30.0, size / 2, size / 2).expand(count, 3, 3).clone(), size, size)
    depth = torch.full((count, size, size), 4.0)
    mask = torch.ones(count, size, size, dtype=torch.bool)
    return cams, depth, mask


def test_floaters_in_front_of_the_wall_and_in_the_sky_are_carved():
    cams, depth, mask = wall_views()
    mask[:, :, :12] = False  # a strip of sky on the left of every view
    depth[~mask] = 0
    means = torch.tensor([
        [0.0, 0.0, 4.0],    # on the wall
        [0.0, 0.1, 2.0],    # a floater 2 m in front of it
        [0.2, -0.2, 3.9],   # 10 cm in front: within the 5 % margin, kept
        [-1.2, 0.0, 4.0],   # where every view sees sky (left strip), at wall depth: carved
        [0.0, 0.0, 6.0],    # behind the wall: no view sees through it, kept (occluded)
    ])
    floating = in_free_space(means, cams, depth, mask)
    assert floating.tolist() == [False, True, False, True, False]


def test_a_thin_post_one_pixel_wide_is_not_carved():
    cams, depth, mask = wall_views()
    # A 1-pixel-wide post at z = 2 in the middle column of the first view only; the others see the
    # wall behind its centre, but the 3 x 3 neighbourhood of the first view keeps it.
    depth[0, :, 16] = 2.0
    point = cams.centers[0] + 2.0 * torch.nn.functional.normalize(torch.tensor([0.5 / 30.0, 0.0, 1.0]), dim=0) / (
        torch.nn.functional.normalize(torch.tensor([0.5 / 30.0, 0.0, 1.0]), dim=0)[2])
    assert not in_free_space(point[None], cams[:1], depth[:1], mask[:1], min_views=1)
    assert in_free_space(point[None], cams[1:2], depth[1:2], mask[1:2], min_views=1)


def test_depth_seeds_land_on_the_teacher_surface_where_the_gaussians_are_wrong():
    cams, depth, mask = wall_views(3)
    frames = torch.rand(3, 3, 32, 32)
    # The current Gaussians: one splat 1 m in front of the wall, covering the middle of the views.
    params = {
        "means": torch.tensor([[0.0, 0.0, 3.0]]), "scales": torch.tensor([[0.3, 0.3, 0.01]]).log(),
        "quats": torch.tensor([[1.0, 0.0, 0.0, 0.0]]), "opacities": torch.tensor([5.0]),
        "sh0": torch.zeros(1, 1, 3), "shN": torch.zeros(1, 0, 3),
    }
    new = depth_seeds(params, cams, frames, depth, mask, 500, torch.Generator().manual_seed(0))
    assert len(new["means"]) == 500
    assert torch.allclose(new["means"][:, 2], torch.full((500,), 4.0), atol=1e-4)  # on the wall, none on the splat
    assert set(new) == set(params) and new["shN"].shape == (500, 0, 3)
    seeded = scene_from_params(new)
    assert torch.allclose(seeded.opacities, torch.full((500,), 0.5))
    # Where the Gaussians are already right, nothing is seeded.
    right = {**params, "means": torch.tensor([[0.0, 0.0, 4.0]]), "scales": torch.tensor([[5.0, 5.0, 0.01]]).log()}
    assert len(depth_seeds(right, cams, frames, depth, mask, 500, torch.Generator().manual_seed(0))["means"]) == 0


def test_depth_seeds_lie_flat_on_a_floor_seen_at_grazing_incidence():
    """A camera 1.6 m above a floor looking level: seeds lie on the floor with their normal up
    (not standing upright facing the camera), stretched along the ray by 1 / cos up to 4x."""
    from lyra_sim.gaussians.quaternions import quat_to_rotmat

    size = 64
    eye = torch.tensor([[0.0, 0.0, 1.6]])
    c2w = look_at(eye, eye + torch.tensor([0.0, 1.0, 0.0]), down=(0.0, 0.0, -1.0))
    K = intrinsics_matrix(40.0, 40.0, size / 2, size / 2)[None]
    cams = Cameras(c2w, K, size, size)
    rows = torch.arange(size, dtype=torch.float32) + 0.5
    z = torch.where(rows > size / 2, 1.6 * 40.0 / (rows - size / 2), torch.zeros(()))  # the floor z = 0
    depth = z[None, :, None].expand(1, size, size).clone()
    mask = depth > 0
    params = {"means": torch.zeros(0, 3), "scales": torch.zeros(0, 3), "quats": torch.zeros(0, 4),
              "opacities": torch.zeros(0), "sh0": torch.zeros(0, 1, 3), "shN": torch.zeros(0, 0, 3)}
    new = depth_seeds(params, cams, torch.rand(1, 3, size, size), depth, mask, 300, torch.Generator().manual_seed(0))
    assert len(new["means"]) == 300
    assert new["means"][:, 2].abs().max() < 1e-3  # on the floor
    normal = quat_to_rotmat(torch.nn.functional.normalize(new["quats"], dim=-1))[:, :, 2]
    assert (normal[:, 2] > 0.999).all()  # lying flat, facing up
    stretch = (new["scales"][:, 0] - new["scales"][:, 1]).exp()
    assert stretch.min() >= 1.0 - 1e-4 and 3.9 < stretch.max() <= 4.0 + 1e-4  # far rows stretched to the cap
