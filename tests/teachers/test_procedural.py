"""The procedural teacher: determinism, exact geometry, trajectories, dynamic scenes."""

from __future__ import annotations

import json

import pytest
import torch

from lyra_sim.cameras.rays import camera_rays
from lyra_sim.errors import InvalidInputError
from lyra_sim.teachers import ProceduralTeacher, Teacher, TeacherRequest
from lyra_sim.teachers.procedural import SceneDescription, classify, generate_description
from lyra_sim.teachers.procedural.generators import KIND_KEYWORDS
from lyra_sim.teachers.procedural.raycast import PackedScene, cast_rays

SMALL = dict(num_frames=5, width=64, height=48)


@pytest.fixture(scope="module")
def room():
    return ProceduralTeacher(codec=False).generate(TeacherRequest(prompt="a living room with a sofa", seed=3, **SMALL))


def unproject(video, i):
    """World-from-scene-frame points of every hit pixel of frame i: [P, 3] (scene frame)."""
    origins, dirs = camera_rays(video.cameras[i])
    fwd = video.cameras.c2w[i, :3, 2]
    z = video.depth[i]
    hit = video.mask[i]
    t = z[hit] / (dirs[0][hit] @ fwd)
    return origins[0][hit] + t[:, None] * dirs[0][hit], hit


def ray_mesh_hits(origins, dirs, mesh):
    """(nearest hit distance [R] (inf: none), index of the face hit [R]) of rays with a triangle
    mesh (Möller-Trumbore, brute force)."""
    v = mesh.vertices.double()
    a, b, c = v[mesh.faces[:, 0]], v[mesh.faces[:, 1]], v[mesh.faces[:, 2]]
    e1, e2 = b - a, c - a
    best = torch.full((len(origins),), float("inf"), dtype=torch.float64)
    face = torch.full((len(origins),), -1, dtype=torch.long)
    for k in range(len(origins)):
        o, d = origins[k].double(), dirs[k].double()
        p = torch.linalg.cross(d.expand_as(e2), e2)
        det = (e1 * p).sum(-1)
        inv = 1.0 / det
        s = o - a
        u = (s * p).sum(-1) * inv
        q = torch.linalg.cross(s, e1)
        w = (d * q).sum(-1) * inv
        t = (e2 * q).sum(-1) * inv
        ok = (det.abs() > 1e-12) & (u >= 0) & (w >= 0) & (u + w <= 1) & (t > 1e-6)
        if ok.any():
            t = torch.where(ok, t, torch.full_like(t, float("inf")))
            face[k] = int(t.argmin())
            best[k] = t[face[k]]
    return best, face


def ray_mesh_distance(origins, dirs, mesh):
    """Nearest hit distance of rays with a triangle mesh (inf: none)."""
    return ray_mesh_hits(origins, dirs, mesh)[0]


def test_satisfies_the_teacher_protocol():
    assert isinstance(ProceduralTeacher(codec=False), Teacher)


@pytest.mark.parametrize("kind", sorted(KIND_KEYWORDS) + ["room"])
def test_every_kind_generates_a_plausible_scene(kind):
    prompt = "a cozy bedroom" if kind == "room" else f"a {KIND_KEYWORDS[kind][0]}"
    desc = generate_description(prompt, seed=0)
    assert desc.kind == kind == classify(prompt)
    assert len(desc.primitives) >= 5
    assert 1.4 < desc.camera.eye[2] - _ground_below(desc) < 1.8  # eye height above the ground
    # The description survives JSON (it is written next to every generated scene).
    again = SceneDescription.from_dict(json.loads(json.dumps(desc.to_dict())))
    assert again.to_dict() == desc.to_dict()


def _ground_below(desc):
    if any(p.kind == "terrain" for p in desc.primitives):
        scene = PackedScene.from_description(desc)
        o = torch.tensor([list(desc.camera.eye)])
        return desc.camera.eye[2] - float(cast_rays(scene, o, torch.tensor([[0.0, 0.0, -1.0]])).t[0])
    return 0.0


def test_same_prompt_and_seed_give_identical_bytes():
    teacher = ProceduralTeacher(codec=False)
    req = TeacherRequest(prompt="a warehouse with shelves", seed=7, trajectories=("left", "clockwise"), **SMALL)
    a, b = teacher.generate(req), teacher.generate(req)
    for va, vb in zip(a.trajectories, b.trajectories):
        assert torch.equal(va.frames, vb.frames) and torch.equal(va.depth, vb.depth) and torch.equal(va.cameras.c2w, vb.cameras.c2w)
    assert a.description == b.description
    other = teacher.generate(TeacherRequest(prompt="a warehouse with shelves", seed=8, trajectories=("left",), **SMALL))
    assert other.description != a.description
    assert not torch.equal(other.trajectories[0].frames, a.trajectories[0].frames)


def test_outputs_have_lyra_shapes_and_every_trajectory_starts_at_the_input_camera(room):
    assert [v.name for v in room.trajectories] == ["left", "right", "up", "zoom_out", "zoom_in", "clockwise"]
    first = room.trajectories[0]
    for v in room.trajectories:
        assert v.frames.shape == (5, 3, 48, 64) and v.depth.shape == (5, 48, 64) and v.mask.dtype == torch.bool
        assert 0 <= v.frames.min() and v.frames.max() <= 1
        assert torch.allclose(v.cameras.c2w[0], torch.eye(4), atol=1e-6)
        assert torch.equal(v.frames[0], first.frames[0])  # the same input view every time
        assert not torch.equal(v.frames[1], first.frames[0])  # and the camera really moves
    assert room.depth_is_metric and room.codec == "none"


def test_depth_is_exact_for_the_floor_and_gravity_is_known(room):
    """Unprojected floor pixels lie on the world plane z = 0 (world_from_scene gives gravity)."""
    world = room.world_from_scene.double()
    desc = SceneDescription.from_dict(room.description)
    floor_ids = [i for i, p in enumerate(desc.primitives) if p.kind == "plane"]
    video = room.trajectories[5]
    for i in (0, 4):
        pts, hit = unproject(video, i)
        pts_w = pts.double() @ world[:3, :3].T + world[:3, 3]
        # Which pixels see the floor: cast again in world space and compare ids.
        o, d = camera_rays(video.cameras[i])
        o_w = o[0][hit].double() @ world[:3, :3].T + world[:3, 3]
        d_w = d[0][hit].double() @ world[:3, :3].T
        hits = cast_rays(PackedScene.from_description(desc), o_w.float(), d_w.float())
        on_floor = torch.isin(hits.prim, torch.tensor(floor_ids))
        assert on_floor.sum() > 100
        assert pts_w[on_floor, 2].abs().max() < 2e-4  # metres


def test_ground_truth_mesh_matches_rendered_depth():
    out = ProceduralTeacher(codec=False).generate(TeacherRequest(prompt="an office with desks", seed=1, trajectories=("right",), **SMALL))
    video, mesh = out.trajectories[0], out.meshes[0]
    o, d = camera_rays(video.cameras[4])
    g = torch.Generator().manual_seed(0)
    pix = torch.randint(0, 48 * 64, (60,), generator=g)
    o, d = o[0].reshape(-1, 3)[pix], d[0].reshape(-1, 3)[pix]
    t_mesh = ray_mesh_distance(o, d, mesh)
    fwd = video.cameras.c2w[4, :3, 2].double()
    z_mesh = t_mesh * (d.double() @ fwd)
    z = video.depth[4].reshape(-1)[pix].double()
    hit = video.mask[4].reshape(-1)[pix]
    assert hit.sum() > 40
    # Boxes and planes are exact; tessellated cylinders are within a millimetre or two.
    assert (z_mesh[hit] - z[hit]).abs().max() < 5e-3
    assert torch.isinf(t_mesh[~hit]).all() or (~hit).sum() == 0


def test_dynamic_scene_has_flipped_copies_moving_objects_and_meshes_per_time():
    out = ProceduralTeacher(codec=False, mesh_times=3).generate(
        TeacherRequest(prompt="a bedroom", seed=2, dynamic=True, trajectories=("left", "zoom_in"), **SMALL)
    )
    names = [v.name for v in out.trajectories]
    assert names == ["left", "zoom_in", "left_flipped", "zoom_in_flipped"]
    left, left_flipped = out.trajectories[0], out.trajectories[2]
    assert torch.allclose(left.times, torch.linspace(0, 1, 5)) and torch.equal(left.times, left_flipped.times)
    assert torch.equal(left_flipped.cameras.c2w, left.cameras.c2w.flip(0))  # camera path reversed, times forward
    desc = SceneDescription.from_dict(out.description)
    moving = [p for p in desc.primitives if p.motion is not None]
    assert moving and desc.dynamic
    assert len(out.meshes) == 3 and out.mesh_times.tolist() == [0.0, 0.5, 1.0]
    assert not torch.equal(out.meshes[0].vertices, out.meshes[1].vertices)  # geometry moves
    # At the first and last time the flipped copy sees the forward copy's views in reverse.
    assert torch.equal(left_flipped.frames[0], _render_at(out, desc, left.cameras, 4, 0))


def _render_at(out, desc, cameras, cam_index, frame_index):
    """Re-render one (camera, time) pair independently through the teacher's renderer."""
    teacher = ProceduralTeacher(codec=False)
    from lyra_sim.cameras import Cameras
    from lyra_sim.teachers.procedural.shading import MaterialTable

    t = float(out.trajectories[0].times[frame_index])
    packed = [PackedScene.from_description(desc.at(t))]
    cam = Cameras(cameras.c2w[cam_index : cam_index + 1], cameras.K[cam_index : cam_index + 1], cameras.width, cameras.height)
    frames, _, _ = teacher.render(desc, packed, MaterialTable(desc), cam, out.world_from_scene)
    return frames[0]


def test_latents_come_from_the_codec():
    out = ProceduralTeacher().generate(TeacherRequest(prompt="a corridor", seed=0, trajectories=("up",), num_frames=9, width=64, height=48))
    v = out.trajectories[0]
    assert out.codec == "dct-t8" and v.latents.shape == (16, 2, 6, 8)


def test_requests_it_cannot_serve_are_refused():
    teacher = ProceduralTeacher(codec=False)
    with pytest.raises(InvalidInputError, match="real teacher"):
        teacher.generate(TeacherRequest(prompt="x", image=torch.zeros(3, 8, 8)))
    with pytest.raises(InvalidInputError):
        teacher.generate(TeacherRequest(prompt="x", num_frames=0))


def test_ground_truth_surfaces_are_wound_outward():
    """Closed primitives' faces point out of them and the ground's and terrain's up, so scoring
    can hide a surface's back (``visible_points(front_only=True)``); the sphere grid once faced in."""
    from lyra_sim.teachers.procedural.mesh import _box, _cylinder, _sphere
    from lyra_sim.teachers.procedural.scene import Primitive

    for make, prim in ((_box, Primitive("box", (1.0, 2.0, 0.5), (0.3, 0.4, 0.2), yaw=0.7)),
                       (_sphere, Primitive("sphere", (1.0, 2.0, 0.5), (0.4, 0.4, 0.4))),
                       (_cylinder, Primitive("cylinder", (1.0, 2.0, 0.0), (0.3, 0.3, 1.2)))):
        v, f = make(prim)
        tri = v[f]
        n = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1)
        real = n.norm(dim=-1) > 1e-9  # the sphere grid's pole rows are degenerate
        outward = ((tri.mean(1) - v.mean(0)) * n).sum(-1)
        assert (outward[real] > 0).all() and real.sum() > 0.9 * len(f), prim.kind


@pytest.mark.parametrize("prompt", ["a grassy slope with boulders", "a small plaza street with benches"])
def test_every_surface_a_camera_sees_faces_it(prompt):
    out = ProceduralTeacher(codec=False).generate(TeacherRequest(prompt=prompt, seed=3, trajectories=("left",), **SMALL))
    video, mesh = out.trajectories[0], out.meshes[0]
    o, d = camera_rays(video.cameras[2])
    pix = torch.randint(0, 48 * 64, (40,), generator=torch.Generator().manual_seed(1))
    o, d = o[0].reshape(-1, 3)[pix].double(), d[0].reshape(-1, 3)[pix].double()
    hit = video.mask[2].reshape(-1)[pix]
    _, face = ray_mesh_hits(o[hit], d[hit], mesh)
    v = mesh.vertices.double()
    tri = v[mesh.faces[face]]
    normals = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1)
    facing = ((normals * d[hit]).sum(-1) < 0).tolist()
    assert len(facing) > 20 and all(facing)
