"""`lyra-sim export` (lyra_sim/cli/export.py): the config from --config, key=value overrides and
flags; a flag not given leaves the config's value (the exports themselves: tests/export/)."""

from __future__ import annotations

from lyra_sim.cli import build_parser, main
from lyra_sim.cli.export import cfg_from_args


def parse(*argv):
    return build_parser().parse_args(["export", "scene.ply", *argv])


def test_config_then_overrides_then_flags(write_yaml):
    cfg_file = write_yaml("usd_format: usdc\nnurec: true\npreviews: false\ncollider:\n  resolution: 256\n"
                          "alignment:\n  scale: 2.0\n")
    cfg = cfg_from_args(parse("spawn.robot_radius=0.5", "--out", "o", "--config", str(cfg_file)))
    assert (cfg.usd_format, cfg.nurec, cfg.previews, cfg.collider.resolution) == ("usdc", True, False, 256)
    assert cfg.spawn.robot_radius == 0.5 and cfg.alignment.scale == 2.0
    cfg = cfg_from_args(parse("--out", "o", "--config", str(cfg_file), "--usdz", "--scale", "0.5", "--no-collider", "--half"))
    assert (cfg.usd_format, cfg.alignment.scale, cfg.collider.enabled, cfg.gaussians.half) == ("usdz", 0.5, False, True)
    cfg = cfg_from_args(parse("--out", "o", "--frame", "source"))
    assert cfg.usd_format == "usdz" and cfg.previews and not cfg.spawn.enabled  # defaults; no spawn points in the source frame


def test_bad_override_is_one_line(tmp_path, one_line_error):
    # Refused before the PLY is read: no such file is needed.
    one_line_error(main(["export", str(tmp_path / "s.ply"), "collider.nope=1", "--out", str(tmp_path / "o")]),
                   "export config", "nope")
    one_line_error(main(["export", str(tmp_path / "s.ply"), "nurec=3", "--out", str(tmp_path / "o")]), "nurec")
    one_line_error(main(["export", str(tmp_path / "s.ply"), "--out", str(tmp_path / "o"), "--check", "--engine", "bullet"]),
                   "unknown physics engine 'bullet'")
    assert not (tmp_path / "o").exists()
