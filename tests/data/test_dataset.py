"""LyraDataset items: documented shapes, Lyra's relative poses, determinism, latents and dynamic scenes."""

import numpy as np
import pytest
import torch
from sdg_fixtures import make_teacher_output

from lyra_sim.data import (
    LyraDataset,
    LyraDatasetCfg,
    LyraScene,
    ViewSamplingCfg,
    relative_to,
    write_scene,
)
from lyra_sim.errors import DatasetError


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("sdg")
    write_scene(make_teacher_output(num_trajectories=3, T=17, H=24, W=32, seed=0), root / "static_a")
    write_scene(make_teacher_output(num_trajectories=6, T=9, H=16, W=16, dynamic=True, with_latents=False, seed=1), root / "dynamic_b")
    return root


def _cfg(**kw):
    sampling = {"num_input_frames": 4, "num_target_frames": 3, "min_gap": 5, "max_gap": 10, "num_input_trajectories": 2}
    sampling.update(kw.pop("sampling", {}))
    return LyraDatasetCfg(sampling=ViewSamplingCfg(**sampling), **kw)


def test_static_item_shapes_and_values(scenes):
    ds = LyraDataset(scenes, _cfg(image_size=(16, 16), sampling={"sample_num_input_trajectories": False}))
    assert len(ds) == 2 and [s.key for s in ds.scenes] == ["dynamic_b", "static_a"]
    item = ds[1]
    V = 2
    assert item["input_frames"].shape == (V, 4, 3, 16, 16)
    assert item["input_c2w"].shape == (V, 4, 4, 4) and item["input_K"].shape == (V, 4, 3, 3)
    assert item["target_frames"].shape == (V, 3, 3, 16, 16) and item["target_depth"].shape == (V, 3, 16, 16)
    assert item["target_c2w"].shape == (V, 3, 4, 4) and item["target_K"].shape == (V, 3, 3, 3)
    assert item["input_frame_indices"].dtype == torch.int64 and "input_times" not in item
    assert torch.equal(item["target_trajectories"], item["input_trajectories"])

    # Values agree with the scene reader; poses are relative to the first input camera.
    scene = ds.scenes[1]
    t0 = str(int(item["input_trajectories"][0]))
    f0 = item["input_frame_indices"][0]
    ref = scene.load_c2w(t0, f0[:1])[0]
    assert torch.allclose(item["input_c2w"][0, 0], torch.eye(4), atol=1e-5)
    for v in range(V):
        t = str(int(item["target_trajectories"][v]))
        idx = item["target_frame_indices"][v]
        assert torch.allclose(item["target_c2w"][v], relative_to(scene.load_c2w(t, idx), ref), atol=1e-5)
        assert torch.equal(item["target_frames"][v], scene.load_frames(t, idx, size=(16, 16)))
        assert torch.equal(item["target_depth"][v], scene.load_depth(t, idx, size=(16, 16)))
    # 24x32 -> crop 24x24 (4 columns off the left) -> 16x16: K follows.
    K_native = scene.load_cameras(t0, f0[:1]).K[0]
    s = 16 / 24
    assert torch.allclose(item["input_K"][0, 0, 0, 2], (K_native[0, 2] - 4) * s)
    assert torch.allclose(item["input_K"][0, 0, 0, 0], K_native[0, 0] * s)


def test_deterministic_per_seed_index_and_epoch(scenes):
    ds = LyraDataset(scenes / "static_a", _cfg(load_input_frames=False, load_depth=False, seed=3))
    a, b = ds[0], ds[0]
    assert "input_frames" not in a and "target_depth" not in a
    assert all(torch.equal(a[k], b[k]) for k in a)
    other_seed = LyraDataset(scenes / "static_a", _cfg(load_input_frames=False, load_depth=False, seed=4))
    ds.set_epoch(1)
    draws = {tuple(x.sample_views(0).input_frames.ravel()) for x in (other_seed, ds)}
    draws.add(tuple(a["input_frame_indices"].numpy().ravel()))
    assert len(draws) == 3


def test_latents_need_every_frame_as_input(scenes):
    cfg = _cfg(load_latents=True, load_input_frames=False, sampling={"num_input_frames": 17, "sample_num_input_trajectories": False})
    item = LyraDataset(scenes / "static_a", cfg)[0]
    assert item["input_latents"].shape == (2, 16, 3, 3, 4)
    scene = LyraScene(scenes / "static_a")
    assert torch.equal(item["input_latents"][1], scene.load_latents(str(int(item["input_trajectories"][1]))))
    with pytest.raises(DatasetError, match="load_latents needs every frame"):
        LyraDataset(scenes / "static_a", _cfg(load_latents=True))[0]


def test_dynamic_item_has_twelve_targets_at_one_time(scenes):
    ds = LyraDataset(scenes / "dynamic_b", _cfg(sampling={"num_input_frames": 5, "num_input_trajectories": 6}))
    item = ds[0]
    V = item["input_frames"].shape[0]
    assert 1 <= V <= 6 and (item["input_trajectories"] < 6).all()
    assert item["target_frames"].shape == (12, 1, 3, 16, 16)
    assert torch.equal(item["target_trajectories"], torch.arange(12))
    t = item["target_frame_indices"]
    assert (t == t[0, 0]).all() and t[0, 0] in item["input_frame_indices"][0]
    # Lyra's times: frame indices normalised over the sample to [0, 1].
    assert item["input_times"][0, 0] == 0 and item["input_times"][0, -1] == 1
    assert torch.all(item["target_times"] == item["target_times"][0, 0])
    idx = item["input_frame_indices"][0].float()
    assert torch.allclose(item["input_times"][0], (idx - idx.min()) / (idx.max() - idx.min()))


def test_dataloader_batches(scenes):
    ds = LyraDataset([scenes / "static_a"], _cfg(load_depth=False, sampling={"sample_num_input_trajectories": False}))
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=1)))
    assert batch["input_frames"].shape == (1, 2, 4, 3, 24, 32)
    assert np.all(np.diff(batch["input_frame_indices"][0, 0].numpy()) > 0)
