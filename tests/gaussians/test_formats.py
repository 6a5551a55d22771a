"""Format detection by content, one reader and one writer for all formats, refusals that name the
format, and the checks every reader shares (lyra_sim/gaussians/formats.py); the compressed-PLY
writer (lyra_sim/gaussians/ply_compressed_writer.py)."""

from __future__ import annotations

import contextlib
import gzip
import struct
import time
import zipfile

import numpy as np
import pytest
import torch
from splat_files import inria_columns, ply_bytes, splat_bytes

from lyra_sim.errors import (
    InvalidInputError,
    LyraSimError,
    PlyHeaderError,
    PlyValueError,
    SplatFileError,
    UnsupportedFormatError,
)
from lyra_sim.gaussians.formats import detect_format, format_for_path, read_gaussians, write_gaussians
from lyra_sim.gaussians.ply_compressed_writer import morton_order, write_compressed_ply
from lyra_sim.gaussians.scene import GaussianScene


def scene(n: int = 300, degree: int = 1, seed: int = 0) -> GaussianScene:
    g = torch.Generator().manual_seed(seed)
    return GaussianScene(
        torch.randn(n, 3, generator=g, dtype=torch.float64),
        torch.nn.functional.normalize(torch.randn(n, 4, generator=g, dtype=torch.float64), dim=-1),
        torch.exp(torch.rand(n, 3, generator=g, dtype=torch.float64) * 4 - 6),
        torch.rand(n, generator=g, dtype=torch.float64),
        torch.rand(n, (degree + 1) ** 2, 3, generator=g, dtype=torch.float64) * 2 - 1,
    )


@pytest.mark.parametrize("name, fmt", [("s.ply", "ply"), ("s.compressed.ply", "compressed-ply"), ("s.splat", "splat"), ("s.spz", "spz")])
def test_every_format_is_detected_by_content_not_name(tmp_path, name, fmt):
    s = scene()
    with pytest.warns(UserWarning, match="dropped") if fmt == "splat" else contextlib.nullcontext():
        path = write_gaussians(s, tmp_path / name)
    renamed = path.rename(tmp_path / "capture.bin")  # the name says nothing
    assert detect_format(renamed).name == fmt
    back = read_gaussians(renamed, dtype=torch.float64)
    assert len(back) == len(s) and back.sh_degree == (0 if fmt == "splat" else 1)
    assert torch.cdist(back.means, s.means).min(1).values.max() < 5e-3  # same positions (order may change)


def test_compressed_ply_writer_round_trip(tmp_path):
    s = scene(600, degree=2)
    back = read_gaussians(write_compressed_ply(s, tmp_path / "a.compressed.ply", sort=False), dtype=torch.float64)
    for c in range(3):  # per chunk of 256: half a step of its 11/10/11-bit grid
        r = slice(256 * c, min(600, 256 * (c + 1)))
        step = (s.means[r].amax(0) - s.means[r].amin(0)) / torch.tensor([2047, 1023, 2047])
        assert ((back.means[r] - s.means[r]).abs() <= step / 2 + 1e-6).all()
        lstep = (s.scales[r].log().amax(0) - s.scales[r].log().amin(0)) / torch.tensor([2047, 1023, 2047])
        assert ((back.scales[r].log() - s.scales[r].log()).abs() <= lstep / 2 + 1e-6).all()
    assert (back.opacities - s.opacities).abs().max() <= 0.5 / 255 + 1e-9
    assert ((back.quats * s.quats).sum(1).abs() > 0.999).all()
    assert (back.sh[:, 1:] - s.sh[:, 1:]).abs().max() <= 8 / 256 + 1e-9
    sorted_back = read_gaussians(write_compressed_ply(s, tmp_path / "b.compressed.ply"), dtype=torch.float64)
    order = torch.from_numpy(morton_order(s.means.numpy()))
    assert (sorted_back.means - s.means[order]).abs().mean() < (back.means - s.means).abs().mean()  # finer chunks


def test_write_format_comes_from_the_name_or_the_argument(tmp_path):
    assert [format_for_path(f"a{x}") for x in (".PLY", ".compressed.ply", ".splat", ".spz")] == ["ply", "compressed-ply", "splat", "spz"]
    with pytest.raises(InvalidInputError, match="cannot tell which format"):
        write_gaussians(scene(), tmp_path / "a.usd")
    assert detect_format(write_gaussians(scene(), tmp_path / "a.bin", format="spz", spz_version=4)).version == 4


def _zip(path, names):
    with zipfile.ZipFile(path, "w") as z:
        for n in names:
            z.writestr(n, "x")
    return path


@pytest.mark.parametrize("make, match", [
    (lambda p: p.write_bytes(bytes([0, 1, 0, 0]) + struct.pack("<4IH", 1, 1, 100, 100, 0) + bytes(5000)), "KSPLAT file"),
    (lambda p: _zip(p, ["meta.json", "means_l.webp"]), "PlayCanvas SOG bundle"),
    (lambda p: p.write_bytes(b'{"version": 2, "count": 3, "means": {"files": ["m.webp"]}}'), "SOG meta.json"),
    (lambda p: p.write_bytes(b"glTF" + bytes(40)), "binary glTF"),
    (lambda p: p.write_bytes(b'{"asset": {"version": "2.0"}}'), "glTF"),
    (lambda p: _zip(p, ["scene.usdc"]), "USDZ"),
    (lambda p: p.write_bytes(b"PXR-USDC" + bytes(80)), "USD layer"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(30)), "image"),
    (lambda p: p.write_bytes(gzip.compress(b"ply\nformat ascii 1.0\n")), "gzip-compressed PLY"),
    (lambda p: p.write_bytes(b"hello, this is text, not splats " * 3), "not a 3DGS file lyra-sim recognises"),
])  # fmt: skip
def test_other_formats_are_refused_by_name(tmp_path, make, match):
    path = tmp_path / "input.ply"  # even with a misleading name
    make(path)
    with pytest.raises(UnsupportedFormatError, match=match) as err:
        read_gaussians(path)
    assert isinstance(err.value, InvalidInputError) and "\n" not in str(err.value)
    assert "lyra-sim reads" in str(err.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(SplatFileError, match="no such file"):
        read_gaussians(tmp_path / "nope.spz")
    (tmp_path / "e").write_bytes(b"")
    with pytest.raises(SplatFileError, match="empty"):
        read_gaussians(tmp_path / "e")
    with pytest.raises(SplatFileError, match="directory"):
        read_gaussians(tmp_path)


def test_count_of_5000_digits_is_one_line_fast(tmp_path):
    data = ply_bytes(inria_columns(3, 0)).replace(b"element vertex 3", b"element vertex " + b"9" * 5000)
    (tmp_path / "digits.ply").write_bytes(data)
    t0 = time.perf_counter()
    with pytest.raises(PlyHeaderError, match="5,000 digits"):
        read_gaussians(tmp_path / "digits.ply")
    assert time.perf_counter() - t0 < 1


def test_compressed_chunk_with_huge_max_scale_is_refused_not_inf(tmp_path):
    path = write_compressed_ply(scene(10, 0), tmp_path / "c.compressed.ply", sort=False)
    data = bytearray(path.read_bytes())
    start = data.index(b"end_header\n") + len(b"end_header\n")
    struct.pack_into("<f", data, start + 4 * 9, 1e30)  # chunk 0: max_scale_x (a log-scale)
    path.write_bytes(bytes(data))
    with pytest.raises(PlyValueError, match=r"infinite scales in: scale_0 \(\d+\)"):
        read_gaussians(path)


def test_values_beyond_float32_are_refused_after_the_cast(tmp_path):
    cols = {k: v.astype(np.float64) for k, v in inria_columns(4, 0).items()}
    cols["x"][2] = 1e300  # finite as double, inf as float32
    (tmp_path / "d.ply").write_bytes(ply_bytes(cols, ptype="double"))
    with pytest.raises(PlyValueError, match=r"means \(1\)"):
        read_gaussians(tmp_path / "d.ply")
    assert read_gaussians(tmp_path / "d.ply", dtype=torch.float64).means[2, 0] == 1e300


def test_trailing_bytes_are_a_warning(tmp_path):
    (tmp_path / "t.ply").write_bytes(ply_bytes(inria_columns(4, 0)) + b"\0" * 7)
    with pytest.warns(UserWarning, match="7 bytes after the data the PLY header declares"):
        assert len(read_gaussians(tmp_path / "t.ply")) == 4


def test_sh_element_without_coefficients_reads_as_degree_zero(tmp_path):
    path = write_compressed_ply(scene(10, 0), tmp_path / "c.compressed.ply")
    path.write_bytes(path.read_bytes().replace(b"end_header", b"element sh 10\nend_header"))
    assert read_gaussians(path).sh_degree == 0


def test_splat_detection_needs_plausible_rows(tmp_path):
    rng = np.random.default_rng(0)
    good = splat_bytes(rng.normal(size=(8, 3)), rng.uniform(0.1, 1, (8, 3)), rng.integers(0, 256, (8, 4)), rng.integers(1, 256, (8, 4)))
    (tmp_path / "a").write_bytes(good)
    assert detect_format(tmp_path / "a").name == "splat"
    (tmp_path / "b").write_bytes(good[:-3])  # plausible rows, cut short: a .splat, refused as truncated
    with pytest.raises(SplatFileError, match="32-byte"):
        read_gaussians(tmp_path / "b")
    (tmp_path / "c").write_bytes(rng.bytes(256))
    with pytest.raises(LyraSimError):
        read_gaussians(tmp_path / "c")
