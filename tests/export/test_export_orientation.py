"""Right side up from evidence (issue 17, item 3): synthetic surfel captures written in each
trainer convention, a standing object with no floor, the convention prior read from the file,
the capture's cameras, and the confidences / uncertain flags in report.json."""

import json
import math

import numpy as np
import pytest
import torch

from lyra_sim.cli import main
from lyra_sim.export import ExportCfg, SourceFrame, export_scene
from lyra_sim.export.orientation import UpPrior, capture_up, convention_prior, object_up
from lyra_sim.gaussians import GaussianScene, write_ply
from lyra_sim.gaussians.quaternions import rotmat_to_quat
from lyra_sim.io.schemas import schema_errors

# The sim frame is Z up; each convention's rotation takes a Z-up world into the file's frame.
CONVENTIONS = {
    "inria_colmap_-y_up": np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]),  # up (0,0,1) -> (0,-1,0)
    "opengl_+y_up": np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]),  # up -> (0,1,0)
    "z_up": np.eye(3),
}


def surfels(rects, density: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Means [N, 3] and rotations [N, 3, 3] (columns: the two in-plane axes and the normal) of
    flat Gaussians spread over rectangles ``(origin, u, v)`` at ``density`` per m^2."""
    rng = np.random.default_rng(seed)
    means, rots = [], []
    for origin, u, v in rects:
        u, v = np.asarray(u, float), np.asarray(v, float)
        n = max(8, int(density * np.linalg.norm(u) * np.linalg.norm(v)))
        ab = rng.random((n, 2))
        means.append(np.asarray(origin, float) + ab[:, :1] * u + ab[:, 1:] * v)
        frame = np.stack([u / np.linalg.norm(u), v / np.linalg.norm(v), np.cross(u, v) / np.linalg.norm(np.cross(u, v))], 1)
        rots.append(np.repeat(frame[None], n, 0))
    return np.concatenate(means), np.concatenate(rots)


def to_scene(means: np.ndarray, rots: np.ndarray, size: float, rotation: np.ndarray, units_per_metre: float = 1.0,
             offset=(0.0, 0.0, 0.0)) -> GaussianScene:
    """Flat Gaussians in the file frame: ``x_file = units_per_metre * rotation @ x_world + offset``."""
    r = rotation @ rots
    m = units_per_metre * means @ rotation.T + np.asarray(offset)
    n = len(m)
    scales = torch.tensor([size, size, 0.02 * size]).repeat(n, 1) * units_per_metre
    rgb = torch.rand(n, 3, generator=torch.Generator().manual_seed(0))
    return GaussianScene.from_rgb(torch.from_numpy(m).float(), rotmat_to_quat(torch.from_numpy(r).float()),
                                  scales.float(), torch.full((n,), 0.95), rgb)


def room_surfels(seed: int = 0):
    """A 5 x 4 m room, Z up, floor at z = 0: floor, three 2.5 m walls, a table, no ceiling."""
    return surfels([
        ((0, 0, 0), (5, 0, 0), (0, 4, 0)),  # floor
        ((0, 4, 0), (5, 0, 0), (0, 0, 2.5)),  # back wall
        ((0, 0, 0), (0, 4, 0), (0, 0, 2.5)),  # left wall
        ((5, 0, 0), (0, 4, 0), (0, 0, 2.5)),  # right wall
        ((2, 1.5, 0.75), (1.2, 0, 0), (0, 0.7, 0)),  # table top
    ], density=80, seed=seed)


def standing_ellipsoid(seed: int = 0, n: int = 2500):
    """Surfels on an upright ellipsoid 1.7 m tall (semi-axes 0.25, 0.18, 0.85), its centre at
    z = 0.85 (it stands on z = 0), Z up: a person-sized object with no floor under it."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    axes = np.array([0.25, 0.18, 0.85])
    p = d * axes + [0, 0, 0.85]
    normal = d / axes
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    t = np.cross(normal, [0.3, 0.5, 0.8])
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    return p, np.stack([t, np.cross(normal, t), normal], 2)


def sim_up_in_file(report: dict) -> np.ndarray:
    m = np.array(report["frame"]["sim_from_scene"])
    return m[2, :3] / np.linalg.norm(m[2, :3])


def angle(a, b) -> float:
    return math.degrees(math.acos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def fast_cfg(**alignment) -> ExportCfg:
    cfg = ExportCfg()
    cfg.collider.enabled = False  # the floor is fitted to the splats themselves: nothing rendered
    cfg.previews = False
    for k, v in alignment.items():
        setattr(cfg.alignment, k, v)
    return cfg


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_a_room_comes_out_right_side_up_in_every_convention(tmp_path, convention):
    rot = CONVENTIONS[convention]
    scene = to_scene(*room_surfels(), size=0.08, rotation=rot, units_per_metre=0.7, offset=(3.0, -1.0, 2.0))
    path = write_ply(scene, tmp_path / "room.ply")  # an INRIA-layout PLY: the prior says -Y, whatever the data
    result = export_scene(scene, tmp_path / "w", fast_cfg(), source=SourceFrame.from_file(path))
    frame = result.report["frame"]
    assert angle(sim_up_in_file(result.report), rot @ [0, 0, 1]) < 2.0, frame["confidence"]["up"]
    assert frame["method"] == "floor_fit" and frame["capture"] == "scene"
    up = frame["confidence"]["up"]
    assert up["value"] >= 0.5 and "floor_fit" in up["evidence"]
    # The prior agrees only for the INRIA frame: there it adds to the evidence, elsewhere the floor wins alone.
    assert ("convention_prior" in up["evidence"]) == (convention == "inria_colmap_-y_up")
    assert frame["confidence"]["floor"]["value"] > 0.7
    # No camera, no --scale: the scale is a guess, which the report says and the flags fix.
    assert frame["status"] == "uncertain" and [d["what"] for d in frame["uncertain"]] == ["scale"]
    assert set(frame["uncertain"][0]["flags"]) == {"--camera-height", "--scale", "--cameras"}
    assert schema_errors(json.loads(json.dumps(result.report, default=str)), "report") == []


def test_the_prior_breaks_a_tie_between_floor_and_ceiling(tmp_path):
    """A closed box: floor and ceiling hold the same surface; only the -Y prior tells them apart."""
    box = surfels([((0, 0, 0), (4, 0, 0), (0, 4, 0)), ((0, 0, 2.5), (0, 4, 0), (4, 0, 0)),  # the ceiling faces down
                   ((0, 0, 0), (0, 4, 0), (0, 0, 2.5)), ((4, 0, 0), (0, 4, 0), (0, 0, 2.5))], density=80, seed=1)
    rot = CONVENTIONS["inria_colmap_-y_up"]
    scene = to_scene(*box, size=0.08, rotation=rot)
    path = write_ply(scene, tmp_path / "box.ply")
    result = export_scene(scene, tmp_path / "w", fast_cfg(), source=SourceFrame.from_file(path))
    assert angle(sim_up_in_file(result.report), rot @ [0, 0, 1]) < 2.0
    # ... and says that only the convention chose: up is uncertain, --up fixes it.
    doubts = {d["what"]: d for d in result.report["frame"]["uncertain"]}
    assert doubts["up"]["confidence"] < 0.5 and doubts["up"]["flags"] == ["--up", "--cameras"]
    assert "convention alone" in doubts["up"]["reason"]


@pytest.mark.parametrize("tilt", [0.0, 12.0])
def test_a_standing_object_with_no_floor_comes_out_standing(tmp_path, tilt):
    """A 1.7 m person-sized ellipsoid in the INRIA frame, no floor: it must stand (up along its
    long axis, the prior's side), on the ground under its lowest points, reported uncertain."""
    t = math.radians(tilt)
    lean = np.array([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, math.sin(t), math.cos(t)]])
    rot = CONVENTIONS["inria_colmap_-y_up"] @ lean
    scene = to_scene(*standing_ellipsoid(), size=0.05, rotation=rot)
    path = write_ply(scene, tmp_path / "person.ply")
    result = export_scene(scene, tmp_path / "w", fast_cfg(), source=SourceFrame.from_file(path))
    frame = result.report["frame"]
    assert frame["capture"] == "object" and frame["method"] == "object"
    assert angle(sim_up_in_file(result.report), rot @ [0, 0, 1]) < 3.0
    m = result.alignment.sim_from_scene.numpy()
    z = scene.means.double().numpy() @ m[2, :3] + m[2, 3]
    assert abs(z.min()) < 0.03 and z.max() - z.min() == pytest.approx(1.7, abs=0.05)  # standing, feet on z = 0
    assert frame["confidence"]["up"]["value"] >= 0.5  # its long axis agrees with the convention
    assert frame["status"] == "uncertain"
    doubts = {d["what"]: d for d in frame["uncertain"]}
    assert set(doubts) == {"floor", "scale"} and doubts["floor"]["capture"] == "object"
    assert "--cameras" in doubts["floor"]["flags"] and "--scale" in doubts["scale"]["flags"]
    assert schema_errors(json.loads((tmp_path / "w/report.json").read_text()), "report") == []


def test_convention_prior_read_from_the_file(tmp_path):
    scene = to_scene(*standing_ellipsoid(n=50), size=0.05, rotation=np.eye(3))
    inria = write_ply(scene, tmp_path / "a.ply")
    prior = convention_prior(inria)
    assert np.allclose(prior.up, [0, -1, 0]) and prior.confidence == 0.5 and "INRIA" in prior.reason
    zup = write_ply(scene, tmp_path / "b.ply", comments=["exported by sometool, up_axis: +Z"])
    assert np.allclose(convention_prior(zup).up, [0, 0, 1]) and convention_prior(zup).confidence == 0.8
    gs = write_ply(scene, tmp_path / "c.ply", comments=["Generated by gsplat 1.4"])
    assert np.allclose(convention_prior(gs).up, [0, -1, 0]) and "gsplat" in convention_prior(gs).reason
    (tmp_path / "junk.ply").write_bytes(b"not a splat")
    assert convention_prior(tmp_path / "junk.ply") is None  # nothing told: the geometry's thinnest axis decides


def test_capture_up_from_camera_centres_and_up_vectors():
    """Cameras circling at one height, looking 20 deg down: the centres' plane gives up exactly,
    though every camera's own up vector leans."""
    c2w = []
    for k in range(12):
        a = 2 * math.pi * k / 12
        eye = np.array([3 * math.cos(a), 3 * math.sin(a), 1.5])
        fwd = -eye + [0, 0, 1.5 - 3 * math.tan(math.radians(20))]
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0, 0, 1])
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        m = np.eye(4)
        m[:3, :3] = np.stack([right, down, fwd], 1)  # OpenCV: x right, y down, z forward
        m[:3, 3] = eye
        c2w.append(m)
    up, conf, detail = capture_up(np.stack(c2w))
    assert angle(up, [0, 0, 1]) < 0.01 and conf > 0.9 and "plane" in detail
    up, conf, _ = capture_up(np.stack(c2w)[:1])  # one camera: its own up vector, leaning
    assert angle(up, [0, 0, 1]) == pytest.approx(20, abs=0.5) and conf < 0.8


def test_object_up_keeps_the_prior_side():
    p, _ = standing_ellipsoid(n=400)
    up, conf, _ = object_up(p, UpPrior(np.array([0.0, 0.0, 1.0]), 0.5, "test"))
    assert angle(up, [0, 0, 1]) < 2 and conf > 0.5
    up, conf, _ = object_up(p, UpPrior(np.array([0.0, 0.0, -1.0]), 0.5, "test"))
    assert angle(up, [0, 0, -1]) < 2  # the sign is the prior's: the data cannot tell head from feet


def write_transforms(path, c2w_opencv):
    frames = [{"file_path": f"images/{i}.png", "transform_matrix": (m @ np.diag([1.0, -1, -1, 1])).tolist()}
              for i, m in enumerate(c2w_opencv)]
    path.write_text(json.dumps({"fl_x": 300, "fl_y": 300, "cx": 160, "cy": 120, "w": 320, "h": 240, "frames": frames}))
    return path


def walk_cameras(rot: np.ndarray, height: float, units_per_metre: float) -> np.ndarray:
    """Eight OpenCV c2w poses of a camera held level at ``height`` m, walking around the room
    and looking at its middle, in the file frame of ``rot``."""
    out = []
    for k in range(8):
        a = 2 * math.pi * k / 8
        eye = np.array([2.5 + 1.2 * math.cos(a), 2 + 1.0 * math.sin(a), height])
        fwd = np.array([2.5, 2.0, height]) - eye
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0, 0, 1])
        right /= np.linalg.norm(right)
        m = np.eye(4)
        m[:3, :3] = rot @ np.stack([right, np.cross(fwd, right), fwd], 1)
        m[:3, 3] = units_per_metre * rot @ eye
        out.append(m)
    return np.stack(out)


def test_cameras_give_up_and_with_camera_height_the_scale(tmp_path, capsys):
    """An OpenGL (+Y up) capture, where the -Y prior is wrong: --cameras gives the up axis, and
    with --camera-height the scale, from the cameras' height above the fitted floor."""
    rot = CONVENTIONS["opengl_+y_up"]
    scene = to_scene(*room_surfels(), size=0.08, rotation=rot, units_per_metre=0.5)
    ply = write_ply(scene, tmp_path / "room.ply")
    cams = write_transforms(tmp_path / "transforms.json", walk_cameras(rot, 1.4, 0.5))
    args = ["export", str(ply), "--cameras", str(cams), "--camera-height", "1.4", "--no-collider", "--no-previews", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "w")]) == 0
    report = json.loads((tmp_path / "w/report.json").read_text())
    frame = report["frame"]
    assert angle(sim_up_in_file(report), [0, 1, 0]) < 2.0
    assert report["scale"]["metres_per_unit"] == pytest.approx(2.0, rel=0.02)
    assert frame["status"] == "ok" and capsys.readouterr().err == ""
    assert frame["confidence"]["up"]["evidence"] == ["cameras", "floor_fit"]
    assert frame["confidence"]["scale"]["evidence"] == ["user", "cameras"] and frame["confidence"]["scale"]["value"] > 0.8


def test_bad_camera_file_is_one_line_and_exit_2(tmp_path, capsys):
    scene = to_scene(*standing_ellipsoid(n=50), size=0.05, rotation=np.eye(3))
    ply = write_ply(scene, tmp_path / "s.ply")
    (tmp_path / "transforms.json").write_text("{not json")
    assert main(["export", str(ply), "--cameras", str(tmp_path / "transforms.json"), "--no-collider",
                 "--out", str(tmp_path / "w"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "transforms.json" in err[0] and "JSON" in err[0]
    assert not (tmp_path / "w/report.json").exists()


def write_images_txt(folder, c2w_opencv):
    """COLMAP text model of the poses (world-to-camera quaternion + translation), no cameras.txt."""
    from scipy.spatial.transform import Rotation

    folder.mkdir(parents=True)
    lines = []
    for i, m in enumerate(c2w_opencv):
        r = m[:3, :3].T
        x, y, z, w = Rotation.from_matrix(r).as_quat()
        t = -r @ m[:3, 3]
        lines += [f"{i + 1} {w} {x} {y} {z} {t[0]} {t[1]} {t[2]} 1 img{i}.jpg", ""]
    (folder / "images.txt").write_text("\n".join(lines) + "\n")


def test_capture_cameras_are_the_fusion_views(tmp_path, capsys):
    """With a collider, the capture's cameras are where the depth is rendered from, and the
    summary table shows the confidences."""
    rot = CONVENTIONS["z_up"]
    scene = to_scene(*room_surfels(), size=0.08, rotation=rot)
    ply = write_ply(scene, tmp_path / "room.ply")
    write_images_txt(tmp_path / "sparse" / "0", walk_cameras(rot, 1.5, 1.0))
    assert main(["export", str(ply), "--cameras", str(tmp_path / "sparse" / "0"), "collider.resolution=48",
                 "collider.render_width=48", "collider.render_height=32", "--no-previews", "--out", str(tmp_path / "w")]) == 0
    report = json.loads((tmp_path / "w/report.json").read_text())
    assert report["collider"]["views"] == 8 and report["frame"]["confidence"]["up"]["evidence"][0] == "cameras"
    # The cameras stand 1.5 m above the floor; with no --camera-height, 1.6 m is assumed (and doubted).
    assert report["scale"]["metres_per_unit"] == pytest.approx(1.6 / 1.5, rel=0.03)
    doubts = {d["what"]: d for d in report["frame"]["uncertain"]}
    assert "scale" in doubts and "up" not in doubts and "--cameras" not in doubts["scale"]["flags"]  # given already
    out = capsys.readouterr()
    assert "frame confidence" in out.out and "up 0.9" in out.out.replace("up 0.8", "up 0.9")


def test_a_standing_object_gets_ground_to_stand_on(tmp_path):
    """With a collider, the object stands on a ground square under its lowest splats (the
    fused collider can bulge below a narrow base) and robots spawn around it."""
    rot = CONVENTIONS["inria_colmap_-y_up"]
    scene = to_scene(*standing_ellipsoid(n=4000), size=0.045, rotation=rot)
    path = write_ply(scene, tmp_path / "person.ply")
    cfg = ExportCfg()
    cfg.previews = False
    cfg.collider.resolution, cfg.collider.render_width, cfg.collider.render_height = 48, 48, 32
    result = export_scene(scene, tmp_path / "w", cfg, source=SourceFrame.from_file(path))
    assert result.report["frame"]["capture"] == "object"
    assert angle(sim_up_in_file(result.report), rot @ [0, 0, 1]) < 2.0
    m = result.alignment.sim_from_scene.numpy()
    z = scene.means.double().numpy() @ m[2, :3] + m[2, 3]
    assert abs(np.quantile(z, 0.002)) < 0.01 and z.max() == pytest.approx(1.7, abs=0.05)
    spawn = np.array([p.position for p in result.spawn_points])
    assert len(spawn) >= 4 and np.allclose(spawn[:, 2], 0.0, atol=0.02)
    centre = np.median(scene.means.double().numpy() @ m[:2, :3].T + m[:2, 3], axis=0)
    assert np.linalg.norm(centre) < 0.05  # the object's foot is the origin
    assert (np.linalg.norm(spawn[:, :2] - centre, axis=1) > 0.5).all()  # robots beside it, not in it


def test_with_a_collider_the_orbit_looks_down_on_the_floor(tmp_path):
    """The fusion orbit (no camera known) circles the up the splats suggest: an OpenGL-frame
    room was orbited from under its floor when its thinnest axis was signed -Y."""
    rot = CONVENTIONS["opengl_+y_up"]
    scene = to_scene(*room_surfels(), size=0.08, rotation=rot, units_per_metre=0.7, offset=(3.0, -1.0, 2.0))
    path = write_ply(scene, tmp_path / "room.ply")
    cfg = ExportCfg()
    cfg.previews = False
    cfg.collider.resolution, cfg.collider.render_width, cfg.collider.render_height = 64, 64, 48
    result = export_scene(scene, tmp_path / "w", cfg, source=SourceFrame.from_file(path))
    frame = result.report["frame"]
    assert frame["method"] == "floor_fit" and angle(sim_up_in_file(result.report), [0, 1, 0]) < 2.0
    assert frame["confidence"]["up"]["value"] >= 0.5 and result.report["floor"]["tilt_after_degrees"] < 1.0


def test_cameras_on_a_line_fix_no_plane():
    """A straight walk: the centres lie on a line, so only the cameras' up vectors count."""
    c2w = np.tile(np.eye(4), (6, 1, 1))
    c2w[:, :3, :3] = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]  # OpenCV columns: right +x, down -z, forward +y
    c2w[:, 0, 3] = np.arange(6.0)
    c2w[:, 2, 3] = 1.5 + 1e-3 * np.random.default_rng(0).normal(size=6)  # jitter off the line
    up, conf, detail = capture_up(c2w)
    assert angle(up, [0, 0, 1]) < 1e-6 and "mean up vector" in detail and conf == pytest.approx(0.75)
