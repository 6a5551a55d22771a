"""`lyra-sim render` (lyra_sim/cli/render.py): previews of a small PLY, refusal to overwrite."""

from __future__ import annotations

import argparse

import pytest
from cli_scenes import make_ply

from lyra_sim.cli import main
from lyra_sim.cli.render import parse_color, parse_vec3


def test_render_writes_previews(tmp_path, capsys):
    make_ply(tmp_path / "s.ply")
    out = tmp_path / "out"
    rc = main(["render", str(tmp_path / "s.ply"), "--out", str(out), "--frames", "3", "--width", "40", "--height", "30", "--quiet"])
    assert rc == 0
    assert sorted(p.name for p in (out / "frames").iterdir()) == ["frame_0000.png", "frame_0001.png", "frame_0002.png"]
    assert (out / "preview.mp4").stat().st_size > 0 and (out / "contact_sheet.png").is_file()
    # A second run refuses to overwrite, with a one-line error and exit code 2.
    rc = main(["render", str(tmp_path / "s.ply"), "--out", str(out), "--frames", "3", "--width", "40", "--height", "30", "--quiet"])
    assert rc == 2
    assert "--overwrite" in capsys.readouterr().err


def test_missing_scene_is_a_one_line_error(tmp_path, one_line_error):
    one_line_error(main(["render", str(tmp_path / "missing.ply"), "--out", str(tmp_path / "o")]), "missing.ply")


def test_colour_and_vector_flags():
    assert parse_color("gray") == (0.5, 0.5, 0.5) and parse_color("0,0.5,1") == (0.0, 0.5, 1.0)
    assert parse_vec3("0,0,1") == (0.0, 0.0, 1.0)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_color("pink")
