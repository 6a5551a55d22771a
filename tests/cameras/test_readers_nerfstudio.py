"""nerfstudio transforms.json reader: a tiny hand-written file."""

import json
import math

import numpy as np
import pytest

from lyra_sim.cameras.readers import CameraFileError, read_capture_cameras


def opengl_pose(yaw_degrees: float, eye) -> list:
    """c2w with OpenGL camera axes: looking along -z of the camera, y up, yawed about world +y."""
    a = math.radians(yaw_degrees)
    m = np.eye(4)
    m[:3, :3] = [[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]]
    m[:3, 3] = eye
    return m.tolist()


def test_opengl_camera_to_world_becomes_opencv(tmp_path):
    path = tmp_path / "transforms.json"
    path.write_text(json.dumps({
        "camera_model": "OPENCV", "fl_x": 400, "fl_y": 410, "cx": 300, "cy": 200, "w": 600, "h": 400,
        "frames": [{"file_path": "images/0.png", "transform_matrix": opengl_pose(0, [1, 2, 3])},
                   {"file_path": "images/1.png", "transform_matrix": opengl_pose(90, [0, 0, 0]), "fl_x": 800, "w": 1200,
                    "h": 800, "cx": 600, "cy": 400, "fl_y": 820}],
    }))
    cams = read_capture_cameras(path)
    c2w = cams.c2w.double().numpy()
    assert (cams.width, cams.height) == (600, 400)
    assert np.allclose(c2w[0, :3, 3], [1, 2, 3])
    # OpenCV: the camera looks along its +z, which is OpenGL's -z; image down (+y) is world -y.
    assert np.allclose(c2w[0, :3, 2], [0, 0, -1]) and np.allclose(c2w[0, :3, 1], [0, -1, 0])
    assert np.allclose(c2w[1, :3, 2], [-1, 0, 0], atol=1e-6)  # yawed 90 deg about +y: looks along -x
    assert np.allclose(cams.K[0].numpy(), [[400, 0, 300], [0, 410, 200], [0, 0, 1]])
    assert np.allclose(cams.K[1].numpy(), [[400, 0, 300], [0, 410, 200], [0, 0, 1]])  # per-frame, rescaled to 600x400


def test_camera_angle_x_only(tmp_path):
    path = tmp_path / "transforms_train.json"
    path.write_text(json.dumps({"camera_angle_x": math.radians(90), "frames": [
        {"file_path": "r_0", "transform_matrix": opengl_pose(0, [0, 0, 4])}]}))
    cams = read_capture_cameras(path)
    assert cams.K[0, 0, 0].item() == pytest.approx(cams.width / 2)


@pytest.mark.parametrize("text, match", [
    ("{oops", "not a JSON file"),
    ('{"frames": []}', "no 'frames'"),
    ('{"fl_x": 1, "frames": [{"file_path": "a"}]}', "no transform_matrix"),
    ('{"fl_x": 1, "frames": [{"transform_matrix": [[1, 0], [0, 1]]}]}', "must be 4x4"),
    ('{"fl_x": 1, "frames": [{"transform_matrix": [[2,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}', "not a rotation"),
    ('{"frames": [{"transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}', "no focal length"),
])
def test_bad_files_are_one_clear_error(tmp_path, text, match):
    path = tmp_path / "transforms.json"
    path.write_text(text)
    with pytest.raises(CameraFileError, match=match):
        read_capture_cameras(path)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(CameraFileError, match="not found"):
        read_capture_cameras(tmp_path / "nope.json")
    (tmp_path / "poses.csv").write_text("1,2,3")
    with pytest.raises(CameraFileError, match="unknown camera file"):
        read_capture_cameras(tmp_path / "poses.csv")
