"""CosmosCodec and WanCodec through the user's path: save a tiny random VAE, load it back by folder.

The tiny configs keep the real architectures (causal convolutions, Haar patching for Cosmos,
the temporal down-sampling schedule) and only shrink the widths, so shapes and compression
factors are the real ones.
"""

from __future__ import annotations

import pytest
import torch

diffusers = pytest.importorskip("diffusers")

from lyra_sim.codecs import Codec, CosmosCodec, WanCodec, load_codec
from lyra_sim.codecs.diffusers_vae import load_latent_stats
from lyra_sim.errors import InvalidInputError, LyraSimError, MissingWeightsError


def assert_close(actual, expected, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """|actual - expected| <= atol + rtol |expected| everywhere (torch.testing's first call takes 1.7 s)."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    excess = ((actual.double() - expected.double()).abs() - rtol * expected.double().abs()).max()
    assert float(excess) <= atol, f"error exceeds rtol * |expected| by {float(excess):.3g} > atol {atol}"


TINY_COSMOS = {
    "encoder_block_out_channels": (8, 8, 8, 8),
    "decode_block_out_channels": (8, 8, 8, 8),
    "num_layers": 1,
    "attention_resolutions": (),
}
TINY_WAN = {"base_dim": 8, "dim_mult": [1, 2, 2, 2], "num_res_blocks": 1}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These tensors are tiny: a second thread only adds synchronisation (3x slower on a busy 2-core VM)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Folders as users have them: cosmos/ (a VAE folder), cosmos4/ (CV4x8x8), wan/vae/ (a model folder)."""
    root = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    diffusers.AutoencoderKLCosmos(**TINY_COSMOS).save_pretrained(root / "cosmos")
    diffusers.AutoencoderKLCosmos(**TINY_COSMOS, temporal_compression_ratio=4).save_pretrained(root / "cosmos4")
    diffusers.AutoencoderKLWan(**TINY_WAN).save_pretrained(root / "wan" / "vae")
    return root


def video(frames: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 3, frames, 16, 24, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize(
    "spec, folder, name, tc, frames, t",
    [
        ("cosmos", "cosmos", "cosmos-cv8x8x8", 8, 9, 2),
        ("cosmos-cv4x8x8", "cosmos4", "cosmos-cv4x8x8", 4, 5, 2),
        ("wan", "wan", "wan-4x8x8", 4, 5, 2),
    ],
)
def test_load_encode_decode_shapes(weights, spec, folder, name, tc, frames, t):
    codec = load_codec({"name": spec, "path": str(weights / folder), "device": "cpu"})
    assert isinstance(codec, Codec)
    assert (codec.name, codec.latent_channels, codec.temporal_compression, codec.spatial_compression) == (name, 16, tc, 8)
    assert codec.latent_shape(121 if tc == 8 else 49, 176, 320) == (16, 16 if tc == 8 else 13, 22, 40)
    x = video(frames)
    z = codec.encode(x)
    assert z.shape == (1, 16, t, 2, 3) and z.dtype == x.dtype
    assert codec.decode(z).shape == x.shape
    # Deterministic: the posterior's mode, not a sample (Wan's posterior is a real Gaussian).
    assert torch.equal(codec.encode(x), z)
    # The latents depend on the input (a random network is still injective enough for this).
    assert (codec.encode(video(frames, seed=1)) - z).abs().max() > 1e-4
    with pytest.raises(InvalidInputError, match=f"1 \\+ k\\*{tc}"):
        codec.encode(video(frames + 1))


def test_wan_encode_is_the_posterior_mean(weights):
    codec = WanCodec.from_pretrained(weights / "wan", device="cpu")
    x = video(5)
    with torch.no_grad():
        mean = codec.vae.encode(x).latent_dist.mean
    assert_close(codec.encode(x), mean)


def test_folder_detection_and_name_check(weights):
    assert load_codec(weights / "wan").name == "wan-4x8x8"  # model folder with vae/ inside
    assert load_codec(str(weights / "cosmos")).name == "cosmos-cv8x8x8"
    with pytest.raises(InvalidInputError, match="cosmos-cv4x8x8"):
        load_codec("cosmos-cv8x8x8", path=weights / "cosmos4")
    with pytest.raises(InvalidInputError, match="load it as codec 'wan'"):
        CosmosCodec.from_pretrained(weights / "wan")


def test_missing_weights_say_what_to_download(tmp_path):
    with pytest.raises(MissingWeightsError) as e:
        load_codec("cosmos", path=tmp_path / "nope")
    msg = str(e.value)
    assert str(tmp_path / "nope") in msg and "never downloads" in msg
    assert "nvidia/Cosmos-1.0-Tokenizer-CV8x8x8" in msg and "Cosmos-Tokenize1-CV8x8x8-720p" in msg
    assert isinstance(e.value, LyraSimError) and isinstance(e.value, FileNotFoundError)
    with pytest.raises(MissingWeightsError, match="Wan-AI/Wan2.1-T2V-1.3B-Diffusers"):
        load_codec({"name": "wan"})  # no path at all
    (tmp_path / "jit").mkdir()
    (tmp_path / "jit" / "encoder.jit").write_bytes(b"")
    with pytest.raises(MissingWeightsError, match="TorchScript"):
        load_codec("cosmos", path=tmp_path / "jit")


def test_cosmos_latent_statistics_round_trip(weights, tmp_path):
    codec = CosmosCodec.from_pretrained(weights / "cosmos", device="cpu")
    # diffusers' config: CV8x8x8-1.0 statistics, per channel and per latent frame.
    assert codec.latents_mean.shape == (1, 16, 16, 1, 1) and codec.sigma_data == 0.5
    mean0 = diffusers.AutoencoderKLCosmos.load_config(weights / "cosmos")["latents_mean"]
    assert codec.latents_mean[0, 1, 0, 0, 0].item() == pytest.approx(mean0[16])  # channel-major
    z = codec.encode(video(17))  # 3 latent frames
    zn = codec.normalize_latents(z)
    expected = (z - codec.latents_mean[:, :, :3]) / codec.latents_std[:, :, :3] * 0.5
    assert_close(zn, expected)
    assert_close(codec.denormalize_latents(zn), z, atol=1e-5, rtol=1e-5)

    # Lyra's mean_std.pt: a (mean, std) pair of 16 channels x 16 latent frames.
    mean, std = torch.randn(256), torch.rand(256) + 0.5
    torch.save((mean, std), tmp_path / "mean_std.pt")
    lyra = load_codec("cosmos", path=weights / "cosmos", device="cpu", latent_stats=tmp_path / "mean_std.pt")
    assert_close(
        lyra.normalize_latents(z), (z - mean.view(16, 16)[:, :3, None, None]) / std.view(16, 16)[:, :3, None, None] * 0.5
    )
    assert_close(lyra.denormalize_latents(lyra.normalize_latents(z)), z, atol=1e-5, rtol=1e-5)
    with pytest.raises(InvalidInputError, match="16 latent frames"):
        lyra.normalize_latents(torch.zeros(1, 16, 17, 1, 1))
    with pytest.raises(MissingWeightsError, match="mean_std.pt"):
        load_codec("cosmos", path=weights / "cosmos", latent_stats=tmp_path / "missing.pt")
    with pytest.raises(InvalidInputError, match="multiple of the 16"):
        load_latent_stats((torch.zeros(15), torch.ones(15)), 16)


def test_wan_statistics_are_per_channel(weights):
    codec = WanCodec.from_pretrained(weights / "wan", device="cpu")
    assert codec.latents_mean.shape == (1, 16, 1, 1, 1) and codec.sigma_data == 1.0
    z = torch.randn(1, 16, 5, 2, 3)
    assert_close(codec.normalize_latents(z), (z - codec.latents_mean) / codec.latents_std)
    assert_close(codec.denormalize_latents(codec.normalize_latents(z)), z, atol=1e-5, rtol=1e-5)


def test_model_dtype_is_separate_from_the_callers(weights):
    # Wan: Cosmos' avg_pool3d has no bfloat16 kernel on CPU (float32 is the CPU default anyway).
    codec = load_codec("wan", path=weights / "wan", device="cpu", dtype=torch.bfloat16)
    assert codec.dtype == torch.bfloat16 and codec.device.type == "cpu"
    x = video(5)
    z = codec.encode(x)
    assert z.dtype == torch.float32 and codec.decode(z).dtype == torch.float32
    full = load_codec("wan", path=weights / "wan", device="cpu")
    assert (z - full.encode(x)).abs().max() < 0.1 * full.encode(x).abs().max()  # bf16 rounding only
