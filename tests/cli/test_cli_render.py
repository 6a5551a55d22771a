"""`lyra-sim render` (lyra_sim/cli/render.py): previews of a small PLY, refusal to overwrite; the
settings (RenderCfg) from --config, key=value overrides, then the flags given."""

from __future__ import annotations

import argparse

import pytest
from cli_scenes import make_ply

from lyra_sim.cli import build_parser, main
from lyra_sim.cli.render import cfg_from_args, parse_color, parse_vec3


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


def test_render_shows_a_frame_bar_on_stderr_unless_quiet(tmp_path, capsys):
    make_ply(tmp_path / "s.ply")
    args = ["render", str(tmp_path / "s.ply"), "--frames", "3", "--width", "40", "--height", "30"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    out, err = capsys.readouterr()
    assert "render frames" in err and "3/3" in err and "render frames" not in out
    assert main([*args, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_missing_scene_is_a_one_line_error(tmp_path, one_line_error):
    one_line_error(main(["render", str(tmp_path / "missing.ply"), "--out", str(tmp_path / "o")]), "missing.ply")


def test_colour_and_vector_flags():
    assert parse_color("gray") == (0.5, 0.5, 0.5) and parse_color("0,0.5,1") == (0.0, 0.5, 1.0)
    assert parse_vec3("0,0,1") == (0.0, 0.0, 1.0)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_color("pink")


def test_config_then_overrides_then_flags(write_yaml, tmp_path):
    cfg_file = write_yaml("scene: from_config.ply\nout: cfg_out\nframes: 12\nwidth: 64\nfps: 10\nup: [0, 0, 1]\n")
    cfg = cfg_from_args(build_parser().parse_args(["render", "--config", str(cfg_file)]))
    assert (cfg.scene, cfg.out, cfg.frames, cfg.width, cfg.fps, tuple(cfg.up)) == ("from_config.ply", "cfg_out", 12, 64, 10, (0, 0, 1))
    assert (cfg.height, cfg.trajectory, cfg.background, cfg.write_frames) == (384, "orbit", (1.0, 1.0, 1.0), True)
    # Overrides (right after SCENE, or in its place) win over the file; flags given win over both.
    cfg = cfg_from_args(build_parser().parse_args(["render", "s.ply", "frames=20", "fps=30", "--config", str(cfg_file)]))
    assert (cfg.scene, cfg.frames, cfg.fps, cfg.width) == ("s.ply", 20, 30, 64)
    cfg = cfg_from_args(build_parser().parse_args(["render", "frames=20", "--config", str(cfg_file)]))
    assert (cfg.scene, cfg.frames) == ("from_config.ply", 20)
    cfg = cfg_from_args(build_parser().parse_args(["render", "s.ply", "frames=20", "--config", str(cfg_file), "--frames", "5",
                                                   "--up", "0,-1,0", "--background", "black", "--no-frames", "--out", "o"]))
    assert (cfg.frames, tuple(cfg.up), tuple(cfg.background), cfg.write_frames, cfg.out) == (5, (0, -1, 0), (0, 0, 0), False, "o")
    # No config: the flags' documented defaults.
    cfg = cfg_from_args(build_parser().parse_args(["render", "s.ply", "--out", "o"]))
    assert (cfg.frames, cfg.width, cfg.height, cfg.fov, cfg.movement, cfg.fps, cfg.device) == (60, 512, 384, 60.0, 1.0, 24, "auto")
    assert tuple(cfg.up) == (0.0, -1.0, 0.0) and cfg.trajectory == "orbit"


def test_render_from_a_config_file(write_yaml, tmp_path):
    make_ply(tmp_path / "s.ply")
    out = tmp_path / "out"
    cfg_file = write_yaml(f"scene: {tmp_path / 's.ply'}\nout: {out}\nframes: 2\nwidth: 40\nheight: 30\nwrite_frames: false\n")
    assert main(["render", "--config", str(cfg_file), "frames=3", "--quiet"]) == 0
    assert (out / "preview.mp4").is_file() and not (out / "frames").exists()


def test_bad_override_or_missing_value_is_one_line(write_yaml, tmp_path, one_line_error):
    make_ply(tmp_path / "s.ply")
    out = tmp_path / "o"
    one_line_error(main(["render", str(tmp_path / "s.ply"), "nope=1", "--out", str(out)]), "render config", "nope")
    one_line_error(main(["render", str(tmp_path / "s.ply"), "frames=many", "--out", str(out)]), "frames")
    one_line_error(main(["render", str(tmp_path / "s.ply"), "write_frames=3", "--out", str(out)]), "write_frames")
    one_line_error(main(["render", str(tmp_path / "s.ply")]), "--out")
    one_line_error(main(["render", "--out", str(out)]), "no scene")
    one_line_error(main(["render", "--out", str(out), "frames=2"]), "no scene")
    one_line_error(main(["render", str(tmp_path / "s.ply"), "--out", str(out), "--config", str(tmp_path / "missing.yaml")]),
                   "missing.yaml", "not found")
    assert not out.exists()
