"""Depth estimators: tiny random transformers checkpoints saved to disk and loaded the user's way."""

from __future__ import annotations

import json
import sys
import types

import pytest
import torch

transformers = pytest.importorskip("transformers")

from lyra_sim.errors import (
    InvalidInputError,
    MissingDependencyError,
    MissingWeightsError,
)
from lyra_sim.teachers.depth import (
    DepthEstimate,
    DepthEstimator,
    DepthEstimatorCfg,
    intrinsics_from_fov,
    load_depth_estimator,
)
from lyra_sim.teachers.image_prep import ImagePrepCfg, model_input_size, prepare_image

DA_PREP = {  # the preprocessor_config.json of depth-anything/Depth-Anything-V2-*-hf, size shrunk
    "do_normalize": True, "do_rescale": True, "do_resize": True, "ensure_multiple_of": 14,
    "image_mean": [0.485, 0.456, 0.406], "image_processor_type": "DPTImageProcessor",
    "image_std": [0.229, 0.224, 0.225], "keep_aspect_ratio": True, "resample": 3,
    "rescale_factor": 0.00392156862745098, "size": {"height": 42, "width": 42},
}
ZOE_PREP = {  # Intel/zoedepth-nyu-kitti's, size shrunk
    "do_normalize": True, "do_pad": True, "do_rescale": True, "do_resize": True, "ensure_multiple_of": 32,
    "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "ZoeDepthImageProcessor", "image_std": [0.5, 0.5, 0.5],
    "keep_aspect_ratio": True, "resample": 2, "size": {"height": 64, "width": 96},
}


def _image(h=30, w=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(3, h, w, generator=g)


def _save(model, prep: dict, folder):
    model.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(prep))
    return folder


def _tiny_depth_anything(tmp_path, kind: str):
    torch.manual_seed(0)
    backbone = transformers.Dinov2Config(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, image_size=28,
        patch_size=14, out_features=["stage1", "stage2"], reshape_hidden_states=False,
    )
    cfg = transformers.DepthAnythingConfig(
        backbone_config=backbone, reassemble_hidden_size=16, fusion_hidden_size=16, head_hidden_size=8,
        neck_hidden_sizes=[8, 16], reassemble_factors=[2, 1], depth_estimation_type=kind, max_depth=20,
    )
    model = transformers.DepthAnythingForDepthEstimation(cfg)
    with torch.no_grad():  # random init leaves the head near a constant; make the output vary
        for p in model.head.parameters():
            p.add_(0.3 * torch.randn_like(p))
        if kind == "relative":  # positive disparity: ReLU output, push the last bias up
            model.head.conv3.bias.fill_(1.0)
    return _save(model, DA_PREP, tmp_path / f"da-{kind}")


def _tiny_zoedepth(tmp_path):
    torch.manual_seed(0)
    backbone = transformers.BeitConfig(
        hidden_size=16, num_hidden_layers=4, num_attention_heads=2, intermediate_size=32, image_size=64, patch_size=16,
        out_features=["stage1", "stage2", "stage3", "stage4"], reshape_hidden_states=False, use_relative_position_bias=True,
    )
    cfg = transformers.ZoeDepthConfig(
        backbone_config=backbone, neck_hidden_sizes=[8, 8, 16, 16], fusion_hidden_size=16, bottleneck_features=16,
        bin_embedding_dim=8, num_relative_features=8,
        bin_configurations=[{"n_bins": 8, "min_depth": 1e-3, "max_depth": 10.0, "name": "nyu"}],
        num_patch_transformer_layers=1, patch_transformer_hidden_size=16, patch_transformer_intermediate_size=16,
        patch_transformer_num_attention_heads=2,
    )
    return _save(transformers.ZoeDepthForDepthEstimation(cfg), ZOE_PREP, tmp_path / "zoe")


def _check_estimate(est: DepthEstimate, h: int, w: int):
    assert est.depth.shape == (h, w) and est.mask.shape == (h, w) and est.mask.dtype == torch.bool
    assert est.K.shape == (3, 3)
    assert torch.isfinite(est.depth).all()
    assert est.mask.float().mean() > 0.9  # random weights still give positive, finite depth
    assert (est.depth[est.mask] > 0).all() and (est.depth[~est.mask] == 0).all()


def test_depth_anything_metric_loads_from_folder_and_estimates(tmp_path):
    folder = _tiny_depth_anything(tmp_path, "metric")
    est = load_depth_estimator(folder, fov_degrees=50.0, device="cpu")
    assert isinstance(est, DepthEstimator) and est.is_metric and est.name == "depth_anything_metric"
    out = est.estimate(_image(30, 40))
    _check_estimate(out, 30, 40)
    assert out.is_metric and not out.intrinsics_estimated
    assert (out.depth <= 20).all()  # the metric head is sigmoid * max_depth
    assert out.depth[out.mask].std() > 0  # the prediction varies over the image
    assert torch.allclose(out.K, intrinsics_from_fov(50.0, 30, 40))


def test_depth_anything_relative_is_normalised_to_median_one(tmp_path):
    est = load_depth_estimator(DepthEstimatorCfg(path=str(_tiny_depth_anything(tmp_path, "relative")), device="cpu"))
    assert not est.is_metric
    out = est.estimate(_image(28, 35))
    _check_estimate(out, 28, 35)
    assert out.depth[out.mask].median() == pytest.approx(1.0, rel=1e-5)


def test_zoedepth_loads_from_folder_and_estimates(tmp_path):
    est = load_depth_estimator(_tiny_zoedepth(tmp_path), device="cpu")
    assert est.name == "zoedepth" and est.is_metric
    assert est.prep.reflect_pad and est.prep.ensure_multiple_of == 32 and est.prep.mean == (0.5, 0.5, 0.5)
    out = est.estimate(_image(30, 44))
    _check_estimate(out, 30, 44)


def test_intrinsics_from_fov_matches_the_definition():
    K = intrinsics_from_fov(90.0, 100, 160)
    assert K[1, 1] == pytest.approx(50.0) and K[0, 0] == pytest.approx(50.0)
    assert K[0, 2] == pytest.approx(80.0) and K[1, 2] == pytest.approx(50.0)


def test_prepare_image_sizes_are_multiples_of_the_patch_and_normalised():
    cfg = ImagePrepCfg(height=518, width=518, ensure_multiple_of=14)
    # transformers' rule: the side whose scale is closer to 1 decides; round to multiples of 14
    assert model_input_size(480, 640, cfg) == (518, 686)
    assert model_input_size(1080, 1920, cfg) == (518, 924)
    img = torch.full((3, 20, 30), 0.485)
    x = prepare_image(img, ImagePrepCfg(height=28, width=28))
    assert x.shape == (1, 3, 14, 28)  # width scale 0.93 is closer to 1 than 1.4: 18.7 x 28 -> 14 x 28
    assert x[0, 0].abs().max() < 1e-5  # the red channel equals its mean


def test_missing_folder_names_the_layout_and_never_downloads(tmp_path, monkeypatch):
    import huggingface_hub

    def no_download(*a, **k):
        raise AssertionError("tried to download")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_download)
    with pytest.raises(MissingWeightsError) as err:
        load_depth_estimator(tmp_path / "nope", backend="depth_anything")
    msg = str(err.value)
    assert "config.json" in msg and "model.safetensors" in msg and "preprocessor_config.json" in msg
    assert "huggingface-cli download" in msg and str(tmp_path / "nope") in msg
    with pytest.raises(MissingWeightsError, match="does not exist"):
        load_depth_estimator(tmp_path / "nope")  # auto detection fails the same way


def test_incomplete_folder_says_what_is_missing(tmp_path):
    folder = _tiny_depth_anything(tmp_path, "metric")
    (folder / "preprocessor_config.json").unlink()
    with pytest.raises(MissingWeightsError, match="lacks preprocessor_config.json"):
        load_depth_estimator(folder)


def test_wrong_model_type_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(InvalidInputError, match="bert"):
        load_depth_estimator(tmp_path)


def test_moge_without_the_package_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "model.pt").write_bytes(b"")
    monkeypatch.setattr("lyra_sim.teachers.depth.moge_installed", lambda: False)  # whatever is installed here
    with pytest.raises(MissingDependencyError, match="moge"):
        load_depth_estimator(tmp_path)


def test_moge_backend_converts_normalised_intrinsics(tmp_path, monkeypatch):
    """A stand-in ``moge`` package: the adapter loads from the local file and scales K to pixels."""
    (tmp_path / "model.pt").write_bytes(b"")
    loaded = {}

    class FakeMoGe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        @classmethod
        def from_pretrained(cls, path):
            loaded["path"] = path
            return cls()

        def infer(self, image):
            h, w = image.shape[-2:]
            depth = torch.full((h, w), 2.0)
            depth[0, 0] = float("inf")
            mask = torch.ones(h, w, dtype=torch.bool)
            K = torch.tensor([[0.8, 0, 0.5], [0, 1.2, 0.5], [0, 0, 1.0]])
            return {"depth": depth, "mask": mask, "intrinsics": K}

    v1 = types.ModuleType("moge.model.v1")
    v1.MoGeModel = FakeMoGe
    for name, mod in {"moge": types.ModuleType("moge"), "moge.model": types.ModuleType("moge.model"), "moge.model.v1": v1}.items():
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setattr("lyra_sim.teachers.depth.moge_installed", lambda: True)
    est = load_depth_estimator(tmp_path, device="cpu")
    assert est.name == "moge_v1" and not est.is_metric and loaded["path"] == str(tmp_path / "model.pt")
    out = est.estimate(_image(20, 30))
    assert out.intrinsics_estimated
    assert torch.allclose(out.K, torch.tensor([[24.0, 0, 15.0], [0, 24.0, 10.0], [0, 0, 1.0]]))
    assert not out.mask[0, 0] and out.depth[0, 0] == 0 and out.mask.sum() == 20 * 30 - 1
