"""`lyra-sim convert` (lyra_sim/cli/convert.py) and the other commands reading every format:
conversions chain through all four formats, refusals are one line with exit code 2."""

from __future__ import annotations

import struct

import pytest
import torch
from cli_scenes import make_ply

from lyra_sim.cli import main
from lyra_sim.gaussians.formats import detect_format, read_gaussians


def test_convert_through_every_format_and_back(tmp_path, capsys):
    scene = make_ply(tmp_path / "a.ply")
    chain = ["b.spz", "c.compressed.ply", "d.splat", "e.spz", "f.ply"]
    src = tmp_path / "a.ply"
    for name in chain:
        assert main(["convert", str(src), str(tmp_path / name)]) == 0
        src = tmp_path / name
    out = capsys.readouterr().out
    assert "3DGS PLY (INRIA layout) -> Niantic SPZ v3: 300 Gaussians" in out
    assert "antimatter15 .splat -> Niantic SPZ v3" in out
    assert [detect_format(tmp_path / n).name for n in chain] == ["spz", "compressed-ply", "splat", "spz", "ply"]
    back = read_gaussians(tmp_path / "f.ply")
    assert len(back) == len(scene)
    assert torch.cdist(back.means, scene.means).min(1).values.max() < 2e-3  # positions survive all the quantisations


def test_convert_format_flag_spz_version_and_overwrite(tmp_path, capsys, one_line_error):
    make_ply(tmp_path / "a.ply")
    assert main(["convert", str(tmp_path / "a.ply"), str(tmp_path / "out.bin"), "--format", "spz", "--spz-version", "4", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert detect_format(tmp_path / "out.bin").label == "Niantic SPZ v4"
    one_line_error(main(["convert", str(tmp_path / "a.ply"), str(tmp_path / "out.bin"), "--format", "spz"]), "already exists", "--overwrite")
    one_line_error(main(["convert", str(tmp_path / "a.ply"), str(tmp_path / "out.usd")]), "cannot tell which format")


def test_dropped_sh_is_a_warning_line(tmp_path, capsys):
    from lyra_sim.gaussians import write_ply
    from lyra_sim.gaussians.scene import GaussianScene

    s = GaussianScene(torch.zeros(3, 3), torch.tensor([[1.0, 0, 0, 0]] * 3), torch.ones(3, 3), torch.ones(3) / 2, torch.zeros(3, 4, 3))
    write_ply(s, tmp_path / "sh1.ply")
    assert main(["convert", str(tmp_path / "sh1.ply"), str(tmp_path / "x.splat")]) == 0
    err = capsys.readouterr().err
    assert "lyra-sim convert: warning:" in err and "SH degree 1 bands are dropped" in err


@pytest.mark.parametrize("command", ["info", "convert"])
def test_unsupported_format_is_one_line(tmp_path, one_line_error, command):
    path = tmp_path / "scene.ksplat"
    path.write_bytes(bytes([0, 1, 0, 0]) + struct.pack("<4IH", 1, 1, 10, 10, 0) + bytes(5000))
    args = [command, str(path)] + ([str(tmp_path / "o.ply")] if command == "convert" else [])
    one_line_error(main(args), "KSPLAT", "splat-transform")


def test_info_reads_spz_and_splat(tmp_path, capsys):
    make_ply(tmp_path / "a.ply")
    main(["convert", str(tmp_path / "a.ply"), str(tmp_path / "a.spz"), "--quiet"])
    assert main(["info", str(tmp_path / "a.spz")]) == 0
    text = capsys.readouterr().out
    assert "Niantic SPZ v3" in text and "gaussians:  300" in text
