"""Lyra's six trajectories, spiral/orbit paths and the custom .npz trajectory format."""

import math

import numpy as np
import pytest
import torch

from lyra_sim.cameras import (
    LYRA_TRAJECTORIES,
    TRAJECTORY_NAMES,
    Cameras,
    intrinsics_matrix,
    load_trajectory_npz,
    lyra_trajectories,
    lyra_trajectory,
    orbit_trajectory,
    save_trajectory_npz,
    trajectory_positions,
)
from lyra_sim.errors import InvalidInputError, OutputExistsError, TrajectoryError
from lyra_sim.gaussians.quaternions import quat_to_rotmat

N = 9
W, H = 32, 24
K = intrinsics_matrix(30.0, 30.0, 16.0, 12.0)

LINEAR = {  # name: (axis, sign)
    "left": (0, -1.0),
    "right": (0, 1.0),
    "up": (1, -1.0),
    "zoom_out": (2, -1.0),
    "zoom_in": (2, 1.0),
}


def _pose(seed=0):
    g = torch.Generator().manual_seed(seed)
    c2w = torch.eye(4)
    c2w[:3, :3] = quat_to_rotmat(torch.randn(4, generator=g))
    c2w[:3, 3] = torch.randn(3, generator=g)
    return c2w


def _local_centers(cams, initial_c2w=None):
    """Camera centres in the input camera's frame, float64."""
    c2w = cams.c2w.double()
    if initial_c2w is not None:
        c2w = torch.linalg.inv(initial_c2w.double()) @ c2w
    return c2w[:, :3, 3]


def test_names_and_order():
    trajs = lyra_trajectories(N, K, W, H)
    assert list(trajs) == ["left", "right", "up", "zoom_out", "zoom_in", "clockwise"]
    assert list(LYRA_TRAJECTORIES) == list(trajs)
    assert LYRA_TRAJECTORIES["left"] == (0.2, 0.3) and LYRA_TRAJECTORIES["clockwise"] == (0.4, 0.6)
    assert set(TRAJECTORY_NAMES) >= set(trajs) | {"down", "counterclockwise"}
    for cams in trajs.values():
        assert isinstance(cams, Cameras) and len(cams) == N and (cams.width, cams.height) == (W, H)


@pytest.mark.parametrize("initial", [None, "pose"])
def test_frame_zero_is_input_camera_and_intrinsics_constant(initial):
    init = _pose(3) if initial else None
    for name, cams in lyra_trajectories(N, K, W, H, initial_c2w=init, seed=1).items():
        expected = torch.eye(4) if init is None else init
        torch.testing.assert_close(cams.c2w[0], expected, atol=1e-6, rtol=0, msg=name)
        assert torch.equal(cams.K, K.expand(N, 3, 3)), name
        assert cams.c2w.dtype == torch.float32
        # every pose is rigid
        rot = cams.c2w[:, :3, :3].double()
        torch.testing.assert_close(rot @ rot.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand(N, 3, 3), atol=1e-6, rtol=0)


def test_seeded_reproducibility():
    a = lyra_trajectories(N, K, W, H, seed=7)
    b = lyra_trajectories(N, K, W, H, seed=7)
    c = lyra_trajectories(N, K, W, H, seed=8)
    for name in a:
        assert torch.equal(a[name].c2w, b[name].c2w), name
        assert not torch.allclose(a[name].c2w, c[name].c2w), name


@pytest.mark.parametrize("center_depth", [1.0, 2.5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_trajectories_distance_and_axis(seed, center_depth):
    trajs = lyra_trajectories(N, K, W, H, seed=seed, center_depth=center_depth)
    i = torch.arange(N, dtype=torch.float64)
    for name, (axis, sign) in LINEAR.items():
        pos = _local_centers(trajs[name])
        others = [a for a in range(3) if a != axis]
        torch.testing.assert_close(pos[:, others], torch.zeros(N, 2, dtype=torch.float64), atol=1e-6, rtol=0)
        step = float(pos[1, axis])
        assert math.copysign(1.0, step) == sign, name
        torch.testing.assert_close(pos[:, axis], i * step, atol=1e-6, rtol=0)  # evenly spaced, starts at 0
        d = abs(float(pos[-1, axis])) * N / ((N - 1) * center_depth)  # |x_final| = (N-1)/N * d * c
        lo, hi = LYRA_TRAJECTORIES[name]
        assert lo - 1e-6 <= d <= hi + 1e-6, (name, d)


def test_movement_factor_scales_motion():
    base = lyra_trajectories(N, K, W, H, seed=4)
    big = lyra_trajectories(N, K, W, H, seed=4, movement_factor=1.7)
    for name in base:
        torch.testing.assert_close(_local_centers(big[name]), 1.7 * _local_centers(base[name]), atol=1e-5, rtol=0)
        assert float(_local_centers(base[name]).norm(dim=-1).max()) > 0.05
    with pytest.raises(TrajectoryError):
        lyra_trajectories(N, K, W, H, movement_factor=0.0)


@pytest.mark.parametrize("initial", [None, "pose"])
def test_every_camera_looks_at_center(initial):
    init = _pose(5) if initial else None
    c = 1.8
    target_local = torch.tensor([0.0, 0.0, c, 1.0], dtype=torch.float64)
    target = target_local if init is None else init.double() @ target_local
    for name, cams in lyra_trajectories(N, K, W, H, initial_c2w=init, center_depth=c, seed=2).items():
        c2w = cams.c2w.double()
        forward = torch.nn.functional.normalize(target[:3] - c2w[:, :3, 3], dim=-1)
        torch.testing.assert_close(c2w[:, :3, 2], forward, atol=1e-5, rtol=0, msg=name)
        # so the look-at point projects to the principal point
        cam = torch.einsum("vji,vj->vi", c2w[:, :3, :3], target[:3] - c2w[:, :3, 3])
        uv = cam[:, :2] / cam[:, 2:] * 30.0 + torch.tensor([16.0, 12.0], dtype=torch.float64)
        torch.testing.assert_close(uv, torch.tensor([[16.0, 12.0]] * N, dtype=torch.float64), atol=1e-3, rtol=0)


def test_clockwise_trajectory_is_a_spiral():
    c = 1.3
    cams = lyra_trajectories(N, K, W, H, center_depth=c, seed=3)["clockwise"]
    pos = _local_centers(cams)
    t = 4 * math.pi * torch.arange(N, dtype=torch.float64) / (N - 1)
    torch.testing.assert_close(pos[:, 2], torch.zeros(N, dtype=torch.float64), atol=1e-6, rtol=0)
    # recover d from the y radius: y = 0.10 d c sin t (frame 1 has sin t = 1 when N = 9)
    d = float(pos[1, 1]) / (0.10 * c * math.sin(float(t[1])))
    assert 0.4 - 1e-6 <= d <= 0.6 + 1e-6
    torch.testing.assert_close(pos[:, 0], 0.15 * d * c * (torch.cos(t) - 1), atol=1e-6, rtol=0)
    torch.testing.assert_close(pos[:, 1], 0.10 * d * c * torch.sin(t), atol=1e-6, rtol=0)


def test_spiral_positions_formula():
    n, d, c = 17, 0.5, 2.0
    pos = trajectory_positions("clockwise", n, d, c)
    assert pos.shape == (n, 3) and pos.dtype == torch.float64
    t = torch.linspace(0, 4 * math.pi, n, dtype=torch.float64)
    torch.testing.assert_close(pos[:, 0], 0.15 * d * c * (torch.cos(t) - 1))
    torch.testing.assert_close(pos[:, 1], 0.10 * d * c * torch.sin(t))
    assert torch.equal(pos[:, 2], torch.zeros(n, dtype=torch.float64))
    torch.testing.assert_close(pos[0], torch.zeros(3, dtype=torch.float64), atol=1e-15, rtol=0)
    torch.testing.assert_close(pos[-1], torch.zeros(3, dtype=torch.float64), atol=1e-12, rtol=0)
    # two circles: the far point x = -0.3 d c is reached at t = pi and 3 pi (i = 4 and 12)
    assert abs(float(pos[4, 0]) + 0.3 * d * c) < 1e-12 and abs(float(pos[12, 0]) + 0.3 * d * c) < 1e-12
    assert float(pos[:, 0].max()) <= 1e-12  # the clockwise spiral stays on the -x side
    ccw = trajectory_positions("counterclockwise", n, d, c)
    torch.testing.assert_close(ccw[:, 0], -pos[:, 0])
    torch.testing.assert_close(ccw[:, 1:], pos[:, 1:])


def test_linear_positions_formula():
    pos = trajectory_positions("down", 4, 0.5, 2.0)
    torch.testing.assert_close(pos, torch.tensor([[0, 0, 0], [0, 0.25, 0], [0, 0.5, 0], [0, 0.75, 0]], dtype=torch.float64))
    assert torch.equal(trajectory_positions("left", 1, 0.3), torch.zeros(1, 3, dtype=torch.float64))
    assert torch.equal(trajectory_positions("clockwise", 1, 0.3), torch.zeros(1, 3, dtype=torch.float64))


def test_trajectory_errors():
    with pytest.raises(TrajectoryError, match="unknown trajectory"):
        trajectory_positions("sideways", 5, 0.2)
    for n in (0, -3):
        with pytest.raises(TrajectoryError):
            trajectory_positions("left", n, 0.2)
    with pytest.raises(TrajectoryError):
        lyra_trajectories(N, K, W, H, names=["down"])  # valid path, but not one of Lyra's six


def test_lyra_trajectory_single_and_dtype():
    K64 = K.double()
    cams = lyra_trajectory("zoom_in", 5, 0.35, K64, W, H)
    assert cams.c2w.dtype == torch.float64
    torch.testing.assert_close(cams.centers[:, 2], 0.35 * torch.arange(5, dtype=torch.float64) / 5)
    torch.testing.assert_close(cams.c2w[:, :3, :3], torch.eye(3, dtype=torch.float64).expand(5, 3, 3))  # looks straight ahead
    one = lyra_trajectory("clockwise", 1, 0.5, K, W, H)
    assert len(one) == 1 and torch.equal(one.c2w[0], torch.eye(4))


@pytest.mark.parametrize("up", [(0.0, -1.0, 0.0), (0.0, 0.0, 1.0)])
def test_orbit_trajectory(up):
    center = torch.tensor([0.5, -0.2, 3.0])
    radius, n, elev = 2.0, 12, 25.0
    cams = orbit_trajectory(center, radius, n, K, W, H, elevation_degrees=elev, up=up)
    assert len(cams) == n and torch.equal(cams.K, K.expand(n, 3, 3))
    c2w = cams.c2w.double()
    offsets = c2w[:, :3, 3] - center.double()
    torch.testing.assert_close(offsets.norm(dim=-1), torch.full((n,), radius, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(c2w[:, :3, 2], torch.nn.functional.normalize(-offsets, dim=-1), atol=1e-6, rtol=0)
    up_t = torch.tensor(up, dtype=torch.float64)
    # constant elevation above the plane orthogonal to up
    torch.testing.assert_close(offsets @ up_t, torch.full((n,), radius * math.sin(math.radians(elev)), dtype=torch.float64), atol=1e-5, rtol=0)
    # world up appears as image up (-y) with no sideways component
    up_cam = torch.einsum("vji,j->vi", c2w[:, :3, :3], up_t)
    assert (up_cam[:, 1] < -0.5).all()
    torch.testing.assert_close(up_cam[:, 0], torch.zeros(n, dtype=torch.float64), atol=1e-6, rtol=0)
    # a full circle with evenly spaced cameras
    horiz = offsets - (offsets @ up_t)[:, None] * up_t
    cosines = torch.nn.functional.cosine_similarity(horiz, horiz.roll(-1, 0), dim=-1)
    torch.testing.assert_close(cosines, torch.full((n,), math.cos(2 * math.pi / n), dtype=torch.float64), atol=1e-5, rtol=0)


# ---------------------------------------------------------------- .npz files
def _cams(n=4, seed=0):
    c2w = torch.stack([_pose(seed + i) for i in range(n)])
    Ks = torch.stack([intrinsics_matrix(30.0 + i, 31.0 + i, 16.0, 12.0) for i in range(n)])
    return Cameras(c2w, Ks, W, H)


def test_npz_round_trip(tmp_path):
    cams = _cams()
    path = save_trajectory_npz(cams, tmp_path / "sub" / "traj.npz")
    assert path == tmp_path / "sub" / "traj.npz" and path.is_file()
    with np.load(path) as data:
        assert set(data.files) == {"w2c", "intrinsics", "image_height", "image_width"}
        np.testing.assert_allclose(data["w2c"], cams.w2c.double().numpy(), atol=1e-6)
        assert int(data["image_height"]) == H and int(data["image_width"]) == W
    back = load_trajectory_npz(path)
    assert (back.width, back.height) == (W, H) and len(back) == 4
    torch.testing.assert_close(back.c2w, cams.c2w, atol=1e-5, rtol=0)
    torch.testing.assert_close(back.K, cams.K)


def test_npz_broadcast_intrinsics(tmp_path):
    cams = _cams(3)
    path = tmp_path / "t.npz"
    np.savez(path, w2c=cams.w2c.double().numpy(), intrinsics=K.double().numpy(), image_height=H, image_width=W)
    back = load_trajectory_npz(path)
    assert back.K.shape == (3, 3, 3) and torch.equal(back.K[2], K)


def test_save_refuses_overwrite(tmp_path):
    path = tmp_path / "t.npz"
    save_trajectory_npz(_cams(2), path)
    before = path.read_bytes()
    with pytest.raises(OutputExistsError):
        save_trajectory_npz(_cams(3, seed=5), path)
    assert path.read_bytes() == before
    save_trajectory_npz(_cams(3, seed=5), path, overwrite=True)
    assert len(load_trajectory_npz(path)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.npz"]  # no temp files left


def _write(path, **overrides):
    cams = _cams(3)
    arrays = dict(w2c=cams.w2c.double().numpy(), intrinsics=cams.K.double().numpy(), image_height=H, image_width=W)
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def _scaled_w2c():
    w2c = _cams(3).w2c.double().numpy().copy()
    w2c[:, :3, :3] *= 2.0
    return w2c


def _reflected_w2c():
    w2c = _cams(3).w2c.double().numpy().copy()
    w2c[:, :3, 0] *= -1.0
    return w2c


def _nan_w2c():
    w2c = _cams(3).w2c.double().numpy().copy()
    w2c[1, 0, 3] = np.nan
    return w2c


@pytest.mark.parametrize(
    "overrides, match",
    [
        (dict(w2c=None), "missing"),
        (dict(image_height=None, image_width=None), "missing"),
        (dict(w2c=np.zeros((3, 3, 4))), "w2c must be"),
        (dict(w2c=np.zeros((0, 4, 4)), intrinsics=np.zeros((0, 3, 3))), "w2c must be"),
        (dict(w2c=np.eye(4)), "w2c must be"),
        (dict(intrinsics=np.zeros((2, 3, 3))), "intrinsics"),
        (dict(intrinsics=np.zeros((3, 4, 4))), "intrinsics"),
        (dict(w2c=_nan_w2c()), "NaN"),
        (dict(intrinsics=np.full((3, 3, 3), np.inf)), "NaN"),
        (dict(w2c=_scaled_w2c()), "rotation"),
        (dict(w2c=_reflected_w2c()), "rotation"),
        (dict(image_height=0), "image size"),
        (dict(image_width=np.array([W, W])), "readable"),
    ],
)
def test_load_errors(tmp_path, overrides, match):
    path = _write(tmp_path / "bad.npz", **overrides)
    with pytest.raises(TrajectoryError, match=match):
        load_trajectory_npz(path)


def test_load_missing_and_unreadable_files(tmp_path):
    with pytest.raises(TrajectoryError, match="not found"):
        load_trajectory_npz(tmp_path / "nope.npz")
    with pytest.raises(TrajectoryError, match="not found"):
        load_trajectory_npz(tmp_path)  # a directory
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not an npz file")
    with pytest.raises(TrajectoryError):
        load_trajectory_npz(garbage)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(TrajectoryError):
        load_trajectory_npz(empty)


def test_npz_zip_bomb_is_refused_with_exit_2(tmp_path, capsys):
    from zip_bomb import write_zip_bomb  # tests/io, on sys.path through conftest

    from lyra_sim.cli import main
    from lyra_sim.gaussians import GaussianScene, write_ply

    path = tmp_path / "traj.npz"
    write_zip_bomb(path, "w2c.npy")
    with pytest.raises(InvalidInputError, match=r"traj.npz: member 'w2c.npy' declares 2,147,483,648 bytes"):
        load_trajectory_npz(path)
    # The CLI says it in one line, exit code 2.
    n = 20
    scene = GaussianScene.from_rgb(torch.randn(n, 3), torch.randn(n, 4), torch.full((n, 3), 0.05), torch.rand(n), torch.rand(n, 3))
    write_ply(scene, tmp_path / "s.ply")
    capsys.readouterr()
    rc = main(["render", str(tmp_path / "s.ply"), "--trajectory", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "w2c.npy' declares 2,147,483,648 bytes" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()
