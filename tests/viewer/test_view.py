"""``lyra-sim view`` without a browser: what is loaded from each kind of input (frames, colliders,
spawn points, times, composed worlds and their re-draw), the viewer's scene and GUI, and every
refusal as one line with exit code 2."""

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "sim"))

from viewer_worlds import SIM_FROM_SCENE, two_colour_scene, write_camera_file, write_generated_world

from lyra_sim.cli import main
from lyra_sim.gaussians import write_ply
from lyra_sim.viewer import load_world
from lyra_sim.viewer.server import WorldViewer, humanoid_proxy
from lyra_sim.viewer.world import read_camera_paths, write_camera_paths


def test_generated_world_splats_are_moved_into_the_sim_frame(tmp_path):
    world = load_world(write_generated_world(tmp_path / "w"))
    assert world.kind == "generated" and world.up == "+z" and world.times == []
    s = world.scenes[0].load_splats(0)
    assert len(s) == s.total == 1200
    red = s.rgbs[:, 0] > 0.9
    # Built in the sim frame (red at x < 0, green at x > 0, 0.25-0.75 m up), stored in the scene frame.
    assert (s.centers[red, 0] < 0.0).all() and (s.centers[~red, 0] > 0.0).all()
    assert s.centers[:, 2].min() >= 0.24 and s.centers[:, 2].max() <= 0.76
    # Covariances scale with the frame's scale (2): sigma 0.03 scene units -> 0.06 m.
    np.testing.assert_allclose(s.covariances[0], np.eye(3) * 0.06 ** 2, atol=1e-6)
    v, f = world.scenes[0].collider
    assert f.shape == (12, 3) and v[:, 2].max() == pytest.approx(1.2)
    np.testing.assert_allclose(world.scenes[0].spawn_points, [[-0.8, 0.7, 0.0], [0.8, 0.7, 0.0]])


def test_subsampling_caps_the_splats_and_says_so(tmp_path):
    world = load_world(write_generated_world(tmp_path / "w"), max_splats=100)
    s = world.scenes[0].load_splats(0)
    assert len(s) == 100 and s.total == 1200
    assert any("100 of 1,200" in n for n in world.notes)


def test_a_4d_world_has_a_time_slider_starting_at_the_nearest_time(tmp_path):
    world = load_world(write_generated_world(tmp_path / "w", times=[0.0, 0.5, 1.0]))
    assert world.times == [0.0, 0.5, 1.0]
    z0 = world.scenes[0].load_splats(0).centers[:, 2].mean()
    z2 = world.scenes[0].load_splats(2).centers[:, 2].mean()
    assert z2 - z0 == pytest.approx(0.4, abs=1e-4)  # 0.1 scene units up (-y) per time step, x2 to metres, along sim +z
    viewer = WorldViewer(world, port=0, time=0.6)
    try:
        assert viewer.gui["time"].value == 1  # 0.5 is the nearest decoded time
        viewer.gui["time"].value = 2
        assert viewer._time_index == 2
    finally:
        viewer.stop()


def test_a_splat_file_is_shown_in_its_own_frame(tmp_path):
    scene = two_colour_scene()
    path = write_ply(scene, tmp_path / "capture.ply")
    world = load_world(path)
    assert world.kind == "splat" and world.up == "-y" and world.scenes[0].collider is None
    np.testing.assert_allclose(world.scenes[0].load_splats(0).centers, scene.means.numpy(), atol=1e-6)


def test_viewer_scene_has_collider_spawn_points_robot_and_camera_frustums(tmp_path):
    folder = write_generated_world(tmp_path / "w")
    write_camera_file(folder)
    viewer = WorldViewer(load_world(folder), port=0)
    try:
        assert set(viewer.gui) >= {"splats", "collider", "collider_style", "spawn", "robot_spawn", "cameras"}
        assert viewer.gui["collider"].value is False and not viewer._collider_handles[0].visible
        viewer.gui["collider"].value = True
        assert viewer._collider_handles[0].visible and viewer._collider_handles[0].wireframe
        viewer.gui["collider_style"].value = "translucent"
        assert not viewer._collider_handles[0].wireframe and viewer._collider_handles[0].opacity == pytest.approx(0.45)
        # The humanoid stands on the chosen spawn point.
        assert len(viewer._robot_handles) == 1
        np.testing.assert_allclose(viewer._robot_handles[0].position, [-0.8, 0.7, 0.0])
        viewer.gui["robot_spawn"].value = "1"
        np.testing.assert_allclose(viewer._robot_handles[0].position, [0.8, 0.7, 0.0])
        viewer.gui["robot_spawn"].value = "none"
        assert viewer._robot_handles == []
        nodes = set(viewer.scene._handle_from_node_name)  # noqa: SLF001 (viser's scene tree)
        assert {"/envs/w/splats", "/envs/w/spawn/0", "/envs/w/spawn/1", "/envs/w/cameras/orbit/line"} <= nodes
        assert sum(n.startswith("/envs/w/cameras/orbit/0") for n in nodes) == 5  # one frustum per camera
        viewer.gui["cameras"].value = False
        assert not any(n.startswith("/envs/w/cameras") for n in viewer.scene._handle_from_node_name)  # noqa: SLF001
    finally:
        viewer.stop()


def test_humanoid_proxy_has_the_assets_proportions():
    from lyra_sim.sim.humanoid import STANDING_HEIGHT

    v, f = humanoid_proxy()
    assert v[:, 2].min() == pytest.approx(0.0, abs=1e-6)  # soles on the floor
    assert v[:, 2].max() == pytest.approx(STANDING_HEIGHT, abs=1e-3)
    assert abs(v[:, 1]).max() == pytest.approx(0.27 + 0.045, abs=1e-3)  # arms' capsules


def test_camera_paths_round_trip_into_the_sim_frame(tmp_path):
    from lyra_sim.cameras import Cameras

    c2w = torch.eye(4).repeat(3, 1, 1)
    c2w[:, 0, 3] = torch.tensor([0.0, 1.0, 2.0])
    K = torch.tensor([[100.0, 0, 80], [0, 100.0, 60], [0, 0, 1]])
    trajs = [SimpleNamespace(name="left", cameras=Cameras(c2w, K, 160, 120)),
             SimpleNamespace(name="left_flipped", cameras=Cameras(c2w, K, 160, 120))]
    write_camera_paths(trajs, SIM_FROM_SCENE, tmp_path / "camera_paths.json")
    (path,) = read_camera_paths(tmp_path / "camera_paths.json")
    assert path.name == "left" and path.aspect == pytest.approx(160 / 120)
    assert path.fov_y == pytest.approx(2 * np.arctan(60 / 100))
    np.testing.assert_allclose(path.c2w[:, :3, 3], [[0, 0, 0], [2, 0, 0], [4, 0, 0]], atol=1e-6)
    for r in path.c2w[:, :3, :3]:
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-6)  # the scale is divided out
    assert read_camera_paths(tmp_path / "missing.json") == []


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    from sim_scenes import export_room

    return export_room(tmp_path_factory.mktemp("room"), "a living room", 0, usd_format="usdz")  # export's default


def test_exported_scene_splats_line_up_with_its_collider(exported):
    world = load_world(exported)
    assert world.kind == "exported" and world.up == "+z"
    s = world.scenes[0].load_splats(0)
    v, _ = world.scenes[0].collider
    assert len(world.scenes[0].spawn_points) > 0
    lo, hi = v.min(0) - 0.3, v.max(0) + 0.3
    inside = ((s.centers >= lo) & (s.centers <= hi)).all(1).mean()
    assert inside > 0.9, f"only {inside:.0%} of the Gaussians lie within the collider's box"
    # The scene file itself (scene.usdz) is accepted too.
    assert len(load_world(exported / "scene.usdz").scenes[0].load_splats(0)) == len(s)


def test_composed_world_places_scenes_and_robots_and_redraws(exported, tmp_path):
    from lyra_sim.sim import WorldCfg, compose_world, read_world_record, write_world

    cfg = WorldCfg(num_envs=2)
    cfg.randomization.seed = 3
    out = write_world(compose_world([exported], ["builtin"], cfg), tmp_path / "world.usda")
    world = load_world(tmp_path)  # the folder holding the world finds it
    assert world.kind == "composed" and world.seed == 3 and len(world.placements) == 2
    expected = read_world_record(compose_world([exported], ["builtin"], cfg))["draws"]
    for p, draw in zip(world.placements, expected.envs):
        yaw = np.degrees(np.arctan2(p.matrix[1, 0], p.matrix[0, 0]))
        assert yaw == pytest.approx((draw.scene_yaw + 180) % 360 - 180, abs=1e-3)
        # The robot stands near one of the scene's spawn points (within the drawn jitter), placed as the scene is.
        spawn = world.scenes[p.scene].spawn_points @ p.matrix[:3, :3].T + p.matrix[:3, 3]
        assert len(p.robots) == 1
        assert np.linalg.norm(spawn[:, :2] - p.robots[0][:2, 3], axis=1).min() < 0.3
    viewer = WorldViewer(load_world(out), port=0)
    try:
        assert "redraw" in viewer.gui
        before = [p.matrix.copy() for p in viewer._placements]
        viewer.redraw()
        assert viewer.seed == 4 and viewer.gui["seed"].value == 4
        cfg.randomization.seed = 4
        again = read_world_record(compose_world([exported], ["builtin"], cfg))["draws"]
        for p, draw in zip(viewer._placements, again.envs):
            yaw = np.degrees(np.arctan2(p.matrix[1, 0], p.matrix[0, 0]))
            assert yaw == pytest.approx((draw.scene_yaw + 180) % 360 - 180, abs=1e-3)
        assert any(not np.allclose(a, p.matrix) for a, p in zip(before, viewer._placements))
        assert len(viewer._robot_handles) == 2
    finally:
        viewer.stop()


# ------------------------------------------------------------------------------ refusals
def _refused(capsys, argv) -> str:
    assert main(["view", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lyra-sim view: error: "), err
    return err[0]


def test_refuses_a_missing_path(capsys, tmp_path):
    assert "no such file or folder" in _refused(capsys, [str(tmp_path / "nope")])


def test_refuses_a_file_that_is_no_splat_format(capsys, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n" * 100)
    assert "not a lyra-sim world or a splat file" in _refused(capsys, [str(junk)])


def test_refuses_a_folder_that_is_not_a_world(capsys, tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    assert "not a lyra-sim world" in _refused(capsys, [str(tmp_path)])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_refuses_an_unreadable_file(capsys, tmp_path):
    path = write_ply(two_colour_scene(10), tmp_path / "locked.ply")
    path.chmod(0)
    assert "cannot read" in _refused(capsys, [str(path)])


def test_refuses_a_port_in_use(capsys, tmp_path):
    world = write_generated_world(tmp_path / "w")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert f"port {port} on 127.0.0.1 is in use" in _refused(capsys, [str(world), "--port", str(port)])


def _deaf_to_ctrl_c() -> None:
    """In the child before exec: SIGINT ignored and blocked, as a parent that loaded some native
    libraries leaves it (both are inherited; this is how CI's viewer could not be stopped)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


@pytest.mark.parametrize("parent", ["plain", "deaf to Ctrl-C"])
def test_cli_prints_the_url_serves_the_page_and_stops_on_ctrl_c(tmp_path, parent):
    world = write_generated_world(tmp_path / "w")
    proc = subprocess.Popen([sys.executable, "-m", "lyra_sim.cli", "view", str(world), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_deaf_to_ctrl_c if parent != "plain" else None)
    try:
        line = proc.stdout.readline()
        assert line.startswith("lyra-sim view: http://127.0.0.1:"), line
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=20)
        assert rc == 0, (rc, proc.stderr.read())
    finally:
        if proc.poll() is None:
            proc.kill()
