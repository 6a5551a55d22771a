"""The latent Gaussian decoder: shapes, activations, conditioning at init, pruning, learning,
checkpoints and Lyra's key layout."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lyra_sim.cameras import Cameras, intrinsics_matrix, lyra_trajectories
from lyra_sim.errors import InvalidInputError, MissingWeightsError
from lyra_sim.models import (
    CheckpointError,
    DecoderCfg,
    LatentGaussianDecoder,
    init_from_decoder,
    load_decoder,
    load_decoder_cfg,
    load_lyra_checkpoint,
    parameter_count,
    save_decoder,
)
from lyra_sim.render import render

REPO = Path(__file__).resolve().parents[2]


def tiny_cfg(**kw) -> DecoderCfg:
    base = dict(width=32, depth=2, num_heads=2, attention_every=2, mamba_d_state=16, mamba_headdim=16, mamba_chunk_size=32,
                codec="dct-t8", far=30.0, distance_shift=-1.9)
    return DecoderCfg(**{**base, **kw})


def inputs(V=2, t=2, h=6, w=8, B=1, seed=0):
    """Latents [B, V, 16, t, h, w] and cameras of Lyra trajectories at the matching image size."""
    g = torch.Generator().manual_seed(seed)
    T, H, W = (t - 1) * 8 + 1, h * 8, w * 8
    K = intrinsics_matrix(0.9 * W, 0.9 * W, W / 2, H / 2)
    trajs = list(lyra_trajectories(T, K, W, H, center_depth=3.0).values())[:V]
    c2w = torch.stack([c.c2w for c in trajs])[None].expand(B, -1, -1, -1, -1).contiguous()
    Ks = torch.stack([c.K for c in trajs])[None].expand(B, -1, -1, -1, -1).contiguous()
    return torch.randn(B, V, 16, t, h, w, generator=g), c2w, Ks


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LatentGaussianDecoder(tiny_cfg()).eval()


def test_output_shapes_and_gaussian_count(model):
    lat, c2w, K = inputs(V=2, t=2, h=6, w=8, B=2)
    out = model(lat, c2w, K)
    T, Hg, Wg = 9, 6, 8  # one Gaussian per 8x8 pixels of each of the 9 frames
    N = 2 * T * Hg * Wg
    assert out.means.shape == (2, N, 3) and out.quats.shape == (2, N, 4) and out.scales.shape == (2, N, 3)
    assert out.opacities.shape == (2, N) and out.rgb.shape == (2, N, 3) and out.ray_index.shape == (2, N)
    assert out.depth.shape == out.distance.shape == (2, 2, T, Hg, Wg)
    assert len(out.scene(1)) == N


def test_activations_stay_in_range_and_gaussians_sit_on_their_rays(model):
    lat, c2w, K = inputs()
    out = model(lat * 5, c2w, K)
    cfg = model.cfg
    assert ((out.opacities > 0) & (out.opacities < 1)).all()
    assert ((out.rgb > 0) & (out.rgb < 1)).all()
    assert ((out.scales > 0) & (out.scales <= cfg.scale_cap + 1e-6)).all()
    assert torch.allclose(out.quats.norm(dim=-1), torch.ones(1), atol=1e-5)
    dist = out.distance.reshape(1, -1)
    assert ((dist >= cfg.near) & (dist <= cfg.far)).all()
    # Each Gaussian is on its pixel's ray: the camera centre + distance * unit direction.
    centres = out.cameras.centers.reshape(1, -1, 1, 3).expand(1, out.cameras.c2w.shape[0], 6 * 8, 3).reshape(1, -1, 3)
    assert torch.allclose((out.means - centres).norm(dim=-1), dist, atol=1e-4)
    # z-depth = distance * cos(angle to the optical axis) <= distance, equal at the centre.
    assert (out.depth <= out.distance + 1e-5).all() and (out.depth > 0).all()


def test_zero_init_conditioning_changes_nothing_at_init():
    torch.manual_seed(1)
    model = LatentGaussianDecoder(tiny_cfg(time_embedding=True)).eval()
    lat, c2w, K = inputs()
    moved = c2w.clone()
    moved[..., :3, 3] += 0.3  # different rays everywhere
    a, b = model(lat, c2w, K), model(lat, moved, K)
    for name in ("distance", "opacities", "scales", "rgb", "quats"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert not torch.allclose(a.means, b.means)  # positions follow the rays, as they must
    times = torch.linspace(0, 1, 9)[None]
    outs = model(lat, c2w, K, input_times=times, target_times=torch.tensor([[0.0, 1.0]]))
    assert len(outs) == 2 and torch.equal(outs[0].distance, outs[1].distance) and torch.equal(outs[0].rgb, a.rgb)
    # Once the conditioning weights move, rays and time do matter.
    with torch.no_grad():
        model.patch_plucker_embed.proj.weight.normal_(std=0.1)
        model.patch_time_embed_tgt.proj.weight.normal_(std=0.1)
    a, b = model(lat, c2w, K), model(lat, moved, K)
    assert not torch.allclose(a.distance, b.distance)
    outs = model(lat, c2w, K, input_times=times, target_times=torch.tensor([[0.0, 1.0]]))
    assert not torch.allclose(outs[0].distance, outs[1].distance)


def test_pruning_keeps_exactly_the_most_opaque_fraction(model):
    lat, c2w, K = inputs(B=2)
    full = model(lat, c2w, K)
    pruned = model(lat, c2w, K, keep_fraction=0.2)
    N = full.opacities.shape[1]
    k = round(0.2 * N)
    assert pruned.opacities.shape == (2, k)
    for b in range(2):
        threshold = full.opacities[b].sort(descending=True).values[k - 1]
        assert (pruned.opacities[b] >= threshold).all()
        assert torch.equal(full.means[b][pruned.ray_index[b]], pruned.means[b])  # ray_index points back
        assert (pruned.ray_index[b].diff() > 0).all()  # original order kept


def test_unshuffle_ray_embedding_and_attention_only_backbone():
    model = LatentGaussianDecoder(tiny_cfg(ray_embedding="unshuffle", attention_every=1, time_embedding=True))
    lat, c2w, K = inputs()
    out = model(lat, c2w, K, input_times=torch.linspace(0, 1, 9)[None], target_times=torch.tensor([[0.5]]))
    assert out[0].means.shape == (1, 2 * 9 * 48, 3)
    assert all(type(b).__name__ == "AttentionBlock" for b in model.enc_blocks)


def test_one_optimisation_step_lowers_a_rendering_loss():
    torch.manual_seed(0)
    model = LatentGaussianDecoder(tiny_cfg())
    lat, c2w, K = inputs(V=1, t=2, h=4, w=4)
    target = torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(3))
    cam = Cameras(c2w[0, 0, :1], K[0, 0, :1], 32, 32)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def loss_fn():
        scene = model(lat, c2w, K).scene(0)
        return ((render(scene, cam, background=(1.0, 1.0, 1.0)).rgb - target) ** 2).mean()

    before = loss_fn()
    opt.zero_grad()
    before.backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if "time" not in n)
    opt.step()
    assert loss_fn().item() < before.item()


def test_checkpoint_round_trip_and_refusals(tmp_path, model):
    save_decoder(model, tmp_path / "ckpt")
    loaded = load_decoder(tmp_path / "ckpt")
    assert loaded.cfg == model.cfg
    lat, c2w, K = inputs()
    assert torch.equal(loaded(lat, c2w, K).means, model(lat, c2w, K).means)
    with pytest.raises(Exception, match="overwrite"):
        save_decoder(model, tmp_path / "ckpt")
    with pytest.raises(MissingWeightsError, match="lyra-sim train"):
        load_decoder(tmp_path / "nowhere")


def test_a_static_decoder_starts_a_dynamic_one_computing_the_same_function(tmp_path, model):
    """Lyra's stage 8: static weights into the time-conditioned decoder; the zero-initialised time
    embeddings make every target time decode the static scene until training moves them."""
    save_decoder(model, tmp_path / "static")
    torch.manual_seed(1)
    dynamic = init_from_decoder(LatentGaussianDecoder(tiny_cfg(time_embedding=True)).eval(), tmp_path / "static")
    lat, c2w, K = inputs()
    times = torch.linspace(0, 1, c2w.shape[2])[None]
    outs = dynamic(lat, c2w, K, input_times=times, target_times=torch.tensor([[0.0, 0.7]]))
    static = model(lat, c2w, K)
    for out in outs:
        torch.testing.assert_close(out.means, static.means)
        torch.testing.assert_close(out.rgb, static.rgb)
    with pytest.raises(CheckpointError, match="does not fit"):  # any other mismatch is refused
        init_from_decoder(LatentGaussianDecoder(tiny_cfg(width=64)), tmp_path / "static")


def test_lyra_checkpoint_layout_maps_onto_ours(tmp_path, model):
    """A DeepSpeed-style dict under 'module' with Lyra's names (plus training-only extras) loads."""
    state = {f"module.{k}": v.clone() for k, v in model.state_dict().items()}
    state["module.lpips_loss.net.weight"] = torch.zeros(3)  # a training module, ignored
    torch.save({"module": state, "global_step": 83000}, tmp_path / "lyra_static.pt")
    loaded = load_lyra_checkpoint(tmp_path / "lyra_static.pt", model.cfg)
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
    # Missing and unexpected keys are errors that list them.
    bad = dict(state)
    bad.pop("module.enc_norm.weight")
    bad["module.enc_blocks.9.norm1.weight"] = torch.zeros(32)
    torch.save({"module": bad}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"missing \(1\): enc_norm.weight[\s\S]*unexpected \(1\): enc_blocks.9.norm1.weight"):
        load_lyra_checkpoint(tmp_path / "bad.pt", model.cfg)
    # The CLI turns it into a decoder folder that load_decoder (and generate --decoder) reads.
    import yaml

    from lyra_sim.cli import main

    cfg_path = tmp_path / "model.yaml"
    cfg_path.write_text(yaml.safe_dump(dataclasses.asdict(model.cfg)))
    assert main(["convert-lyra", str(tmp_path / "lyra_static.pt"), str(tmp_path / "converted"), "--config", str(cfg_path), "--quiet"]) == 0
    converted = load_decoder(tmp_path / "converted")
    assert all(torch.equal(converted.state_dict()[k], v) for k, v in model.state_dict().items())
    # Arbitrary pickled objects are refused (weights_only).
    torch.save({"module": state, "evil": Path("x")}, tmp_path / "pickled.pt")
    with pytest.raises(CheckpointError, match="weights-only"):
        load_lyra_checkpoint(tmp_path / "pickled.pt", model.cfg)


def test_lyra_full_parameter_count_matches_the_original():
    cfg = load_decoder_cfg(REPO / "configs" / "model" / "lyra_full.yaml")
    with torch.device("meta"):
        model = LatentGaussianDecoder(cfg, codec=False)
    total = parameter_count(model)["total"]
    assert abs(total - 32.75e6) / 32.75e6 < 0.01, total
    assert cfg.block_types == (["mamba"] * 7 + ["attention"]) * 2


def test_model_info_cli_prints_the_count():
    proc = subprocess.run([sys.executable, "-m", "lyra_sim.cli", "model-info", str(REPO / "configs/model/lyra_full.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "MMMMMMMTMMMMMMMT" in proc.stdout and "total" in proc.stdout


def test_bad_inputs_are_clear_errors(model):
    lat, c2w, K = inputs()
    with pytest.raises(InvalidInputError, match="latents"):
        model(lat[:, :, :8], c2w, K)
    with pytest.raises(InvalidInputError, match="T = 9"):
        model(lat, c2w[:, :, :5], K[:, :, :5])
    with pytest.raises(InvalidInputError, match="static"):
        model(lat, c2w, K, input_times=torch.zeros(1, 9), target_times=torch.zeros(1, 1))
    with pytest.raises(InvalidInputError):
        load_decoder_cfg(overrides=["width=30", "num_heads=4"])


def test_softcap_scales_match_clamp_when_small_and_keep_a_gradient_at_the_cap():
    torch.manual_seed(0)
    clamp, soft = LatentGaussianDecoder(tiny_cfg()), LatentGaussianDecoder(tiny_cfg(scale_activation="softcap"))
    raw = torch.tensor([-6.0, -4.0, 6.0, 8.0], requires_grad=True)
    small_clamp, small_soft = clamp._scales(raw[:2]), soft._scales(raw[:2])
    assert torch.allclose(small_soft, small_clamp, rtol=0.05)  # the same curve for small splats
    big_clamp, big_soft = clamp._scales(raw[2:]), soft._scales(raw[2:])
    assert torch.allclose(big_clamp, torch.full((2,), 0.3)) and (big_soft < 0.3).all() and (big_soft > 0.28).all()
    (g_clamp,) = torch.autograd.grad(big_clamp.sum(), raw, retain_graph=True)
    (g_soft,) = torch.autograd.grad(big_soft.sum(), raw)
    assert (g_clamp[2:] == 0).all()  # a clamped splat can never shrink again
    assert (g_soft[2:] > 0).all()
    with pytest.raises(InvalidInputError, match="scale_activation"):
        tiny_cfg(scale_activation="relu").validate()
