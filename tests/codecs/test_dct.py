"""DCTCodec: shapes, causal temporal convention, determinism, round-trip quality, validation."""

from __future__ import annotations

import math

import pytest
import torch

from lyra_sim.codecs import DCTCodec, latent_frames, load_codec, pixel_frames
from lyra_sim.codecs.base import Codec
from lyra_sim.codecs.dct import COEFFICIENT_SCALES, temporal_matrices
from lyra_sim.errors import InvalidInputError, LyraSimError


def assert_close(actual, expected, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """|actual - expected| <= atol + rtol |expected| everywhere (torch.testing's first call takes 1.7 s)."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    excess = ((actual.double() - expected.double()).abs() - rtol * expected.double().abs()).max()
    assert float(excess) <= atol, f"error exceeds rtol * |expected| by {float(excess):.3g} > atol {atol}"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These tensors are tiny: a second thread only adds synchronisation (3x slower on a busy 2-core VM)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def moving_scene(batch=1, frames=49, height=96, width=160, texture=0.05, speed=1.0, seed=0):
    """A smooth procedural video [B, 3, T, H, W] in [-1, 1] that moves like a camera pan.

    A lighting gradient; a 1/f-spectrum colour texture (natural images' power spectrum, std
    ``texture`` in [0, 1] units) panned by ``speed`` pixels per frame with an exact sub-pixel
    Fourier shift; three soft-edged discs and a bright diagonal bar (edges about 1 px wide)
    moving on their own paths (discs at about 0.8x, the bar at 2.4x the pan's pixels per frame).
    Deterministic in ``seed``. ``bench/codec.py`` uses it too.
    """
    g = torch.Generator().manual_seed(seed)
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.fftfreq(width)[None, :]
    radius = torch.sqrt(fx**2 + fy**2).clamp(min=1.0 / max(height, width))
    y = torch.linspace(0, 1, height)[:, None]
    x = torch.linspace(0, width / height, width)[None, :]
    t = torch.arange(frames, dtype=torch.float32)[:, None, None]
    s = t * speed / 48 * 96 / height  # [T, 1, 1]: object paths in units of height
    out = torch.empty(batch, frames, 3, height, width)
    for b in range(batch):
        p = torch.rand(32, generator=g)
        spec = torch.fft.fft2(torch.randn(3, height, width, generator=g)) / radius
        spec[:, 0, 0] = 0
        mix = torch.tensor([[1.0, 0.15, 0.0], [1.0, -0.1, 0.1], [1.0, 0.0, -0.15]])  # mostly luminance
        spec = torch.einsum("ck,khw->chw", mix.to(torch.complex64), spec)
        angle = 2 * math.pi * float(p[20])
        vx, vy = speed * math.cos(angle), speed * math.sin(angle)
        phase = torch.exp(-2j * math.pi * (fx * vx + fy * vy) * t)  # [T, H, W]
        tex = torch.fft.ifft2(spec[None] * phase[:, None]).real  # [T, 3, H, W]
        tex = tex / tex[:, 0].std() * texture
        zero = torch.zeros(height, width)
        light = torch.stack([0.45 + 0.2 * p[0] * x + zero, 0.4 + 0.2 * p[1] * y + zero, 0.35 + 0.2 * p[2] * (1 - y) + zero])
        img = light[None] + tex
        for k in range(3):
            cx = 0.3 + 1.0 * p[4 + k] + 0.4 * s * (1 if k % 2 else -1)
            cy = 0.25 + 0.5 * p[7 + k] + 0.15 * torch.sin(2 * math.pi * s + k)
            a = torch.sigmoid((0.08 + 0.1 * p[10 + k] - torch.sqrt((x - cx) ** 2 + (y - cy) ** 2)) * height / 0.7)
            colour = p[13 + 3 * k : 16 + 3 * k][None, :, None, None]
            img = img * (1 - a[:, None]) + (colour + 0.5 * tex) * a[:, None]
        a = torch.sigmoid((0.04 - (x - 0.2 - 1.2 * s - 0.3 * y).abs()) * height / 0.7)
        img = img * (1 - a[:, None]) + 0.95 * a[:, None]
        out[b] = img
    return out.clamp(0, 1).permute(0, 2, 1, 3, 4).contiguous() * 2 - 1


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of videos in [-1, 1] (peak-to-peak 2)."""
    return float(10 * torch.log10(4 / ((a.float() - b.float()) ** 2).mean()))


def psnr_per_frame(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """[T] PSNR in dB of each frame of videos [B, 3, T, H, W] in [-1, 1]."""
    return 10 * torch.log10(4 / ((a.float() - b.float()) ** 2).mean(dim=(0, 1, 3, 4)))


@pytest.fixture(scope="module")
def scene():
    return moving_scene(batch=2, frames=49)


@pytest.mark.parametrize(
    "tc, frames, t",
    [(8, 121, 16), (8, 49, 7), (8, 17, 3), (8, 1, 1), (4, 49, 13), (4, 17, 5), (4, 9, 3), (1, 49, 49), (1, 5, 5)],
)
def test_shapes_follow_the_causal_convention(tc, frames, t):
    codec = DCTCodec(tc)
    assert isinstance(codec, Codec)
    assert (codec.latent_channels, codec.spatial_compression, codec.temporal_compression) == (16, 8, tc)
    assert codec.name == f"dct-t{tc}"
    assert codec.latent_shape(frames, 176, 320) == (16, t, 22, 40)
    assert latent_frames(frames, tc) == t and pixel_frames(t, tc) == frames
    if frames <= 49:
        video = torch.rand(2, 3, frames, 16, 24) * 2 - 1
        z = codec.encode(video)
        assert z.shape == (2, 16, t, 2, 3)
        assert codec.decode(z).shape == video.shape


def test_sixteen_channels_luma_heavy():
    # 10 luma + 3 + 3 chroma coefficients; Y00 (DC) is the largest-variance one.
    assert COEFFICIENT_SCALES.shape == (16,)
    assert int(COEFFICIENT_SCALES.argmax()) == 0
    assert bool((COEFFICIENT_SCALES > 0).all())
    # A flat grey frame of level L has only DC terms: Y00 = 8 L / scale, every AC term zero.
    z = DCTCodec(1).encode(torch.full((1, 3, 1, 8, 8), 0.5))
    assert z[0, 0, 0, 0, 0].item() == pytest.approx(8 * 0.5 / COEFFICIENT_SCALES[0].item(), rel=1e-5)
    assert z[0, 1:].abs().max().item() < 1e-5


@pytest.mark.parametrize("tc", [1, 4, 8])
def test_bitwise_deterministic(scene, tc):
    codec = DCTCodec(tc)
    z1, z2 = codec.encode(scene), DCTCodec(tc).encode(scene.clone())
    assert torch.equal(z1, z2)
    assert torch.equal(codec.decode(z1), codec.decode(z2.clone()))


# Measured on moving_scene(2, 49, 96x160): 31.7 / 25.5 / 22.2 dB at tc = 1 / 4 / 8; at tc = 1
# every frame is within 31.5-31.9 dB. The content is deterministic, so the thresholds sit only
# about 0.6 dB below: tight enough to catch real regressions, which cost more (measured: 8x8
# blocks transposed in decode 20.3 dB and no inverse colour transform 15.3 dB at tc = 1;
# decoding time by holding each latent frame instead of the corrected linear interpolation
# 24.3 dB at tc = 4).
@pytest.mark.parametrize("tc, threshold", [(1, 31.0), (4, 24.8), (8, 21.5)])
def test_round_trip_psnr_on_moving_scene(scene, tc, threshold):
    codec = DCTCodec(tc)
    rec = codec.decode(codec.encode(scene))
    assert psnr(scene, rec) > threshold
    if tc == 1:
        assert psnr_per_frame(scene, rec).min() > threshold
    # The first frame is encoded alone (causal), so it comes back as well as with tc = 1.
    assert psnr(scene[:, :, 0], rec[:, :, 0]) > 31.0


def test_noise_reconstructs_far_worse_than_natural_content(scene):
    codec = DCTCodec(1)
    noise = torch.rand(1, 3, 4, 96, 160, generator=torch.Generator().manual_seed(1)) * 2 - 1
    assert psnr(noise, codec.decode(codec.encode(noise))) < 12.0  # 16 of 192 numbers per block survive


@pytest.mark.parametrize("tc", [1, 4, 8])
def test_decode_is_a_right_inverse_of_encode(tc):
    codec = DCTCodec(tc)
    z = torch.randn(2, 16, 4, 3, 5, generator=torch.Generator().manual_seed(2))
    assert_close(codec.encode(codec.decode(z)), z, atol=2e-5, rtol=0)


def test_temporal_matrices_average_groups_after_the_first_frame():
    a, u = temporal_matrices(17, 8)
    assert a.shape == (3, 17) and u.shape == (17, 3)
    assert a[0, 0] == 1 and a[0, 1:].abs().sum() == 0
    assert torch.allclose(a[1, 1:9], torch.full((8,), 1 / 8, dtype=torch.float64)) and a[1, 9:].abs().sum() == 0
    assert_close(a @ u, torch.eye(3, dtype=torch.float64))
    assert_close(u.sum(1), torch.ones(17, dtype=torch.float64))  # constants stay constant


def test_latents_carry_information(scene):
    codec = DCTCodec(8)
    z = codec.encode(scene)
    assert 0.2 < float(z.std()) < 2.0  # about unit scale, as a neural decoder wants
    per_channel = z.std(dim=(0, 2, 3, 4))
    assert bool((per_channel > 0.05).all()) and bool((per_channel < 3).all())
    from_zeros = codec.decode(torch.zeros_like(z))
    assert from_zeros.abs().max() == 0  # linear: all the picture is in the latents
    assert (codec.decode(z) - scene).abs().mean() < 0.5 * (from_zeros - scene).abs().mean()
    changed = scene.clone()
    changed[:, :, 20:25, 40:56, 64:80] = -changed[:, :, 20:25, 40:56, 64:80]
    dz = (codec.encode(changed) - z).abs().amax(dim=(0, 1))  # [t, h, w]
    assert dz[3, 5:7, 8:10].min() > 0.01  # frames 20-24 -> latent frame 3; rows 40-55, cols 64-79
    assert dz[:3].max() == 0 and dz[4:].max() == 0  # causal groups: other latent frames untouched
    assert dz[:, :5].max() == 0 and dz[:, :, :8].max() == 0  # blocks are independent


def test_linear_and_differentiable():
    codec = DCTCodec(4)
    g = torch.Generator().manual_seed(3)
    a, b = (torch.rand(1, 3, 9, 16, 16, generator=g) for _ in range(2))
    assert_close(codec.encode(2 * a - b), 2 * codec.encode(a) - codec.encode(b), atol=1e-5, rtol=0)
    a.requires_grad_(True)
    codec.decode(codec.encode(a)).square().sum().backward()
    assert a.grad is not None and a.grad.abs().sum() > 0


def test_bfloat16_in_bfloat16_out_computed_in_float32(scene):
    codec = DCTCodec(8)
    z32 = codec.encode(scene)
    z16 = codec.encode(scene.bfloat16())
    assert z16.dtype == torch.bfloat16
    # bf16 has an 8-bit mantissa: the input rounding (<0.4%) and output rounding dominate.
    assert (z16.float() - z32).abs().max() < 0.05
    assert codec.decode(z16).dtype == torch.bfloat16


def test_values_outside_unit_range_are_encoded_not_clamped():
    codec = DCTCodec(1)
    bright = torch.full((1, 3, 1, 8, 8), 1.5)
    assert_close(codec.decode(codec.encode(bright)), bright, atol=1e-5, rtol=0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(scene):
    codec = DCTCodec(8)
    z = codec.encode(scene.cuda())
    assert z.device.type == "cuda"
    assert_close(z.cpu(), codec.encode(scene), atol=1e-4, rtol=0)
    assert_close(codec.decode(z).cpu(), codec.decode(codec.encode(scene)), atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "shape, words",
    [
        ((3, 17, 16, 16), "[B, 3, T, H, W]"),
        ((1, 17, 3, 16, 16), "permute"),
        ((1, 3, 17, 20, 16), "multiples of 8"),
        ((1, 3, 17, 16, 12), "16x8"),
        ((1, 3, 18, 16, 16), "trim the video to 17 or pad it to 25 frames"),
        ((1, 3, 0, 16, 16), "at least 1 frame"),
    ],
)
def test_invalid_videos_say_what_to_do(shape, words):
    with pytest.raises(InvalidInputError) as e:
        DCTCodec(8).encode(torch.zeros(shape))
    assert words in str(e.value)
    assert isinstance(e.value, LyraSimError)


def test_invalid_dtype_latents_and_options():
    with pytest.raises(InvalidInputError, match="127.5"):
        DCTCodec(1).encode(torch.zeros(1, 3, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(InvalidInputError, match=r"\[B, 16, t, h, w\]"):
        DCTCodec(1).decode(torch.zeros(1, 12, 1, 2, 2))
    with pytest.raises(InvalidInputError, match="1, 4 or 8"):
        DCTCodec(2)


def test_load_codec_names():
    assert load_codec("dct").name == "dct-t8"
    assert load_codec("DCT-t4").temporal_compression == 4
    assert load_codec({"name": "dct", "temporal_compression": 1}).name == "dct-t1"
    codec = DCTCodec(4)
    assert load_codec(codec) is codec
    for bad, words in [("dct-t3", "1, 4 or 8"), ("jpeg", "unknown codec"), ({"path": "x"}, "needs a 'name'")]:
        with pytest.raises(InvalidInputError, match=words):
            load_codec(bad)
    with pytest.raises(InvalidInputError, match="temporal_compression=4"):
        load_codec("dct-t8", temporal_compression=4)
    with pytest.raises(InvalidInputError, match="takes no option path"):
        load_codec("dct", path="/tmp")
