"""Read a scene written by hand in Lyra's original SDG layout; clear errors when it is broken."""

import shutil
import time
import zipfile

import imageio.v2 as imageio
import numpy as np
import pytest
import torch
from sdg_fixtures import write_original_scene
from zip_bomb import write_zip_bomb

from lyra_sim.data import LatentStatistics, LyraScene, find_scenes
from lyra_sim.errors import DatasetError, InvalidInputError


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_reads_every_field(original_scene):
    o = original_scene
    stats = LatentStatistics(o.mean, o.std)
    scene = LyraScene(o.root, latent_statistics=stats)
    assert scene.key == "00042" and scene.trajectory_ids == ["0", "1", "2"]  # "flag" is not a trajectory
    assert scene.num_frames == 9 and scene.image_size == (48, 64) and not scene.is_dynamic
    assert scene.description is None and scene.info == {}
    scene.validate()

    # Frames: float RGB in [0, 1], within the loss of quality-8 H.264.
    frames = scene.load_frames("1", [4, 0, 4])
    assert frames.shape == (3, 3, 48, 64) and frames.dtype == torch.float32
    truth = o.frames["1"][[4, 0, 4]].transpose(0, 3, 1, 2) / 255.0
    assert _psnr(frames.numpy(), truth) > 28.0
    assert torch.equal(frames[0], frames[2])
    # A frame from another trajectory is much further off (the check can fail).
    assert _psnr(frames.numpy(), o.frames["2"][[4, 0, 4]].transpose(0, 3, 1, 2) / 255.0) < 20.0

    # Poses: rows stored scrambled with an extra frame, found through inds.
    idx = [8, 0, 3]
    assert torch.allclose(scene.load_c2w("2", idx), torch.from_numpy(o.c2w["2"][idx]).float(), atol=1e-6)
    # Intrinsics: inds start at -3, so row f holds frame f - 3.
    assert torch.allclose(scene.load_intrinsics("0", idx), torch.from_numpy(o.fxfycxcy["0"][idx]).float())
    cams = scene.load_cameras("0", idx)
    assert (cams.width, cams.height) == (64, 48)
    assert torch.allclose(cams.K[:, 0, 2], torch.from_numpy(o.fxfycxcy["0"][idx, 2]).float())

    # Depth: half-float precision (relative 2^-11).
    depth = scene.load_depth("1", [2, 7])
    expected = torch.from_numpy(o.depth["1"][[2, 7]])
    assert depth.shape == (2, 48, 64)
    assert torch.allclose(depth, expected, rtol=2**-11, atol=0)
    assert torch.equal(depth, expected.half().float())

    # Latents: de-normalised per channel and latent frame, x / 0.5 * std + mean.
    lat = scene.load_latents("2")
    x = torch.from_numpy(o.latents["2"][0])
    mean, std = torch.from_numpy(o.mean[:, :2]).float(), torch.from_numpy(o.std[:, :2]).float()
    assert lat.shape == (16, 2, 6, 8)
    assert torch.allclose(lat, x / 0.5 * std[..., None, None] + mean[..., None, None], atol=1e-5)
    assert torch.allclose(LyraScene(o.root).load_latents("2"), x)  # no statistics: as stored
    assert torch.allclose(LyraScene(o.root, latent_statistics=lambda t: t * 2).load_latents("2"), 2 * x)
    assert torch.allclose(stats.normalize(lat), x, atol=1e-5)


def test_resize_and_relative_cameras(original_scene):
    scene = LyraScene(original_scene.root)
    frames = scene.load_frames("0", [1, 2], size=(32, 32))
    assert frames.shape == (2, 3, 32, 32)
    cams = scene.load_cameras("0", [1, 2], size=(32, 32), reference=scene.load_c2w("0", [1])[0])
    assert torch.allclose(cams.c2w[0], torch.eye(4), atol=1e-5)
    fx, fy, cx, cy = original_scene.fxfycxcy["0"][1]
    s = 32 / 48  # 48x64 -> crop 48x48 (8 columns off the left) -> 32x32
    assert torch.allclose(cams.K[0], torch.tensor([[fx * s, 0, (cx - 8) * s], [0, fy * s, cy * s], [0, 0, 1]]).float(), atol=1e-4)
    assert scene.load_depth("0", [1], size=(32, 32)).shape == (1, 32, 32)


def test_several_scenes_in_one_root(tmp_path):
    root = tmp_path / "lyra_static"
    write_original_scene(root, key="a", T=3, H=16, W=16)
    shutil.rmtree(root / "flag")
    write_original_scene(root, key="b", T=3, H=16, W=16, seed=1)
    with pytest.raises(DatasetError, match="pass key="):
        LyraScene(root)
    assert [k for _, k in find_scenes(root)] == ["a", "b"]
    assert find_scenes(tmp_path) == [(root, "a"), (root, "b")]  # one level down
    assert LyraScene(root, key="b").num_frames == 3


def test_missing_and_inconsistent_files_name_the_problem(original_scene):
    root = original_scene.root
    (root / "1" / "intrinsics" / "00042.npz").unlink()
    with pytest.raises(DatasetError, match=r"trajectory 1 lacks intrinsics/00042.npz") as info:
        LyraScene(root)
    assert str(root) in str(info.value)


def test_frame_lookup_errors(original_scene):
    root = original_scene.root
    np.savez(root / "0" / "pose" / "00042.npz", data=np.tile(np.eye(4), (3, 1, 1)), inds=np.array([0, 2, 4]))
    scene = LyraScene(root)
    assert scene.load_c2w("0", [0, 4]).shape == (2, 4, 4)
    with pytest.raises(DatasetError, match=r"pose/00042.npz: has no entry for frames \[3\]"):
        scene.load_c2w("0", [3])
    with pytest.raises(DatasetError, match="frame indices must be in"):
        scene.load_frames("0", [9])
    with pytest.raises(DatasetError, match="no trajectory '7'"):
        scene.load_frames("7", [0])
    with pytest.raises(DatasetError, match="has no entry"):
        scene.validate()


def test_frame_count_mismatch_and_corrupt_files(original_scene):
    root = original_scene.root
    imageio.mimsave(root / "2" / "rgb" / "00042.mp4", list(original_scene.frames["2"][:5]), "mp4", fps=24, macro_block_size=1)
    with pytest.raises(DatasetError, match="has 5 frames but the scene has 9"):
        LyraScene(root).validate()
    (root / "1" / "depth" / "00042.zip").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="not a readable zip"):
        LyraScene(root).load_depth("1", [0])
    with zipfile.ZipFile(root / "0" / "depth" / "00042.zip", "w") as zf:
        zf.writestr("00000.exr", b"\x76\x2f\x31\x01truncated")
    with pytest.raises(DatasetError, match=r"00042.zip:00000.exr"):
        LyraScene(root).load_depth("0", [0])
    with pytest.raises(DatasetError, match=r"has no 00003.exr"):
        LyraScene(root).load_depth("0", [3])
    (root / "0" / "rgb" / "00042.mp4").write_bytes(b"not a video")
    with pytest.raises(DatasetError, match="00042.mp4"):
        LyraScene(root).load_frames("0", [0])


def test_not_a_scene(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        LyraScene(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no trajectory folders"):
        LyraScene(tmp_path / "empty")


def test_zip_bombs_are_refused_before_inflating(original_scene):
    # A depth zip of a few KB whose frame declares 2 GiB: refused from the zip's directory, in
    # well under a second (it took 62 s and 4.45 GB before the cap).
    root = original_scene.root
    depth = root / "0" / "depth" / "00042.zip"
    with zipfile.ZipFile(root / "1" / "depth" / "00042.zip") as zf:
        frame = zf.read("00000.exr")
    write_zip_bomb(depth, "00003.exr", extra={"00000.exr": frame})
    assert LyraScene(root).load_depth("0", [0]).shape[0] == 1  # the honest frame still reads
    scene = LyraScene(root)
    start = time.perf_counter()
    with pytest.raises(InvalidInputError, match=r"00042.zip: member '00003.exr' declares 2,147,483,648 bytes"):
        scene.load_depth("0", [0, 3])
    assert time.perf_counter() - start < 1.0
    # A pose table (.npz) the same way.
    write_zip_bomb(root / "1" / "pose" / "00042.npz", "data.npy")
    with pytest.raises(InvalidInputError, match="'data.npy' declares"):
        LyraScene(root).load_c2w("1", [0])
