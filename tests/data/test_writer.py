"""write_scene -> LyraScene round trip from a synthetic TeacherOutput; atomic, non-clobbering writes."""

import json

import numpy as np
import pytest
import torch
from sdg_fixtures import make_teacher_output

from lyra_sim.data import (
    LatentStatistics,
    LyraScene,
    write_scene,
    writer,
)
from lyra_sim.data.safe_pickle import load_array_pickle
from lyra_sim.errors import DatasetError, InvalidInputError, OutputExistsError


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / ((a.double() - b.double()) ** 2).mean()))


def test_static_round_trip(tmp_path):
    out = make_teacher_output(num_trajectories=2)
    dest = write_scene(out, tmp_path / "scene_7")
    scene = LyraScene(dest)
    scene.validate()
    assert scene.key == "scene_7" and scene.trajectory_ids == ["0", "1"] and not scene.is_dynamic
    assert scene.num_frames == 9 and scene.image_size == (48, 64)
    info = scene.info
    assert info["codec"] == "dct-t8" and info["depth_is_metric"] is True
    assert info["trajectories"] == ["left", "right"] and info["times"] is None
    assert info["video"] == {"codec": "libx264", "quality": 8, "lossless": False}
    assert torch.allclose(torch.tensor(info["world_from_scene"], dtype=torch.float64), out.world_from_scene.double())
    assert scene.description == out.description

    for i, traj in enumerate(out.trajectories):
        t = str(i)
        frames = scene.load_frames(t)
        assert _psnr(frames, traj.frames) > 28.0  # lossy H.264 at 48x64 (about 30 dB)
        cams = scene.load_cameras(t)
        assert torch.allclose(cams.c2w, traj.cameras.c2w.float(), atol=1e-6)
        assert torch.allclose(cams.K, traj.cameras.K.float(), atol=1e-5)
        depth = scene.load_depth(t)
        assert torch.allclose(depth, traj.depth, rtol=2**-11, atol=0)
        assert depth[:, 0, 0].eq(0).all()  # unknown stays 0
        assert torch.equal(scene.load_mask(t), traj.mask)
        assert torch.equal(scene.load_latents(t), traj.latents)
    # The latent file is GEN3C's: torch.save of a float32 numpy [1, C, t, h, w].
    stored = load_array_pickle(dest / "0" / "latent" / "scene_7.pkl")
    assert isinstance(stored, np.ndarray) and stored.dtype == np.float32 and stored.shape == (1, 16, 2, 6, 8)
    with np.load(dest / "0" / "pose" / "scene_7.npz") as npz:
        assert sorted(npz.files) == ["data", "inds"] and npz["data"].shape == (9, 4, 4)
    meshes, times = scene.load_meshes()
    assert times is None and len(meshes) == 1
    assert torch.equal(meshes[0].vertices, out.meshes[0].vertices) and torch.equal(meshes[0].faces, out.meshes[0].faces)


def test_dynamic_round_trip_with_normalised_latents(tmp_path):
    out = make_teacher_output(num_trajectories=6, T=9, H=16, W=16, dynamic=True)
    g = torch.Generator().manual_seed(1)
    stats = LatentStatistics(torch.randn(16, 16, generator=g), torch.rand(16, 16, generator=g) + 0.5)
    dest = write_scene(out, tmp_path / "dyn", key="k", latent_statistics=stats)
    scene = LyraScene(dest)
    assert scene.is_dynamic and scene.trajectory_ids == [str(i) for i in range(12)]
    assert scene.info["trajectories"][6] == "left_flipped" and scene.info["latents"]["normalized"]
    assert np.allclose(scene.info["times"]["11"], np.linspace(0, 1, 9))
    with pytest.raises(DatasetError, match="stored normalised"):
        scene.load_latents("0")
    restored = LyraScene(dest, latent_statistics=stats).load_latents("3")
    assert torch.allclose(restored, out.trajectories[3].latents, atol=1e-5)
    meshes, times = scene.load_meshes()
    assert len(meshes) == 3 and torch.equal(times, out.mesh_times.double())
    assert not scene.has("mask", "6") and scene.has("mask", "0")


def test_lossless_video_is_exact(tmp_path):
    out = make_teacher_output(num_trajectories=1, T=3, H=10, W=13)  # odd width: fine without yuv420p
    scene = LyraScene(write_scene(out, tmp_path / "s", lossless_video=True))
    expected = (out.trajectories[0].frames * 255).round() / 255
    assert torch.equal(scene.load_frames("0"), expected)
    with pytest.raises(InvalidInputError, match="even frame size"):
        write_scene(out, tmp_path / "odd")
    assert not (tmp_path / "odd").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_inconsistent_output_is_rejected_before_writing(tmp_path):
    out = make_teacher_output(num_trajectories=2, T=3, H=8, W=8)
    out.trajectories[1].frames = out.trajectories[1].frames[:2]
    with pytest.raises(InvalidInputError, match="every trajectory of a scene must match"):
        write_scene(out, tmp_path / "bad")
    with pytest.raises(InvalidInputError, match="plain file stem"):
        write_scene(make_teacher_output(num_trajectories=1, T=3, H=8, W=8), tmp_path / "bad", key="../evil")
    assert not any(tmp_path.iterdir())


class _Boom(RuntimeError):
    pass


def test_exception_mid_write_leaves_nothing(tmp_path, monkeypatch):
    out = make_teacher_output(num_trajectories=3, T=3, H=8, W=8)
    calls = []
    real = writer._write_trajectory

    def failing(root, traj_id, *args, **kwargs):
        calls.append(traj_id)
        if traj_id == "2":
            assert (root / "0" / "rgb").is_dir()  # half a scene exists, in the temp dir only
            raise _Boom("disk full")
        return real(root, traj_id, *args, **kwargs)

    monkeypatch.setattr(writer, "_write_trajectory", failing)
    with pytest.raises(_Boom):
        write_scene(out, tmp_path / "scene")
    assert calls == ["0", "1", "2"]
    assert list(tmp_path.iterdir()) == []  # no scene, no temp dir


def test_existing_scene_is_kept_unless_overwrite(tmp_path, monkeypatch):
    first = make_teacher_output(num_trajectories=1, T=3, H=8, W=8, seed=0)
    second = make_teacher_output(num_trajectories=2, T=3, H=8, W=8, seed=1)
    dest = write_scene(first, tmp_path / "scene")
    before = sorted(str(p.relative_to(dest)) for p in dest.rglob("*"))
    with pytest.raises(OutputExistsError):
        write_scene(second, dest)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == before

    # A failing overwrite leaves the old scene in place.
    monkeypatch.setattr(writer, "_write_meshes", lambda *a: (_ for _ in ()).throw(_Boom()))
    with pytest.raises(_Boom):
        write_scene(second, dest, overwrite=True)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == before
    monkeypatch.undo()

    write_scene(second, dest, overwrite=True)
    assert LyraScene(dest).trajectory_ids == ["0", "1"]
    assert json.loads((dest / "scene.json").read_text())["description"]["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene"]  # no .old or .partial left


def test_overwrite_refuses_a_folder_that_is_not_a_scene(tmp_path):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("do not delete")
    out = make_teacher_output(num_trajectories=1, T=3, H=8, W=8, seed=0)
    with pytest.raises(DatasetError, match="does not look like a scene"):
        write_scene(out, precious, overwrite=True)
    assert (precious / "thesis.tex").read_text() == "do not delete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
