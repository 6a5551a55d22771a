"""Gravity and scale: floor fit on a tilted room, scale sources in order, the sim frame."""

import math

import numpy as np
import pytest
import torch

from lyra_sim.errors import ExportError
from lyra_sim.export import (
    AlignmentCfg,
    ColliderCfg,
    CollisionProxy,
    SourceFrame,
    build_collision_proxy,
    estimate_alignment,
)
from lyra_sim.export.alignment import angle_degrees, fit_floor, rotation_to_z


def rotation(axis, degrees):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    t = math.radians(degrees)
    return np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * k @ k


def similarity(rot, scale=1.0, shift=(0, 0, 0)):
    m = torch.eye(4, dtype=torch.float64)
    m[:3, :3] = torch.from_numpy(scale * rot)
    m[:3, 3] = torch.tensor(shift, dtype=torch.float64)
    return m


@pytest.fixture(scope="module")
def tilted(room_output, room_views):
    """The room seen in a frame tilted by 25 deg (roll) and 10 deg (pitch), scaled by 0.37."""
    m = similarity(rotation([0, 0, 1], 25) @ rotation([1, 0, 0], 10), 0.37, (0.3, -0.2, 1.0))
    views = room_views.transformed(m)
    proxy, _ = build_collision_proxy(views, ColliderCfg(resolution=96))
    true_up_scene = room_output.world_from_scene.double()[:3, :3].T @ torch.tensor([0, 0, 1.0], dtype=torch.float64)
    true_up = (m[:3, :3] @ true_up_scene).numpy()
    input_camera = m.clone()
    input_camera[:3, :3] /= 0.37
    return proxy, true_up / np.linalg.norm(true_up), input_camera, m


def test_floor_of_a_tilted_room_within_one_degree(tilted):
    proxy, true_up, input_camera, _ = tilted
    hint = -input_camera[:3, 1].numpy()
    assert angle_degrees(hint, true_up) > 5  # the frame really is tilted w.r.t. the hint
    floor = fit_floor(proxy, hint, 45.0)
    assert angle_degrees(floor.normal, true_up) < 1.0
    # Negative control: with the hint pointing sideways no horizontal support is accepted.
    with pytest.raises(ExportError, match="up direction"):
        fit_floor(proxy, np.cross(true_up, [1.0, 0, 0]), 20.0)


def test_camera_height_gives_the_metric_scale(room_output, tilted):
    proxy, _, input_camera, _ = tilted
    true_height = float(room_output.world_from_scene[2, 3])  # the input camera's z in the teacher world
    src = SourceFrame(input_camera=input_camera)
    al = estimate_alignment(proxy, AlignmentCfg(camera_height=true_height), src)
    assert al.scale_source == "camera_height"
    assert al.scale == pytest.approx(1 / 0.37, rel=0.02)
    assert al.camera_height_scene * al.scale == pytest.approx(true_height, rel=1e-6)
    # In the sim frame: floor at z = 0, +Z up, the input camera above its foot at the origin, looking along +X.
    sim = proxy.transformed(al.sim_from_scene)
    floor = fit_floor(sim, np.array([0, 0, 1.0]))
    assert angle_degrees(floor.normal, [0, 0, 1]) < 0.5 and abs(floor.offset) < 0.03
    cam = al.sim_from_scene.numpy() @ input_camera.numpy()
    np.testing.assert_allclose(cam[:3, 3], [0, 0, true_height], atol=0.03)
    fwd = cam[:3, 2] / np.linalg.norm(cam[:3, 2])
    assert fwd[0] > 0.9 and abs(fwd[1]) < 1e-6
    assert al.to_dict()["scale_source"] == "camera_height"


def test_scale_sources_in_order(tilted, room_output):
    proxy, _, input_camera, _ = tilted
    src = SourceFrame(input_camera=input_camera)
    default = estimate_alignment(proxy, AlignmentCfg(), src)
    assert default.scale_source == "camera_height"
    assert default.camera_height_scene * default.scale == pytest.approx(1.6)
    by_scale = estimate_alignment(proxy, AlignmentCfg(scale=2.0), src)
    assert (by_scale.scale_source, by_scale.scale) == ("scale", 2.0)
    both = estimate_alignment(proxy, AlignmentCfg(scale=2.0, camera_height=1.0), src)
    assert both.scale_source == "camera_height"  # an explicit camera height comes before --scale
    metric = estimate_alignment(proxy, AlignmentCfg(scale=2.0), SourceFrame(depth_is_metric=True, input_camera=input_camera))
    assert (metric.scale_source, metric.scale) == ("teacher", 1.0)
    unknown = estimate_alignment(proxy, AlignmentCfg(), SourceFrame())
    assert (unknown.scale_source, unknown.scale) == ("assumed", 1.0)
    teacher = estimate_alignment(proxy, AlignmentCfg(), SourceFrame(world_from_scene=room_output.world_from_scene))
    assert teacher.scale_source == "teacher" and torch.allclose(teacher.sim_from_scene, room_output.world_from_scene.double())
    source = estimate_alignment(proxy, AlignmentCfg(frame="source"), src)
    assert source.scale_source == "none" and torch.equal(source.sim_from_scene, torch.eye(4, dtype=torch.float64))


def test_prefers_the_low_floor_over_a_table():
    """Two horizontal supports: a big floor at z=0 and a table top at z=0.8: the floor wins."""
    def quad(x0, x1, y0, y1, z):
        v = np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], float)
        return v, np.array([[0, 1, 2], [0, 2, 3]])
    parts = [quad(-3, 3, -3, 3, 0.0), quad(-1, 1, -1, 1, 0.8), quad(-0.5, 0.5, -0.5, 0.5, 0.8)]
    verts, faces, off = [], [], 0
    for v, f in parts:
        verts.append(v)
        faces.append(f + off)
        off += len(v)
    proxy = CollisionProxy(np.concatenate(verts), np.concatenate(faces))
    floor = fit_floor(proxy, np.array([0.05, 0.0, 1.0]))
    assert abs(floor.offset) < 1e-6 and angle_degrees(floor.normal, [0, 0, 1]) < 1e-6


def test_rotation_to_z_is_proper():
    for n in ([0, 0, 1], [0, 0, -1], [1, 2, 3], [0, -1, 0.1]):
        r = rotation_to_z(np.asarray(n, float))
        np.testing.assert_allclose(r @ (np.asarray(n) / np.linalg.norm(n)), [0, 0, 1], atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)


def test_z_up_scene_without_cameras(room_output, room_views):
    """A Z-up PLY with no camera: the up hint comes from the geometry, the scale is 'assumed'."""
    views = room_views.transformed(room_output.world_from_scene.double())
    proxy, _ = build_collision_proxy(views, ColliderCfg(resolution=96))
    al = estimate_alignment(proxy, AlignmentCfg(), SourceFrame())
    assert angle_degrees(al.up_hint, [0, 0, 1]) < 5.0  # a surface-normal mode; the floor fit refines it
    assert angle_degrees(al.floor.normal, [0, 0, 1]) < 1.0 and al.tilt_before_degrees < 5.0  # tilt from that hint
    assert (al.scale_source, al.scale) == ("assumed", 1.0)
    sim = proxy.transformed(al.sim_from_scene)
    assert abs(np.median(sim.vertices[sim.vertices[:, 2] < 0.1, 2])) < 0.03  # the floor at z = 0


def surfel_room(rot: np.ndarray, n: int = 4000, seed: int = 0):
    """Flat Gaussians on a 6 x 6 m floor (z = 0) and two 2.5 m walls, then turned by ``rot``;
    the true up is ``rot @ z``."""
    from lyra_sim.gaussians import GaussianScene
    from lyra_sim.gaussians.quaternions import rotmat_to_quat

    rng = np.random.default_rng(seed)
    floor = np.c_[rng.uniform(-3, 3, (n, 2)), np.zeros(n)]
    wall_x = np.c_[np.full(n // 2, 3.0), rng.uniform(-3, 3, n // 2), rng.uniform(0, 2.5, n // 2)]
    wall_y = np.c_[rng.uniform(-3, 3, n // 2), np.full(n // 2, 3.0), rng.uniform(0, 2.5, n // 2)]
    frames = [np.eye(3), np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0.0]]), np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0.0]])]
    means = np.concatenate([floor, wall_x, wall_y]) @ rot.T
    axes = np.concatenate([np.repeat(f[None], len(p), 0) for f, p in zip(frames, (floor, wall_x, wall_y))])
    axes = rot[None] @ axes  # columns: the surfel's axes, the last along its normal
    k = len(means)
    return GaussianScene(torch.from_numpy(means).float(), rotmat_to_quat(torch.from_numpy(axes)).float(),
                         torch.tensor([[0.05, 0.05, 0.004]]).expand(k, 3).clone(), torch.full((k,), 0.9),
                         torch.rand(k, 1, 3, generator=torch.Generator().manual_seed(seed)))


def test_floor_from_the_splats_themselves_when_no_collider_is_made():
    from lyra_sim.export.alignment import splat_surfaces

    rot = rotation([0, 0, 1], 25) @ rotation([1, 0, 0], 12)
    scene = surfel_room(rot)
    surfaces = splat_surfaces(scene)
    assert surfaces.num_triangles == len(scene)
    true_up = rot @ np.array([0, 0, 1.0])
    floor = fit_floor(surfaces, np.array([0, 0, 1.0]), 45.0)  # a hint 12 degrees off
    assert angle_degrees(floor.normal, true_up) < 1.0
    # Transparent splats are no surface: nothing to fit.
    faint = type(scene)(scene.means, scene.quats, scene.scales, torch.full((len(scene),), 0.1), scene.sh)
    assert splat_surfaces(faint).num_triangles == 0


def test_export_without_a_collider_stands_the_world_up_from_its_splats(tmp_path):
    import json

    from lyra_sim.export import ExportCfg, export_scene
    from lyra_sim.io.schemas import schema_errors

    rot = rotation([0, 0, 1], 25) @ rotation([1, 0, 0], 12)
    result = export_scene(surfel_room(rot), tmp_path / "w", ExportCfg(collider=ColliderCfg(enabled=False)))
    sim_up_in_scene = result.alignment.sim_from_scene[2, :3].numpy()  # the sim frame's +z, seen in the scene
    assert angle_degrees(sim_up_in_scene, rot @ np.array([0, 0, 1.0])) < 1.0
    report = json.loads((tmp_path / "w" / "report.json").read_text())
    assert report["collider"] is None and report["spawn_points"] == [] and schema_errors(report, "report") == []
    assert not (tmp_path / "w" / "collider.obj").exists()
