"""Spawn points: on free floor, clear of obstacles, under enough head-room; authored in USD."""

import numpy as np
import pytest
from pxr import UsdGeom

from lyra_sim.export import (
    CollisionProxy,
    SpawnCfg,
    build_collision_proxy,
    find_spawn_points,
    mesh_ops,
)
from lyra_sim.export.usd_gaussians import new_stage
from lyra_sim.export.usd_physics import author_spawn_points, read_spawn_points


def box(lo, hi):
    """A closed axis-aligned box, outward normals."""
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    v = np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)], float)
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return v, f


def floor_quad(size, n=20):
    xs = np.linspace(-size, size, n + 1)
    v = np.array([[x, y, 0.0] for y in xs for x in xs])
    f = []
    for j in range(n):
        for i in range(n):
            a = j * (n + 1) + i
            f += [[a, a + 1, a + n + 2], [a, a + n + 2, a + n + 1]]
    return v, np.array(f)


def merge(*meshes):
    verts, faces, off = [], [], 0
    for v, f in meshes:
        verts.append(v)
        faces.append(f + off)
        off += len(v)
    return CollisionProxy(np.concatenate(verts), np.concatenate(faces))


def test_spawn_points_avoid_obstacles_and_low_ceilings():
    # 6 x 6 m floor; a 1 m pillar at the centre; a low shelf (1.2 m) over the +x,+y corner.
    proxy = merge(floor_quad(3.0), box((-0.5, -0.5, 0.0), (0.5, 0.5, 2.0)), box((1.0, 1.0, 1.2), (3.0, 3.0, 1.3)))
    cfg = SpawnCfg(num_points=6, robot_radius=0.35, robot_height=1.8, min_spacing=1.0)
    points = find_spawn_points(proxy, cfg)
    assert len(points) >= 4
    xy = np.array([p.position[:2] for p in points])
    for p in points:
        x, y, z = p.position
        assert abs(z) < 1e-6
        assert max(abs(x), abs(y)) > 0.5 + cfg.robot_radius - 0.05  # clear of the pillar
        assert not (x > 1.0 - cfg.robot_radius + 0.05 and y > 1.0 - cfg.robot_radius + 0.05)  # not under the shelf
        assert max(abs(x), abs(y)) < 3.0 - cfg.robot_radius + 0.05  # not hanging over the floor's edge
        assert p.clearance >= cfg.robot_radius
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(len(xy)) * 99
    assert d.min() >= cfg.min_spacing - 1e-9
    # A robot too tall for anything but open floor still fits; one wider than the room does not.
    assert find_spawn_points(proxy, SpawnCfg(robot_radius=2.5)) == []


def test_spawn_points_on_free_floor_of_the_procedural_room(room_output, room_views):
    proxy, stats = build_collision_proxy(room_views)
    proxy = proxy.transformed(room_output.world_from_scene)
    cfg = SpawnCfg(robot_radius=0.3, min_spacing=0.5)
    points = find_spawn_points(proxy, cfg)
    assert points, "the room has free floor in view"
    gt = room_output.meshes[0]
    truth = CollisionProxy(gt.vertices.double().numpy(), gt.faces.numpy()).transformed(room_output.world_from_scene)
    samples, _ = mesh_ops.sample_surface(truth.vertices, truth.faces, 400_000, seed=5)
    scale = float(np.cbrt(np.linalg.det(room_output.world_from_scene[:3, :3].double().numpy())))
    for p in points:
        # Ground truth: floor right below (the point stands on the highest collider floor under its
        # footprint, which is within about a voxel of the true floor), nothing within the
        # footprint up to the robot's height.
        below = mesh_ops.point_mesh_distance(p.position[None], truth.vertices, truth.faces)[0]
        assert below < 1.25 * stats.voxel_size * scale
        assert p.position[2] > -0.01
        near = np.linalg.norm(samples[:, :2] - p.position[:2], axis=1) < cfg.robot_radius - 0.05
        blocking = near & (samples[:, 2] > cfg.max_step_height) & (samples[:, 2] < cfg.robot_height)
        assert not blocking.any()


def test_spawn_points_in_usd():
    proxy = merge(floor_quad(2.0))
    points = find_spawn_points(proxy, SpawnCfg(num_points=3))
    stage = new_stage()
    paths = author_spawn_points(stage, points)
    assert paths == [f"/World/SpawnPoints/spawn_{i:03d}" for i in range(len(points))]
    prim = stage.GetPrimAtPath(paths[0])
    assert prim.IsA(UsdGeom.Xform)
    assert prim.GetAttribute("lyra:clearance").Get() == pytest.approx(points[0].clearance)
    back = read_spawn_points(stage)
    np.testing.assert_allclose([b.position for b in back], [p.position for p in points], atol=1e-9)
    assert back[0].headroom is None  # open sky


def test_headroom_is_measured_under_a_ceiling():
    proxy = merge(floor_quad(3.0), box((-3, -3, 2.5), (3, 3, 2.6)))
    (p, *_) = find_spawn_points(proxy, SpawnCfg(num_points=1))
    assert p.headroom == pytest.approx(2.5, abs=0.02)
    low = merge(floor_quad(3.0), box((-3, -3, 1.5), (3, 3, 1.6)))
    assert find_spawn_points(low, SpawnCfg(robot_height=1.8)) == []  # ceiling below the robot's head
