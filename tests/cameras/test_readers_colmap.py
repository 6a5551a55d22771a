"""COLMAP text model reader: a tiny hand-written images.txt/cameras.txt."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from lyra_sim.cameras.readers import CameraFileError, read_capture_cameras
from lyra_sim.cameras.readers.colmap import read_colmap_text

CAMERAS = """# Camera list with one line of data per camera:
#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]
1 PINHOLE 640 480 500 510 320 240
2 SIMPLE_RADIAL 1280 960 1000 640 480 0.01
"""
Q2 = Rotation.from_euler("xyz", [10, 80, -5], degrees=True).as_quat()  # x, y, z, w
IMAGES = f"""# Image list with two lines of data per image:
#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME
#   POINTS2D[] as (X, Y, POINT3D_ID)
2 {Q2[3]} {Q2[0]} {Q2[1]} {Q2[2]} 0.5 -1 3 2 b.jpg
10.0 20.0 -1 11.0 21.0 7
1 1 0 0 0 0 0 -2 1 a.jpg

"""


def write_model(tmp_path, images=IMAGES, cameras=CAMERAS):
    sparse = tmp_path / "sparse" / "0"
    sparse.mkdir(parents=True)
    (sparse / "images.txt").write_text(images)
    if cameras is not None:
        (sparse / "cameras.txt").write_text(cameras)
    return sparse


def test_poses_are_world_to_camera_opencv(tmp_path):
    sparse = write_model(tmp_path)
    cams = read_colmap_text(sparse / "images.txt", sparse / "cameras.txt")
    assert len(cams) == 2 and (cams.width, cams.height) == (640, 480)  # sorted by IMAGE_ID; first camera's size
    c2w = cams.c2w.double().numpy()
    assert np.allclose(c2w[0], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 2], [0, 0, 0, 1]], atol=1e-6)  # centre -R^T t
    r = Rotation.from_quat(Q2).as_matrix()  # an independent quaternion convention (scalar last)
    assert np.allclose(c2w[1, :3, :3], r.T, atol=1e-6)
    assert np.allclose(c2w[1, :3, 3], -r.T @ [0.5, -1, 3], atol=1e-5)
    K = cams.K.numpy()
    assert np.allclose(K[0], [[500, 0, 320], [0, 510, 240], [0, 0, 1]])
    assert np.allclose(K[1], [[500, 0, 320], [0, 500, 240], [0, 0, 1]])  # 1280x960 rescaled to 640x480


@pytest.mark.parametrize("which", ["folder", "images", "cameras"])
def test_folder_or_either_file(tmp_path, which):
    sparse = write_model(tmp_path)
    path = {"folder": tmp_path, "images": sparse / "images.txt", "cameras": sparse / "cameras.txt"}[which]
    assert len(read_capture_cameras(path)) == 2


def test_images_without_cameras_get_a_placeholder(tmp_path):
    sparse = write_model(tmp_path, cameras=None)
    cams = read_capture_cameras(sparse / "images.txt")
    assert len(cams) == 2 and (cams.width, cams.height) == (640, 480)


@pytest.mark.parametrize("images, cameras, match", [
    ("1 1 0 0 0 0 0 x 1 a.jpg\n\n", CAMERAS, "is not 'IMAGE_ID"),
    ("1 0 0 0 0 0 0 0 1 a.jpg\n\n", CAMERAS, "zero"),
    ("1 1 0 0 0 0 0 0 7 a.jpg\n\n", CAMERAS, r"CAMERA_ID \[7\]"),
    (IMAGES, "1 WEIRD 640 480 1 2 3\n", "unknown camera model"),
    ("# nothing\n", CAMERAS, "no image poses"),
])
def test_bad_files_are_one_clear_error(tmp_path, images, cameras, match):
    sparse = write_model(tmp_path, images, cameras)
    with pytest.raises(CameraFileError, match=match):
        read_capture_cameras(sparse / "images.txt")


def test_a_binary_model_is_named(tmp_path):
    (tmp_path / "sparse" / "0").mkdir(parents=True)
    (tmp_path / "sparse" / "0" / "images.bin").write_bytes(b"\0" * 8)
    with pytest.raises(CameraFileError, match="model_converter"):
        read_capture_cameras(tmp_path)
