"""collider_accuracy against a known mesh: a perfect collider scores perfectly, a shifted one does not."""

from __future__ import annotations

import numpy as np
import torch

from lyra_sim.cameras import Cameras, intrinsics_matrix, look_at
from lyra_sim.eval.collider import collider_accuracy
from lyra_sim.export.collider import CollisionProxy


def floor_mesh(size: float = 4.0, n: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """A square floor at z = 0, [-size/2, size/2]^2, as a grid of triangles."""
    xs = torch.linspace(-size / 2, size / 2, n + 1, dtype=torch.float64)
    x, y = torch.meshgrid(xs, xs, indexing="ij")
    verts = torch.stack([x.flatten(), y.flatten(), torch.zeros_like(x.flatten())], -1)
    faces = []
    for i in range(n):
        for j in range(n):
            a, b, c, d = i * (n + 1) + j, (i + 1) * (n + 1) + j, (i + 1) * (n + 1) + j + 1, i * (n + 1) + j + 1
            faces += [[a, b, c], [a, c, d]]
    return verts, torch.tensor(faces)


def camera_looking_down() -> tuple[Cameras, torch.Tensor]:
    """One camera 2 m above the floor looking straight down, and its exact z-depth (2 m everywhere)."""
    c2w = look_at(torch.tensor([0.0, 0.0, 2.0]), torch.tensor([0.0, 0.0, 0.0]), down=[0.0, 1.0, 0.0])
    cams = Cameras(c2w[None].double(), intrinsics_matrix(40.0, 40.0, 32.0, 32.0)[None].double(), 64, 64)
    return cams, torch.full((1, 64, 64), 2.0, dtype=torch.float64)


def test_the_true_mesh_scores_perfectly_and_a_shifted_one_does_not():
    verts, faces = floor_mesh()
    cams, depth = camera_looking_down()
    eye = torch.eye(4, dtype=torch.float64)
    # The camera sees 3.2 m x 3.2 m of the 4 m floor: the collider is that visible square.
    vis_v, vis_f = floor_mesh(size=3.2, n=16)
    exact = CollisionProxy(vis_v.numpy(), vis_f.numpy())
    good = collider_accuracy(exact, eye, verts, faces, cams, depth, samples=50_000)
    assert good["fscore"] > 0.99 and good["chamfer_m"] < 0.01 and good["gt_points"] > 1000
    shifted = CollisionProxy(vis_v.numpy() + np.array([0.0, 0.0, 0.1]), vis_f.numpy())
    bad = collider_accuracy(shifted, eye, verts, faces, cams, depth, samples=50_000)
    assert bad["fscore"] < 0.05 and 0.09 < bad["chamfer_m"] < 0.12
    # The similarity into the sim frame applies to the ground truth: a 1 m lift of both agrees.
    lift = eye.clone()
    lift[2, 3] = 1.0
    lifted = CollisionProxy(vis_v.numpy() + np.array([0.0, 0.0, 1.0]), vis_f.numpy())
    assert collider_accuracy(lifted, lift, verts, faces, cams, depth, samples=50_000)["fscore"] > 0.99


def test_ground_truth_the_cameras_never_saw_does_not_count():
    verts, faces = floor_mesh(size=40.0, n=40)  # a floor ten times wider than the view
    cams, depth = camera_looking_down()
    vis_v, vis_f = floor_mesh(size=3.2, n=16)
    res = collider_accuracy(CollisionProxy(vis_v.numpy(), vis_f.numpy()), torch.eye(4, dtype=torch.float64), verts, faces,
                            cams, depth, samples=50_000)
    assert res["recall"] > 0.99 and res["fscore"] > 0.99


def test_exact_distances_do_not_charge_a_perfect_collider_for_sparse_samples():
    verts, faces = floor_mesh()
    cams, depth = camera_looking_down()
    vis_v, vis_f = floor_mesh(size=3.2, n=16)
    perfect = CollisionProxy(vis_v.numpy(), vis_f.numpy())
    eye = torch.eye(4, dtype=torch.float64)
    # 300 samples over ~10 m^2: about 18 cm apart, so sample-to-sample distances are centimetres.
    sampled = collider_accuracy(perfect, eye, verts, faces, cams, depth, samples=300, exact=False)
    exact = collider_accuracy(perfect, eye, verts, faces, cams, depth, samples=300, exact=True)
    assert sampled["fscore"] < 0.6 and sampled["accuracy_m"] > 0.03  # the protocol's own error
    assert exact["fscore"] > 0.99 and exact["chamfer_m"] < 1e-6
    shifted = CollisionProxy(vis_v.numpy() + np.array([0.0, 0.0, 0.1]), vis_f.numpy())
    off = collider_accuracy(shifted, eye, verts, faces, cams, depth, samples=300, exact=True)
    assert off["fscore"] == 0.0 and abs(off["chamfer_m"] - 0.1) < 1e-6  # exact: the offset itself


def test_ground_truth_only_a_far_pixel_saw_is_outside_the_collider_region():
    """Two near cameras see two patches of floor 3 m apart (depth 2 m); a far camera (20 m up,
    beyond 4 x the median depth) sees the gap between them too. The collider holds the two patches,
    what export fuses with max_depth_ratio=4: the gap lies inside the box of the near points but
    only the far, unfused pixels saw it, so it is not scored."""
    verts, faces = floor_mesh(size=12.0, n=48)
    K = intrinsics_matrix(40.0, 40.0, 32.0, 32.0)[None].double()
    poses, depths = [], []
    for x, h in ((-2.5, 2.0), (-2.5, 2.0), (2.5, 2.0), (2.5, 2.0), (0.0, 20.0)):
        poses.append(look_at(torch.tensor([x, 0.0, h]), torch.tensor([x, 0.0, 0.0]), down=[0.0, 1.0, 0.0]))
        depths.append(torch.full((64, 64), h, dtype=torch.float64))
    cams = Cameras(torch.stack(poses).double(), K.expand(5, 3, 3), 64, 64)
    depth = torch.stack(depths)
    patch_v, patch_f = floor_mesh(size=3.2, n=16)
    left, right = patch_v.numpy() - [2.5, 0, 0], patch_v.numpy() + [2.5, 0, 0]
    patches = CollisionProxy(np.concatenate([left, right]), np.concatenate([patch_f.numpy(), patch_f.numpy() + len(left)]))
    eye = torch.eye(4, dtype=torch.float64)
    fused_region = collider_accuracy(patches, eye, verts, faces, cams, depth, samples=50_000, max_depth_ratio=4.0)
    everything = collider_accuracy(patches, eye, verts, faces, cams, depth, samples=50_000, max_depth_ratio=None)
    assert fused_region["recall"] > 0.99 and fused_region["fscore"] > 0.99
    assert everything["recall"] < 0.5  # the far view sees 40 m of floor the patches do not cover
