"""Surface depth (median depth at the ray's point of maximum density): analytic cases."""

from __future__ import annotations

import math

import torch

from lyra_sim.cameras import Cameras, intrinsics_matrix, look_at
from lyra_sim.gaussians import GaussianScene
from lyra_sim.render import render


def grid_of_splats(xs, ys, plane, scale, thickness, opacity=0.95, rgb=(0.5, 0.5, 0.5)):
    """Flat splats tiling a plane: ``plane(x, y) -> (point [3], quat [4])``."""
    pts, quats = [], []
    for x in xs:
        for y in ys:
            p, q = plane(x, y)
            pts.append(p)
            quats.append(q)
    n = len(pts)
    scales = torch.tensor([[scale, scale, thickness]]).expand(n, 3).clone()
    return GaussianScene.from_rgb(torch.tensor(pts), torch.tensor(quats), scales, torch.full((n,), opacity),
                                  torch.tensor([rgb]).expand(n, 3).clone())


def front_camera(size=48, focal=40.0):
    return Cameras(torch.eye(4)[None], intrinsics_matrix(focal, focal, size / 2, size / 2)[None], size, size)


def test_opaque_slab_surface_depth_is_its_surface():
    # Two layers of flat splats facing the camera: the front one at z = 2 (opaque), one behind at z = 2.5.
    step = 0.05
    xs = [i * step for i in range(-30, 31)]
    front = grid_of_splats(xs, xs, lambda x, y: ([x, y, 2.0], [1.0, 0.0, 0.0, 0.0]), 0.04, 0.002, opacity=0.99)
    back = grid_of_splats(xs, xs, lambda x, y: ([x, y, 2.5], [1.0, 0.0, 0.0, 0.0]), 0.04, 0.002, opacity=0.99)
    out = render(GaussianScene.merge([front, back]), front_camera(), mode="RGB+ED+SD")
    sd = out.surface_depth[0, 8:-8, 8:-8, 0]
    assert (sd - 2.0).abs().max() < 5e-3
    # Expected depth is pulled behind the surface by what the front layer lets through.
    assert float(out.depth[0, 8:-8, 8:-8, 0].mean()) > float(sd.mean())


def test_grazing_floor_is_not_lifted_by_splat_size():
    # A floor 1.5 m below a camera looking level: rays meet it at grazing angles far ahead.
    # 30 cm wide flat splats: their centres' depth would bring the floor up to ~30 cm nearer.
    down = math.sqrt(0.5)  # quaternion turning the splats' z (normal) to the world y axis
    floor_y = 1.5
    step = 0.1
    xs = [i * step for i in range(-40, 41)]
    zs = [0.5 + i * step for i in range(0, 120)]
    floor = grid_of_splats(xs, zs, lambda x, z: ([x, floor_y, z], [down, down, 0.0, 0.0]), 0.15, 0.003, opacity=0.99)
    cam = front_camera(size=64, focal=50.0)
    out = render(floor, cam, mode="RGB+ED+SD")
    sd, alpha = out.surface_depth[0, ..., 0], out.alpha[0, ..., 0]
    rows = torch.arange(64).float() + 0.5
    true_z = 50.0 * floor_y / (rows - 32.0).clamp(min=1e-6)  # z where each row's ray meets y = 1.5
    rel_sd, rel_centre = [], []
    for r in range(40, 64):  # rows below the horizon whose floor point lies inside the tiled area
        if true_z[r] > 10.0:
            continue
        ok = alpha[r, 16:48] > 0.5
        assert ok.all()
        rel_sd.append(((sd[r, 16:48] - true_z[r]) / true_z[r]).abs().max())
        rel_centre.append(((out.depth[0, r, 16:48, 0] - true_z[r]) / true_z[r]).abs().max())
    assert max(rel_sd) < 0.01, max(rel_sd)
    # The centre-based expected depth is what lifts the floor; the surface depth does not.
    assert max(rel_centre) > 3 * max(rel_sd)


def test_empty_rays_have_no_surface():
    one = GaussianScene.from_rgb(torch.tensor([[0.0, 0.0, 2.0]]), torch.tensor([[1.0, 0.0, 0.0, 0.0]]),
                                 torch.full((1, 3), 0.05), torch.tensor([0.95]), torch.tensor([[1.0, 0.0, 0.0]]))
    out = render(one, front_camera(), mode="RGB+SD")
    sd, alpha = out.surface_depth[0, ..., 0], out.alpha[0, ..., 0]
    assert (sd[alpha < 0.5] == 0).all()
    assert (sd[0:5, 0:5] == 0).all()  # far from the splat: nothing at all
    assert ((sd[alpha >= 0.5] - 2.0).abs() < 0.06).all() and (alpha >= 0.5).any()
    # A faint cloud never reaches half opacity: no surface anywhere.
    faint = GaussianScene.from_rgb(one.means, one.quats, one.scales, torch.tensor([0.3]), torch.tensor([[1.0, 0.0, 0.0]]))
    assert (render(faint, front_camera(), mode="RGB+SD").surface_depth == 0).all()


def test_surface_depth_gradient_moves_the_surface():
    step = 0.05
    xs = [i * step for i in range(-12, 13)]
    wall = grid_of_splats(xs, xs, lambda x, y: ([x, y, 2.0], [1.0, 0.0, 0.0, 0.0]), 0.04, 0.01, opacity=0.99)
    means = wall.means.clone().requires_grad_(True)
    scene = GaussianScene(means, wall.quats, wall.scales, wall.opacities, wall.sh)
    out = render(scene, front_camera(size=24, focal=20.0), mode="RGB+SD")
    sd = out.surface_depth[..., 0]
    loss = ((sd - 2.2) ** 2)[sd > 0].mean()
    loss.backward()
    # Pulling the surface back pushes the hit splats' z forward (negative gradient on z only).
    gz = means.grad[:, 2]
    assert (gz <= 1e-9).all() and gz.min() < 0
    assert means.grad[:, :2].abs().max() < 0.05 * gz.abs().max()  # a thin (1 cm) splat: almost only z


def test_surface_depth_matches_expected_depth_on_a_tilted_camera():
    # Same opaque wall seen from an oblique camera: both depths agree on the hit plane z = 2.
    step = 0.04
    xs = [i * step for i in range(-40, 41)]
    wall = grid_of_splats(xs, xs, lambda x, y: ([x, y, 2.0], [1.0, 0.0, 0.0, 0.0]), 0.03, 0.002, opacity=0.99)
    c2w = look_at(torch.tensor([0.5, 0.2, 0.0]), torch.tensor([0.0, 0.0, 2.0]))
    cam = Cameras(c2w[None], intrinsics_matrix(40.0, 40.0, 24.0, 24.0)[None], 48, 48)
    out = render(wall, cam, mode="RGB+SD")
    from lyra_sim.cameras.rays import camera_rays

    o, d = camera_rays(cam)
    t = (2.0 - o[..., 2]) / d[..., 2]  # distance along the unit ray to the plane z = 2
    z_true = t * (d * c2w[:3, 2]).sum(-1)  # as camera z
    ok = out.alpha[..., 0] > 0.9
    assert ok.float().mean() > 0.5
    assert ((out.surface_depth[..., 0] - z_true)[ok]).abs().max() < 0.01
