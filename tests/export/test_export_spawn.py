"""Spawn points: on free ground (flat floor, ramps), clear of obstacles, under enough head-room; authored in USD."""

import numpy as np
import pytest
from export_scenes import ramp
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


def test_a_small_room_gets_more_points_closer_together_but_never_overlapping():
    # A 2 x 2 m floor walled in: the free centres form a 1.3 m square, so only 2-3 points fit 1 m
    # apart; the fill pass adds more at least two robot radii (0.7 m) apart.
    walls = [box((-1.1, -1.1, 0), (1.1, -1.0, 2.5)), box((-1.1, 1.0, 0), (1.1, 1.1, 2.5)),
             box((-1.1, -1.0, 0), (-1.0, 1.0, 2.5)), box((1.0, -1.0, 0), (1.1, 1.0, 2.5))]
    proxy = merge(floor_quad(1.0), *walls)
    strict = find_spawn_points(proxy, SpawnCfg(fill_spacing=1.0))
    filled = find_spawn_points(proxy, SpawnCfg())
    assert len(strict) <= 3 and len(filled) >= 4
    for points, spacing in ((strict, 1.0), (filled, 0.7)):
        xy = np.array([p.position[:2] for p in points])
        d = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(len(xy)) * 99
        assert d.min() >= spacing - 1e-9
        assert all(p.clearance >= 0.35 for p in points)
    np.testing.assert_array_equal([p.position for p in filled[: len(strict)]], [p.position for p in strict])  # far picks first


def test_a_candidate_budget_thins_the_search_but_keeps_the_rules(monkeypatch):
    import lyra_sim.export.spawn as spawn

    proxy = merge(floor_quad(3.0), box((-0.5, -0.5, 0.0), (0.5, 0.5, 2.0)))
    fitted = []
    real_fit = spawn._fit_footprints
    monkeypatch.setattr(spawn, "_fit_footprints", lambda g, cand, r: fitted.append(len(cand)) or real_fit(g, cand, r))
    full = find_spawn_points(proxy, SpawnCfg(num_points=6))
    thin = find_spawn_points(proxy, SpawnCfg(num_points=6, max_candidates=500))
    assert fitted[0] > 5000 and fitted[1] <= 500  # the budget bounds the footprints fitted
    assert len(thin) == len(full) >= 4
    for p in thin:  # same rules: on the floor, clear of the pillar and the edge
        x, y, z = p.position
        assert abs(z) < 1e-6 and max(abs(x), abs(y)) > 0.5 + 0.35 - 0.05 and max(abs(x), abs(y)) < 3.0 - 0.35 + 0.05


def test_a_cell_budget_coarsens_the_ground_map_of_a_large_world_but_keeps_the_rules():
    from lyra_sim.export.spawn import ground_cell_size, ground_map

    proxy = merge(floor_quad(3.0), box((-0.5, -0.5, 0.0), (0.5, 0.5, 2.0)))
    fine, coarse = SpawnCfg(num_points=6), SpawnCfg(num_points=6, max_cells=4_000)
    assert ground_cell_size(proxy, fine) == fine.cell_size  # a 6 m room fits the budget at 5 cm
    cell = ground_cell_size(proxy, coarse)
    assert cell > fine.cell_size
    gmap = ground_map(proxy, coarse)
    assert gmap.cell == cell and gmap.ground.size <= 1.2 * coarse.max_cells  # bounded by the budget (plus a 2-cell rim)
    points = find_spawn_points(proxy, coarse)
    assert len(points) >= 4
    for p in points:  # same rules: on the floor, clear of the pillar and the edge (within a coarse cell)
        x, y, z = p.position
        assert abs(z) < 1e-6 and max(abs(x), abs(y)) > 0.5 + 0.35 - cell and max(abs(x), abs(y)) < 3.0 - 0.35 + cell
        assert p.clearance >= 0.35


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


def test_spawn_normals_round_trip_through_usd():
    points = find_spawn_points(CollisionProxy(*ramp(10.0, 2.0)), SpawnCfg(num_points=3))
    stage = new_stage()
    paths = author_spawn_points(stage, points)
    assert stage.GetPrimAtPath(paths[0]).GetAttribute("lyra:normal").GetTypeName() == "normal3f"
    back = read_spawn_points(stage)
    np.testing.assert_allclose([b.normal for b in back], [p.normal for p in points], atol=1e-6)
    # The normal is in the points' frame: the world turned 90 degrees about +Z turns it too.
    UsdGeom.Xform(stage.GetPrimAtPath("/World")).AddRotateZOp().Set(90.0)
    turned = read_spawn_points(stage)[0].normal
    np.testing.assert_allclose(turned, [-points[0].normal[1], points[0].normal[0], points[0].normal[2]], atol=1e-6)
    # A file written before normals were stored reads as flat ground.
    for path in paths:
        stage.GetPrimAtPath(path).RemoveProperty("lyra:normal")
    assert all(np.allclose(b.normal, [0.0, 0.0, 1.0], atol=1e-12) for b in read_spawn_points(stage))


def test_spawn_points_on_a_10_degree_ramp():
    """A ramp rising to 2 m: points all along it, on the surface, with the ramp's normal."""
    cfg = SpawnCfg()
    points = find_spawn_points(CollisionProxy(*ramp(10.0, 2.0)), cfg)
    assert len(points) >= 4
    truth = np.array([-np.sin(np.radians(10.0)), 0.0, np.cos(np.radians(10.0))])
    for p in points:
        x, _, z = p.position
        assert z == pytest.approx(x * np.tan(np.radians(10.0)), abs=0.01)  # on the plane, not at z = 0
        assert np.degrees(np.arccos(np.clip(p.normal @ truth, -1.0, 1.0))) < 1.0
        assert p.clearance >= cfg.robot_radius and p.headroom is None
    assert np.ptp([p.position[2] for p in points]) > 1.0  # spread up the ramp


def test_no_spawn_points_on_slopes_steeper_than_the_limit():
    assert find_spawn_points(CollisionProxy(*ramp(30.0, 2.0))) == []
    assert find_spawn_points(CollisionProxy(*ramp(20.0, 2.0))) == []
    assert len(find_spawn_points(CollisionProxy(*ramp(20.0, 2.0)), SpawnCfg(max_slope_degrees=25.0))) >= 4
    # A 30 degree ramp rising from a flat floor: points on the floor only; a footprint may reach onto
    # the foot of the ramp only as far as the roughness limit lets it rise.
    cfg = SpawnCfg(num_points=8)
    points = find_spawn_points(merge(floor_quad(2.0), ramp(30.0, 2.0, x0=2.0)), cfg)
    assert len(points) >= 4
    for p in points:
        assert p.position[0] < 2.0 - cfg.robot_radius + 0.05 and 0.0 <= p.position[2] <= cfg.max_floor_roughness
        assert np.degrees(np.arccos(p.normal[2])) < 5.0
    assert sum(abs(p.position[2]) < 1e-6 for p in points) >= 4


def bumps(height, pitch=0.4, size=0.1, extent=2.8):
    """Small boxes ``height`` tall on a ``pitch`` grid: every robot footprint holds some."""
    centres = np.arange(-extent, extent + 1e-9, pitch)
    return [box((x - size / 2, y - size / 2, 0.0), (x + size / 2, y + size / 2, height)) for x in centres for y in centres]


def test_bumps_under_every_footprint_leave_no_spawn_point():
    cfg = SpawnCfg()
    assert find_spawn_points(merge(floor_quad(3.0), *bumps(0.07)), cfg) == []  # 7 cm: rougher than 3 cm
    low = find_spawn_points(merge(floor_quad(3.0), *bumps(0.02)), cfg)  # 2 cm is within the roughness limit
    assert len(low) >= 4
    for p in low:
        assert 0.0 <= p.position[2] <= 0.02 + 1e-3  # resting on the bumps' tops at most
        assert np.degrees(np.arccos(p.normal[2])) < 1.0


def test_obstacles_and_head_room_count_from_the_local_ground_on_a_ramp():
    v, f = ramp(10.0, 2.0)

    def ceiling(up):  # parallel to the ramp, ``up`` metres above it, facing down
        return v + [0.0, 0.0, up], f[:, ::-1]

    high = find_spawn_points(merge((v, f), ceiling(2.5)), SpawnCfg())
    assert len(high) >= 4
    for p in high:
        assert p.headroom == pytest.approx(2.5, abs=0.02)  # measured from the ground under the point, not z = 0
    assert find_spawn_points(merge((v, f), ceiling(1.5)), SpawnCfg(robot_height=1.8)) == []
    # A post standing on the ramp halfway up: no point within a robot radius of it.
    x0 = 0.5 * v[:, 0].max()
    z0 = x0 * np.tan(np.radians(10.0))
    post = box((x0 - 0.1, -0.1, z0 - 0.05), (x0 + 0.1, 0.1, z0 + 1.0))
    points = find_spawn_points(merge((v, f), post), SpawnCfg(num_points=20, min_spacing=0.5))
    assert len(points) >= 10
    for p in points:
        assert max(abs(p.position[0] - x0), abs(p.position[1])) > 0.1 + 0.35 - 0.05


def test_headroom_is_measured_under_a_ceiling():
    proxy = merge(floor_quad(3.0), box((-3, -3, 2.5), (3, 3, 2.6)))
    (p, *_) = find_spawn_points(proxy, SpawnCfg(num_points=1))
    assert p.headroom == pytest.approx(2.5, abs=0.02)
    low = merge(floor_quad(3.0), box((-3, -3, 1.5), (3, 3, 1.6)))
    assert find_spawn_points(low, SpawnCfg(robot_height=1.8)) == []  # ceiling below the robot's head
