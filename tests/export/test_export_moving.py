"""Moving geometry from the same cameras' depth at several instants (lyra_sim.export.moving)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from lyra_sim.cameras import Cameras, intrinsics_matrix, look_at
from lyra_sim.errors import InvalidInputError
from lyra_sim.export.collider import build_collision_proxy
from lyra_sim.export.config import ColliderCfg, MovingColliderCfg
from lyra_sim.export.moving import TimedDepth, moving_colliders, moving_points, remove_moving, there_then_free


def _one_camera(w=32, h=24) -> Cameras:
    c2w = look_at(torch.zeros(3, dtype=torch.float64), torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64), down=(0.0, 1.0, 0.0))
    return Cameras(c2w.float()[None], intrinsics_matrix(20.0, 20.0, w / 2, h / 2)[None], w, h)


def test_there_then_free_compares_each_pixel_with_itself_over_time():
    """A wall at 5 m; at t=0 a patch 2 m nearer covers the centre of the picture, at t=1 it is gone."""
    cams = _one_camera()
    depth = torch.full((2, 1, 24, 32), 5.0)
    depth[0, 0, 8:16, 10:22] = 3.0
    timed = TimedDepth(depth, cams, [0.0, 1.0])
    on_patch = torch.tensor([[0.0, 0.0, 3.0]])   # the patch (at t=0) on the optical axis
    on_wall = torch.tensor([[0.0, 0.0, 5.0], [0.7, 0.5, 5.0]])   # behind the patch, and beside it
    assert there_then_free(on_patch, timed, 0.1).tolist() == [[True, False]]
    assert not there_then_free(on_wall, timed, 0.1).any()  # occluded at t=0 is not "free": the wall stays
    pts = moving_points(timed, 0.1)
    assert len(pts[0]) == 8 * 12 and len(pts[1]) == 0
    np.testing.assert_allclose(pts[0][:, 2], 3.0, atol=1e-5)


def test_timed_depth_checks_its_shapes():
    cams = _one_camera()
    with pytest.raises(InvalidInputError, match="2 times"):
        TimedDepth(torch.ones(2, 1, 24, 32), cams, [0.0])
    with pytest.raises(InvalidInputError, match="increase"):
        TimedDepth(torch.ones(2, 1, 24, 32), cams, [1.0, 0.0])


@pytest.fixture(scope="module")
def warehouse():
    """A moving procedural warehouse (a carton stack slides) with its ground-truth meshes."""
    from lyra_sim.export.depth import depth_views_from_teacher
    from lyra_sim.teachers import TeacherRequest
    from lyra_sim.teachers.procedural import ProceduralTeacher

    teacher = ProceduralTeacher()
    req = TeacherRequest(prompt="a warehouse", trajectories=("left", "zoom_out", "clockwise"), num_frames=9, width=160,
                         height=96, seed=1, dynamic=True)
    out = teacher.generate(req)
    forward = [v for v in out.trajectories if not v.name.endswith("_flipped")]
    cams = Cameras.cat([Cameras(v.cameras.c2w[::2], v.cameras.K[::2], v.cameras.width, v.cameras.height) for v in forward])
    times = np.linspace(0, 1, 9).tolist()
    timed = TimedDepth(teacher.depth_at_times(out, cams, times), cams, times)
    static, stats = build_collision_proxy(depth_views_from_teacher(out), ColliderCfg())
    return teacher.describe(req), out, timed, static, stats.voxel_size


def _truth(desc, out, t: float, moving: bool):
    from lyra_sim.teachers.procedural.mesh import scene_mesh, transform_mesh

    d = desc.at(t)
    mesh = scene_mesh(replace(d, primitives=[p for p in d.primitives if bool(p.motion) == moving]))
    mesh = transform_mesh(mesh, torch.linalg.inv(out.world_from_scene.double()))
    return mesh.vertices.numpy(), mesh.faces.numpy()


def test_kinematic_colliders_sit_on_what_moves_at_each_time(warehouse):
    from lyra_sim.export.mesh_ops import point_mesh_distance

    desc, out, timed, _, voxel = warehouse
    colliders, points = moving_colliders(timed, [0.0, 1.0], voxel, ColliderCfg(), MovingColliderCfg())
    assert len(points) > 100
    for c in colliders:
        assert not c.empty and c.pieces >= 1
        d_moving = point_mesh_distance(c.proxy.vertices, *_truth(desc, out, c.time, True))
        d_static = point_mesh_distance(c.proxy.vertices, *_truth(desc, out, c.time, False))
        # On the moving carton stack, or (the ring grown around it) where it meets the floor.
        assert (d_moving < 2 * voxel).mean() > 0.75
        assert ((d_moving < 2 * voxel) | (d_static < 2 * voxel)).mean() > 0.95
    # The two instants' pieces are in different places.
    assert np.linalg.norm(colliders[0].proxy.vertices.mean(0) - colliders[1].proxy.vertices.mean(0)) > 0.2


def test_static_geometry_makes_no_kinematic_collider(warehouse):
    """The same depth at every instant: nothing moves, nothing is cut from the static collider."""
    _, _, timed, static, voxel = warehouse
    still = TimedDepth(timed.depth[:1].expand(3, -1, -1, -1).clone(), timed.cameras, [0.0, 0.5, 1.0])
    colliders, points = moving_colliders(still, [0.0, 1.0], voxel)
    assert len(points) == 0 and all(c.empty for c in colliders)
    kept, removed = remove_moving(static, still, 3 * voxel)
    assert removed == 0 and len(kept.faces) == len(static.faces)


def test_remove_moving_cuts_where_the_stack_passed_only(warehouse):
    desc, out, timed, static, voxel = warehouse
    kept, removed = remove_moving(static, timed, 3 * voxel)
    assert 0 < removed < 0.02 * len(static.faces)
    # Every vertex that left the static collider lies in the box the moving stack swept.
    swept = np.concatenate([_truth(desc, out, t, True)[0] for t in np.linspace(0, 1, 9)])
    lo, hi = swept.min(0) - 3 * voxel, swept.max(0) + 3 * voxel
    kept_set = {tuple(v) for v in np.round(kept.vertices, 6)}
    lost = np.array([v for v in np.round(static.vertices, 6) if tuple(v) not in kept_set])
    assert len(lost) and ((lost >= lo) & (lost <= hi)).all(1).mean() > 0.9
