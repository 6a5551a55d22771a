"""Niantic SPZ (lyra_sim/gaussians/spz.py): files built here from the published layout (versions
1-4, RUB frame) read back to the format's quantisation in the PLY frame; our writer's bytes
decoded by hand; counts checked against the file before allocating; trailing data warned about."""

from __future__ import annotations

import gzip
import math
import struct
import tracemalloc

import numpy as np
import pytest
import torch
from splat_files import smallest_three, spz_legacy_bytes, spz_payload, spz_v4_bytes

from lyra_sim.errors import InvalidInputError, SplatFileError
from lyra_sim.gaussians.quaternions import quat_to_rotmat
from lyra_sim.gaussians.scene import GaussianScene
from lyra_sim.gaussians.spz import read_spz, write_spz

RDF_TO_RUB = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64))  # 180° about x


def scene(n: int = 64, degree: int = 3, seed: int = 0) -> GaussianScene:
    g = torch.Generator().manual_seed(seed)
    k = (degree + 1) ** 2
    return GaussianScene(
        means=torch.randn(n, 3, generator=g, dtype=torch.float64) * 2,
        quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g, dtype=torch.float64), dim=-1),
        scales=torch.exp(torch.rand(n, 3, generator=g, dtype=torch.float64) * 6 - 7),
        opacities=torch.rand(n, generator=g, dtype=torch.float64),
        sh=torch.cat([torch.rand(n, 1, 3, generator=g, dtype=torch.float64) * 4 - 2,
                      (torch.rand(n, k - 1, 3, generator=g, dtype=torch.float64) * 1.6 - 0.8)], 1),  # fmt: skip
    )


def spec_quantise(s: GaussianScene, version: int, bits: int = 12):
    """``s`` (RDF) in SPZ's RUB frame, quantised by the spec's formulas, as spz_payload arguments.
    The frame change goes through GaussianScene.transform (its own SH rotation), not spz.py."""
    t = s.transform(RDF_TO_RUB)
    rnd = lambda v: np.floor(np.asarray(v) + 0.5)  # noqa: E731
    pos = rnd(t.means.numpy() * 2**bits).astype(np.int64) if version > 1 else t.means.numpy()
    alpha = np.clip(rnd(t.opacities.numpy() * 255), 0, 255)
    color = np.clip(rnd(t.sh[:, 0].numpy() * 0.15 * 255 + 127.5), 0, 255)
    scale = np.clip(rnd((np.log(t.scales.numpy()) + 10) * 16), 0, 255)
    q = t.quats.numpy()[:, [1, 2, 3, 0]]  # (x, y, z, w)
    if version >= 3:
        rot = smallest_three(q)
    else:
        q = q * np.where(q[:, 3:] < 0, -1, 1)
        rot = np.clip(rnd(q[:, :3] * 127.5 + 127.5), 0, 255)
    sh = np.clip(rnd(t.sh[:, 1:].numpy() * 128) + 128, 0, 255)
    return pos, alpha, color, scale, rot, sh


def assert_close_to(back: GaussianScene, s: GaussianScene, version: int, bits: int = 12):
    assert len(back) == len(s) and back.sh_degree == s.sh_degree
    pos_tol = 0.5 / 2**bits + 1e-9 if version > 1 else 2e-3 * s.means.abs().max().item()
    assert (back.means - s.means).abs().max() <= pos_tol
    assert (back.opacities - s.opacities).abs().max() <= 0.5 / 255 + 1e-9
    assert (back.sh[:, 0] - s.sh[:, 0]).abs().max() <= 0.5 / 255 / 0.15 + 1e-9
    assert (back.scales.log() - s.scales.log()).abs().max() <= 0.5 / 16 + 1e-9
    assert (back.sh[:, 1:] - s.sh[:, 1:]).abs().max() <= 0.5 / 128 + 1e-9
    # Same Gaussian: each local axis (a column of the rotation) the same up to sign. (A frame
    # change F may give F R or F R F; both are R's covariance R S² Rᵀ moved by F.)
    cos = (quat_to_rotmat(back.quats) * quat_to_rotmat(s.quats)).sum(1).abs()
    assert cos.min() > (0.999 if version >= 3 else 0.98)  # smallest-three is 9-bit; v1/v2 rebuild w from 8-bit xyz


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_independent_bytes_read_back_in_the_ply_frame(tmp_path, version):
    s = scene(degree=3 if version < 4 else 2)
    header, arrays = spz_payload(version, *spec_quantise(s, version), degree=s.sh_degree)
    data = spz_v4_bytes(header, arrays) if version == 4 else spz_legacy_bytes(header, arrays)
    (tmp_path / "a.spz").write_bytes(data)
    back = read_spz(tmp_path / "a.spz", dtype=torch.float64)
    assert_close_to(back, s, version)


@pytest.mark.parametrize("version", [2, 3, 4])
def test_writer_round_trip_and_bytes_by_hand(tmp_path, version):
    s = scene(degree=3)
    path = write_spz(s, tmp_path / "w.spz", version=version, sh_bits=(8, 8))
    back = read_spz(path, dtype=torch.float64)
    assert_close_to(back, s, version)
    data = path.read_bytes()
    if version < 4:
        raw = gzip.decompress(data)
        magic, v, n, degree, bits, flags, _ = struct.unpack_from("<IIIBBBB", raw)
        positions = raw[16:]
    else:
        magic, v, n, degree, bits, flags, streams, toc, _ = struct.unpack_from("<IIIBBBBI12s", data)
        assert streams == 6 and toc == 32
        import zstandard

        size0 = struct.unpack_from("<Q", data, 32)[0]
        positions = zstandard.ZstdDecompressor().decompress(data[32 + 16 * 6 : 32 + 16 * 6 + size0])
    assert (magic, v, n, degree, bits, flags) == (0x5053474E, version, 64, 3, 12, 0)
    x, y, z = (struct.unpack("<i", positions[3 * j : 3 * j + 3] + (b"\xff" if positions[3 * j + 2] & 0x80 else b"\0"))[0] for j in range(3))
    expect = s.means[0].numpy() * [1, -1, -1] * 4096  # RUB, 12 fractional bits
    np.testing.assert_array_equal([x, y, z], np.floor(expect + 0.5))


def test_default_sh_bits_match_the_reference_buckets(tmp_path):
    s = scene(degree=2)
    back = read_spz(write_spz(s, tmp_path / "d.spz"), dtype=torch.float64)
    # 5 bits for degree 1 (buckets of 8/128), 4 bits for degree 2 (16/128), 0 stays 0
    assert (back.sh[:, 1:4] - s.sh[:, 1:4]).abs().max() <= 4 / 128 + 0.5 / 128 + 1e-9
    assert (back.sh[:, 4:9] - s.sh[:, 4:9]).abs().max() <= 8 / 128 + 0.5 / 128 + 1e-9
    zero = GaussianScene(s.means, s.quats, s.scales, s.opacities, torch.zeros_like(s.sh))
    assert read_spz(write_spz(zero, tmp_path / "z.spz"), dtype=torch.float64).sh[:, 1:].abs().max() < 0.5 / 255 / 0.15 + 1e-9


def test_large_scenes_lose_fractional_bits_not_positions(tmp_path):
    s = scene(degree=0)
    big = GaussianScene(s.means * 1e4, s.quats, s.scales, s.opacities, s.sh)
    back = read_spz(write_spz(big, tmp_path / "big.spz"), dtype=torch.float64)
    assert (back.means - big.means).abs().max() <= 0.5  # 0 fractional bits at |x| ~ 5e4 would be 0.5
    with pytest.raises(InvalidInputError, match="int24"):
        write_spz(GaussianScene(s.means * 1e7, s.quats, s.scales, s.opacities, s.sh), tmp_path / "huge.spz")


def test_coordinate_system_extension_and_unknown_extensions(tmp_path):
    s = scene(degree=1)
    t = s.transform(RDF_TO_RUB)
    header, arrays = spz_payload(4, *spec_quantise(s, 4), degree=1)  # the arrays hold t's values
    rdf = struct.pack("<III", 0xADBE0003, 4, 6) + struct.pack("<II", 0x12340001, 3) + b"abc"
    (tmp_path / "rdf.spz").write_bytes(spz_v4_bytes(header, arrays, extensions=rdf))
    with pytest.warns(UserWarning, match="0x12340001"):
        back = read_spz(tmp_path / "rdf.spz", dtype=torch.float64)
    assert_close_to(back, t, 4)  # values taken as RDF: the file's t read without a flip
    swap = struct.pack("<III", 0xADBE0003, 4, 12)  # RFU swaps axes
    (tmp_path / "rfu.spz").write_bytes(spz_v4_bytes(header, arrays, extensions=swap))
    with pytest.raises(SplatFileError, match="RFU"):
        read_spz(tmp_path / "rfu.spz")


def test_absurd_counts_fail_fast_without_allocating(tmp_path):
    header, arrays = spz_payload(3, *spec_quantise(scene(4, 0), 3), degree=0)
    bad = struct.pack("<IIIBBBB", 0x5053474E, 3, 4_000_000_000, 0, 12, 0, 0)
    (tmp_path / "legacy.spz").write_bytes(spz_legacy_bytes(bad, arrays))
    v4 = bytearray(spz_v4_bytes(header, arrays))
    struct.pack_into("<I", v4, 8, 4_000_000_000)
    (tmp_path / "v4.spz").write_bytes(bytes(v4))
    struct.pack_into("<I", v4, 8, 4)
    struct.pack_into("<Q", v4, 40, 2**63)  # the first stream's uncompressed size
    (tmp_path / "toc.spz").write_bytes(bytes(v4))
    for name, match in (("legacy", "cannot hold that much"), ("v4", "more than"), ("toc", "TOC lists")):
        tracemalloc.start()
        try:
            with pytest.raises(SplatFileError, match=match):
                read_spz(tmp_path / f"{name}.spz")
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < 4 << 20, name


def test_truncation_corruption_and_trailing_bytes(tmp_path):
    header, arrays = spz_payload(3, *spec_quantise(scene(8, 1), 3), degree=1)
    data = spz_legacy_bytes(header, arrays)
    (tmp_path / "cut.spz").write_bytes(data[: len(data) // 2])
    with pytest.raises(SplatFileError, match="truncated"):
        read_spz(tmp_path / "cut.spz")
    (tmp_path / "short.spz").write_bytes(spz_legacy_bytes(header, [a[: len(a) // 2] for a in arrays]))
    with pytest.raises(SplatFileError, match="truncated"):
        read_spz(tmp_path / "short.spz")
    corrupt = bytearray(data)
    corrupt[-6] ^= 0xFF  # the gzip CRC
    (tmp_path / "crc.spz").write_bytes(bytes(corrupt))
    with pytest.raises(SplatFileError, match="corrupt"):
        read_spz(tmp_path / "crc.spz")
    (tmp_path / "tail.spz").write_bytes(spz_legacy_bytes(header, arrays, tail=b"x" * 10))
    with pytest.warns(UserWarning, match="10 bytes after the declared SPZ data"):
        assert len(read_spz(tmp_path / "tail.spz")) == 8
    (tmp_path / "tail4.spz").write_bytes(spz_v4_bytes(header, arrays) + b"junk")
    with pytest.warns(UserWarning, match="4 bytes after the last declared stream"):
        assert len(read_spz(tmp_path / "tail4.spz")) == 8


def test_degree_four_is_dropped_with_a_warning(tmp_path):
    s = scene(8, 3)
    pos, alpha, color, scale, rot, sh = spec_quantise(s, 3)
    sh4 = np.concatenate([sh, np.full((8, 9, 3), 128)], 1)
    header, arrays = spz_payload(3, pos, alpha, color, scale, rot, sh4, degree=4)
    (tmp_path / "d4.spz").write_bytes(spz_legacy_bytes(header, arrays))
    with pytest.warns(UserWarning, match="band 4 was dropped"):
        back = read_spz(tmp_path / "d4.spz", dtype=torch.float64)
    assert_close_to(back, s, 3)
    assert math.isclose(back.sh.shape[1], 16)
