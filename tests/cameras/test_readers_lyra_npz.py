"""Lyra pose npz reader: the dataset's ``pose/<key>.npz`` (c2w) and Lyra-2's trajectory (w2c)."""

import numpy as np
import pytest

from lyra_sim.cameras.readers import CameraFileError, read_capture_cameras


def poses(n: int = 3) -> np.ndarray:
    c2w = np.tile(np.eye(4), (n, 1, 1))
    c2w[:, 0, 3] = np.arange(n)
    a = np.radians(30)
    c2w[1, :3, :3] = [[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]]
    return c2w


def test_dataset_pose_npz_is_camera_to_world_with_sibling_intrinsics(tmp_path):
    (tmp_path / "pose").mkdir()
    (tmp_path / "intrinsics").mkdir()
    np.savez(tmp_path / "pose" / "k.npz", data=poses(), inds=np.arange(3))
    np.savez(tmp_path / "intrinsics" / "k.npz", data=np.tile([700.0, 710.0, 640.0, 352.0], (3, 1)), inds=np.arange(3))
    cams = read_capture_cameras(tmp_path / "pose" / "k.npz")
    assert np.allclose(cams.c2w.numpy(), poses(), atol=1e-6)
    assert (cams.width, cams.height) == (1280, 704) and np.allclose(cams.K[0].numpy(), [[700, 0, 640], [0, 710, 352], [0, 0, 1]])


def test_dataset_poses_are_made_relative_to_the_first_camera(tmp_path):
    """Lyra's decoder works in the first camera's frame: inv(c2w[0]) @ c2w, as its loader does."""
    from lyra_sim.cameras.readers.lyra_npz import read_lyra_pose_npz

    first = np.eye(4)
    first[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]
    first[:3, 3] = [5, 6, 7]
    stored = first @ poses()
    np.savez(tmp_path / "k.npz", data=stored, inds=np.arange(3))
    assert np.allclose(read_capture_cameras(tmp_path / "k.npz").c2w.numpy(), poses(), atol=1e-5)
    assert np.allclose(read_lyra_pose_npz(tmp_path / "k.npz", relative=False).c2w.numpy(), stored, atol=1e-5)


def test_pose_npz_alone_gets_assumed_intrinsics(tmp_path):
    np.savez(tmp_path / "k.npz", data=poses(), inds=np.arange(3))
    cams = read_capture_cameras(tmp_path / "k.npz")
    assert len(cams) == 3 and cams.K[0, 0, 2].item() == 640


def test_lyra2_trajectory_is_world_to_camera(tmp_path):
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    np.savez(tmp_path / "trajectory.npz", w2c=np.linalg.inv(poses()), intrinsics=np.tile(K, (3, 1, 1)),
             image_height=480, image_width=640)
    cams = read_capture_cameras(tmp_path / "trajectory.npz")
    assert np.allclose(cams.c2w.numpy(), poses(), atol=1e-5) and (cams.width, cams.height) == (640, 480)


@pytest.mark.parametrize("arrays, match", [
    ({"other": np.zeros(3)}, "holds \\['other'\\]"),
    ({"data": np.zeros((3, 3, 3))}, "must be \\[N, 4, 4\\]"),
    ({"data": np.zeros((2, 4, 4))}, "not a rotation"),
    ({"w2c": np.zeros((2, 4, 4))}, "w2c|intrinsics|missing"),
])
def test_bad_files_are_one_clear_error(tmp_path, arrays, match):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(CameraFileError, match=match):
        read_capture_cameras(tmp_path / "bad.npz")
    (tmp_path / "trunc.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(CameraFileError, match="not a readable"):
        read_capture_cameras(tmp_path / "trunc.npz")
